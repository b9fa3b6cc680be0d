"""Probes: extra requests a replay sends after a recorded interaction, to judge what a cassette cannot show.

``--probe idempotency``: after each recorded POST that carried an idempotency key and that the target answered
with a kept (2xx) answer, the request is sent again with the same key — as is (the first answer again, nothing
executed twice) and with one parameter changed (refused, nothing executed) — and, after a create whose parent
this replay made, the parent's list is read back (no object no answer named). The profile's retry rules judge the
answers (the same rule ids as recorded retries), and the profile's :class:`ProbeDeclaration` says which parameter
to change and how a list reads. At most :data:`MAX_EXTRA` requests per probed POST.

What a probe does at the target never makes a later interaction fail: an object a broken target made twice is
deleted again (the create's delete route), a changed parameter it applied to an update is reverted; where the
budget leaves no request for that, the retry rules' ``duplicates`` attribute what later answers show of it to the
probed interaction. The findings are the probed interaction's, with the probe's requests as a reproduce line.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import httpx

from conformance.api_profile import ApiProfile, RetryExchange, RetryRules, RetryState, Route
from conformance.cassette import Interaction
from conformance.findings import Finding, InteractionResult
from conformance.paths import parse_path, value_at
from conformance.redaction import Redactor
from conformance.replay.curl import CurlRequest, curl_command
from conformance.replay.transport import TargetAnswer, TargetClient
from conformance.rules import Severity

__all__ = ["PROBES", "MAX_EXTRA", "ProbeDeclaration", "SentLike", "Probe"]

# The probes `run --probe` accepts.
PROBES: tuple[str, ...] = ("idempotency",)
MAX_EXTRA = 3  # requests a probe may add per probed POST, undoing included


@runtime_checkable
class ProbeDeclaration(Protocol):
    """What an API's retry rules say of probing them (``ApiProfile.retries`` implements it, or nothing is probed)."""

    def changed(self, content: bytes, content_type: str) -> bytes | None:
        """The request's body with one parameter changed; None when the body cannot be changed."""
        ...

    def reverted(self, content_type: str) -> bytes | None:
        """An update's body that undoes :meth:`changed` on an object (a target that executed it)."""
        ...

    def listed(self, body: Any) -> list[str] | None:
        """The ids of a list answer holding every item, None when it is no such list (a page of more)."""
        ...

    def scrub(self, body: Any) -> Any:
        """An answer without the parameter :meth:`changed` adds: what the probe left never counts later."""
        ...

    def leftover(self, body: Any) -> str | None:
        """Where the answer to :meth:`reverted` still shows the changed parameter (a path), None when undone."""
        ...

    def unanswered(self, repeated_as_is: bool, said: str) -> Finding:
        """The finding of a probe's request that got no answer: ``repeated_as_is``, the request sent again as is
        (else with :meth:`changed`'s body); ``said``: what happened, to be the message."""
        ...

    def unchangeable(self, content_type: str) -> tuple[str, str]:
        """(rule, why) for a probed request whose body :meth:`changed` cannot change: the rule is not judged."""
        ...

    def listed_again(self, said: str, unnamed: list[str], twice: dict[str, int]) -> list[Finding]:
        """The findings of a list read back after the probe that holds objects no answer named (``unnamed``) or
        objects more than once (``twice``: id -> how often): the repeat was executed again. ``said``: how the
        message begins (what was read)."""
        ...

    def left(self, path: str, shown: Any, undo: str, kind: str | None) -> Finding:
        """The finding of an undo whose answer still shows the changed parameter at ``path`` (``shown``): the
        target does not unset it. ``undo``: the undo's body; ``kind``: the answered object's."""
        ...

    @property
    def page_size(self) -> int:
        """How many items a list route answers when asked without :attr:`list_query`."""
        ...

    @property
    def list_query(self) -> str:
        """The query that asks a list route for as many items as one answer holds."""
        ...


class SentLike(Protocol):
    """A request as the replay sent it."""

    path: str
    headers: dict[str, str]
    content: bytes
    parts: list[dict[str, Any]] | None

    @property
    def target(self) -> str: ...


@dataclass
class _Step:
    """One request of a probe as sent, and what it was for."""

    method: str
    target: str
    headers: dict[str, str]
    content: bytes
    answer: TargetAnswer | None = None
    body: Any = None  # the answer's JSON, without what the probe's own parameter left in it
    raw: Any = None  # the answer's JSON as sent
    error: str = ""

    @property
    def made(self) -> str | None:
        """The object a 2xx answer names as its own."""
        own = self.body.get("id") if isinstance(self.body, dict) else None
        ok = self.answer is not None and 200 <= self.answer.status_code < 300
        return own if ok and isinstance(own, str) else None


@dataclass
class Probe:
    """One cassette's idempotency probe: what this replay saw, and the requests it adds."""

    client: TargetClient
    profile: ApiProfile
    rules: RetryRules
    declaration: ProbeDeclaration
    state: RetryState
    redactor: Redactor
    redact: Callable[[Finding], Finding]
    seen: set[str] = field(default_factory=set)  # every id an answer of this replay named
    made: set[str] = field(default_factory=set)  # objects this replay's creates made at the target
    sent: int = 0  # extra requests sent, over the whole cassette
    probed: set[str] = field(default_factory=set)  # idempotency keys probed: a recorded retry is not probed again
    children: dict[str, int] = field(default_factory=dict)  # a create's path -> the objects made there
    told_left: bool = False  # a changed parameter the undo left was said (once per cassette)

    @classmethod
    def for_run(cls, probes: tuple[str, ...], client: TargetClient, profile: ApiProfile, state: RetryState | None,
                redactor: Redactor, redact: Callable[[Finding], Finding]) -> Probe | None:
        """The probe of a replay; None when not asked for, or when the profile has no retry rules to judge by."""
        rules = profile.retries
        if "idempotency" not in probes or rules is None or state is None or not isinstance(rules, ProbeDeclaration):
            return None
        return cls(client, profile, rules, rules, state, redactor, redact)

    def after(self, interaction: Interaction, sent: SentLike, answer: TargetAnswer, body: Any,
              result: InteractionResult) -> None:
        """Note what the answer names; probe a kept answer to a POST that carried an idempotency key."""
        self.seen.update(self.profile.ids.find(answer.text))
        route = self.profile.routes.match(interaction.request.method, sent.path)
        own = body.get("id") if isinstance(body, dict) else None
        if route is not None and route.route.action == "create" and isinstance(own, str) and answer.status_code < 300 \
                and own not in self.made:
            self.made.add(own)
            self.children[sent.path] = self.children.get(sent.path, 0) + 1
        name = self.profile.headers.idempotency
        key = sent.headers.get(name, "") if name else ""
        if interaction.request.method != "POST" or not key or key in self.probed or body is None \
                or not 200 <= answer.status_code < 300 or not self.rules.saved(answer.status_code):
            return
        self.probed.add(key)
        findings, steps, notes = self._probe(interaction, sent, body, route.route if route is not None else None)
        result.findings += [self.redact(f) for f in findings]
        result.not_judged += [(rule, self.redactor.text(why)) for rule, why in notes]
        if any(f.severity == Severity.FAILURE for f in findings):
            line = self._reproduce(interaction.request.method, sent, steps)
            result.curl = f"{result.curl}\n{line}" if result.curl else line

    def scrub(self, body: Any) -> Any:
        """An answer of the target without the probe's own parameter, once a probe sent it: a target that kept it
        (the undo sends it empty; localstripe keeps a key so) shows it in later answers, never a difference."""
        return self.declaration.scrub(body) if self.sent else body

    def _probe(self, interaction: Interaction, sent: SentLike, first: Any,
               route: Route | None) -> tuple[list[Finding], list[_Step], list[tuple[str, str]]]:
        """Sent again as is, then with a parameter changed, then the parent's list read back — within the budget,
        undoing what a broken target executed first."""
        method, budget = interaction.request.method, [MAX_EXTRA]
        findings: list[Finding] = []
        steps: list[_Step] = []
        again = self._send(_Step(method, sent.target, dict(sent.headers), sent.content), budget)
        findings += self._judged(interaction, again, as_is=True)
        steps.append(again)
        left = self._undo(again, first, sent, route, budget)
        kind = sent.headers.get("Content-Type", "")
        changed = self.declaration.changed(sent.content, kind)
        notes: list[tuple[str, str]] = []
        if changed is None:
            notes.append(self.declaration.unchangeable(kind))
        else:
            other = self._send(_Step(method, sent.target, dict(sent.headers), changed), budget)
            findings += self._judged(interaction, other, as_is=False)
            steps.append(other)
            left = self._undo(other, first, sent, route, budget) or left
        if left is not None and not self.told_left:
            self.told_left = True
            findings += self._left(left, steps)
        if route is not None and route.action == "create" and budget[0] > 0:
            findings += self._read_back(interaction, sent, route, budget, steps)
        return findings, steps, notes

    def _send(self, step: _Step, budget: list[int], note: bool = True) -> _Step:
        """One extra request within the budget; ``note``: the ids its answer names count as named by the run."""
        budget[0] -= 1
        self.sent += 1
        try:
            step.answer = self.client.request(step.method, step.target, headers=step.headers, content=step.content)
        except httpx.HTTPError as error:
            step.error = str(error) or type(error).__name__
            return step
        try:
            step.raw = step.answer.json() if step.answer.content else None
        except (ValueError, RecursionError):  # not JSON, or nested past what the parser takes: no body to judge
            step.raw = None
        step.body = self.declaration.scrub(step.raw)
        if note:
            self.seen.update(self.profile.ids.find(step.answer.text))
        return step

    def _judged(self, interaction: Interaction, step: _Step, as_is: bool) -> list[Finding]:
        """The retry rules on the probe's answer, as on a recorded retry, each message saying it was the probe;
        ``as_is``: the request sent again as is (else with a parameter changed)."""
        what = "sent again as is" if as_is else "sent again with a parameter changed"
        said = f"--probe idempotency, the request {what} with its idempotency key: "
        if step.answer is None:
            return [self.declaration.unanswered(as_is, said + f"no answer ({step.error})")]
        wire = self.profile.headers
        exchange = RetryExchange(interaction.index, step.method, step.target.split("?", 1)[0],
                                 step.headers.get(wire.idempotency, ""), step.content, step.answer.status_code,
                                 step.body, step.answer.headers, interaction.response.headers)
        findings = self.rules.check(exchange, self.state, wire)
        for finding in findings:
            finding.message = said + finding.message
        return findings

    def _undo(self, step: _Step, first: Any, sent: SentLike, route: Route | None, budget: list[int]) -> _Step | None:
        """What the probe made the target do, undone: a second object deleted, a changed parameter reverted.
        Returns a revert whose answer still shows the changed parameter (the target kept it)."""
        made = step.made
        before = first.get("id") if isinstance(first, dict) else None
        if made is None or budget[0] <= 0 or route is None:
            return None
        plain = {k: v for k, v in sent.headers.items() if k not in (self.profile.headers.idempotency, "Content-Type")}
        if route.action == "create" and made != before:
            delete = _delete_route(self.profile, route)
            if delete is not None:
                self._send(_Step("DELETE", f"{sent.path.rstrip('/')}/{made}", plain, b""), budget)
        elif route.action == "update" and step.content != sent.content:
            kind = sent.headers.get("Content-Type", "")
            body = self.declaration.reverted(kind)
            if body is not None:
                revert = self._send(_Step("POST", sent.path, {**plain, "Content-Type": kind}, body), budget)
                ok = revert.answer is not None and 200 <= revert.answer.status_code < 300
                return revert if ok and self.declaration.leftover(revert.raw) else None
        return None

    def _left(self, revert: _Step, steps: list[_Step]) -> list[Finding]:
        """The probe's undo answered with the changed parameter still there: the target does not unset a
        metadata key sent empty — its own deviation, told once on the probed interaction (later answers are
        judged without the key: :meth:`scrub`)."""
        path = self.declaration.leftover(revert.raw) or ""
        steps.append(revert)
        kind = revert.raw.get("object") if isinstance(revert.raw, dict) else None
        return [self.declaration.left(path, value_at(revert.raw, parse_path(path)),
                                      revert.content.decode(errors="replace"), kind if isinstance(kind, str) else None)]

    def _read_back(self, interaction: Interaction, sent: SentLike, route: Route, budget: list[int],
                   steps: list[_Step]) -> list[Finding]:
        """The parent's list after the probe: an object no answer of the run named, or one listed twice, was made
        by it — a target that executed the repeat again and answered as if it had not."""
        listing = _list_route(self.profile, route)
        matched = self.profile.routes.match("POST", sent.path)
        parents = matched.params.values() if matched is not None else ()
        if listing is None or not parents or any(parent not in self.made for parent in parents):
            return []
        plain = {k: v for k, v in sent.headers.items() if k not in (self.profile.headers.idempotency, "Content-Type")}
        # asked as plainly as a page allows (a target may refuse `limit`: localstripe does), with the objects
        # the probe may have added
        query = self.declaration.list_query if self.children.get(sent.path, 0) + 2 >= self.declaration.page_size else ""
        read = self._send(_Step("GET", sent.path + (f"?{query}" if query else ""), plain, b""), budget, note=False)
        ids = self.declaration.listed(read.body) if read.answer is not None and read.answer.status_code < 300 else None
        unnamed = list(dict.fromkeys(found for found in ids or () if found not in self.seen))
        twice = [found for found in dict.fromkeys(ids or ()) if (ids or []).count(found) > 1 and found not in unnamed
                 and found not in self.state.duplicates]  # each said once: what later shows it follows from that
        self.seen.update(ids or ())
        if not unnamed and not twice:
            return []
        steps.append(read)
        for found in (*unnamed, *twice):
            self.state.duplicates.setdefault(found, interaction.index)
        said = f"--probe idempotency: after the request was sent again with its idempotency key, GET {sent.path} lists"
        return self.declaration.listed_again(said, unnamed, {found: (ids or []).count(found) for found in twice})

    def _reproduce(self, method: str, sent: SentLike, steps: list[_Step]) -> str:
        """The request and the probe's requests as curl commands, under one fresh idempotency key of their own."""
        name = self.profile.headers.idempotency
        key = f"probe-{uuid.uuid4()}"
        base = str(self.client.base_url).rstrip("/")

        def line(step_method: str, target: str, headers: Mapping[str, str], content: bytes,
                 parts: list[dict[str, Any]] | None = None) -> str:
            keyed = {k: (key if k == name else v) for k, v in headers.items()}
            return curl_command(CurlRequest(step_method, base + target, keyed, content, parts), self.profile.cards,
                                self.redactor)

        first = line(method, sent.target, sent.headers, sent.content, sent.parts)
        return "\n".join([first, *(line(s.method, s.target, s.headers, s.content) for s in steps)])


def _delete_route(profile: ApiProfile, create: Route) -> Route | None:
    """The route that deletes what ``create`` makes: DELETE on its path and the object's id."""
    prefix = create.template.rstrip("/") + "/{"
    return next((r for r in profile.routes if r.method.upper() == "DELETE" and r.template.startswith(prefix)
                 and r.template.count("/") == create.template.rstrip("/").count("/") + 1), None)


def _list_route(profile: ApiProfile, create: Route) -> Route | None:
    """The route that lists what ``create`` makes: GET on the same path."""
    return next((r for r in profile.routes if r.method.upper() == "GET" and r.template == create.template
                 and r.action == "list"), None)
