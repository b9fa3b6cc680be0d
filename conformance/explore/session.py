"""One generated sequence as it is sent: each request, the target's answer, and what the model expected.

A :class:`Session` is handed to a profile's state machine: it sends a request with the run's API key and keeps
it as a :class:`Step`, so a failing sequence can be written as a cassette. A rule the answer breaks is raised as
:class:`Deviation` (an ``AssertionError``, which is what Hypothesis shrinks on) with the answer the documented
rules expected, which the cassette records in place of the target's. What every answer is judged by whatever
the profile's model says (``--openapi``: the published contract) is judged here too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from conformance import forms
from conformance.api_profile import TestCards
from conformance.contract import Contract, expanded_paths
from conformance.errors import ConformanceError
from conformance.findings import Finding
from conformance.paths import parse_path
from conformance.replay.answer import no_answer_reason
from conformance.replay.tokens import make_token
from conformance.replay.transport import TargetClient

__all__ = ["Deviation", "ExploreInputError", "Notice", "Session", "Step", "TokenPlan", "Wire", "answer_headers",
           "json_body", "without"]


class ExploreInputError(ConformanceError):
    """What makes exploring a target meaningless (it forgets what it just made, refuses the key): exit 2."""


@dataclass
class Step:
    """One request of a sequence and its answer; ``expected_*`` set where the answer broke a rule."""

    method: str
    path: str  # with its query
    form: dict[str, Any] | None  # as the cassette records it: magic test tokens, never the tokens made for them
    status: int
    body: Any  # the answer's JSON (None when it is not JSON)
    content: bytes
    headers: list[tuple[str, str]]  # the answer's (the cassette writer keeps those the profile records)
    expected_status: int | None = None
    expected_body: Any = None
    key: str = ""  # the idempotency key it was sent with ("" none): a retry in the cassette sends one key twice
    # (the target's id, the id the cassette names it by): an object the rules expected of another kind (a card
    # where the target answered an account), named in the cassette as the object it should have been
    alias: tuple[str, str] | None = None
    # ``--tokens create``: the magic token sent because the target made none from its card, and what the token
    # request answered (``run`` calls that ``setup.token``, whatever the request then answered)
    unmade: tuple[str, str] | None = None


class Deviation(AssertionError):
    """An answer that breaks a documented rule: its rule id, what is wrong, and the answer the rules expect.

    ``key`` is what is then known (not raised again): the rule, or the rule and where it broke (a missing route
    is known route by route, so one missing route hides no other)."""

    def __init__(self, rule: str, message: str, expected_status: int | None = None, expected_body: Any = None,
                 key: str = ""):
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message
        self.expected_status = expected_status
        self.expected_body = expected_body
        self.key = key or rule


@dataclass(frozen=True)
class Notice:
    """A warning rule an answer broke (``idempotency.replayed_header``…): listed, never a failure."""

    rule: str
    message: str


@dataclass(frozen=True)
class TokenPlan:
    """``--tokens create``: where the target makes a token from a test card, the cards the magic tokens stand
    for, and the request keys a magic token travels in."""

    path: str
    cards: TestCards
    parameters: frozenset[str]


@dataclass(frozen=True)
class Wire:
    """How every request of a run is framed and what every answer is judged by, beside the profile's model."""

    api_key: str
    version_header: str = ""
    version: str = ""
    idempotency_header: str = ""
    tokens: TokenPlan | None = None  # None: the magic test tokens are sent as they are
    contract: Contract | None = None  # --openapi


@dataclass
class Session:
    """The requests of one sequence, sent to one target."""

    client: TargetClient  # run's: its whole-exchange deadline and body cap, without httpx.Client's per-request cost
    wire: Wire
    known: set[str] = field(default_factory=set)  # rules already found broken: not raised again
    on_deviation: Callable[[Session, Deviation], None] | None = None
    notices: list[Notice] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    setup_requests: int = 0  # requests no step shows (a token made for --tokens create)
    made: dict[tuple[int, str, str], str] = field(default_factory=dict)  # (client, key, magic token) -> made
    # (client, magic token) the target made no token from -> what the token request answered
    refused: dict[tuple[int, str], str] = field(default_factory=dict)

    def send(self, method: str, path: str, form: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, key: str = "") -> Step:
        """Send one request (a form body in bracket notation, a query, an idempotency key) and keep it as a
        step; with ``--openapi`` its answer is judged by the contract before the model sees it."""
        headers, content = self.framed(self.with_tokens(self.client, form, key), key)
        target = path + ("?" + urlencode(forms.encode_pairs(query)) if query else "")
        try:
            answer = self.client.request(method, target, headers, content)
        except httpx.HTTPError as error:  # RequestNotSent too
            raise Deviation("target.connection", f"{method} {target}: no answer ({no_answer_reason(error)})") from None
        body = json_body(answer.content)
        step = Step(method, target, form, answer.status_code, body, answer.content, answer_headers(answer.headers),
                    key=key, unmade=self.unmade(self.client, form))
        self.steps.append(step)
        self.judge_contract(method, path, form, query, answer.status_code, body)
        return step

    def aside(self, method: str, path: str, form: dict[str, Any] | None = None, query: dict[str, Any] | None = None,
              key: str = "") -> Step:
        """A request beside the sequence (a control the model sends to tell two causes apart): sent and counted,
        never kept as a step, and what the last step left to tell (``settle``) is still the last step's."""
        held, kept = self.hold(), len(self.steps)
        try:
            return self.send(method, path, form, query, key)
        finally:
            del self.steps[kept:]
            self.setup_requests += 1
            self.release(held)

    def settle(self) -> None:
        """Tell what the last step still holds untold (``explore --reference``: its differences from the
        reference no documented rule explained); the model calls it when it is done with a step and would end
        the sequence."""

    def hold(self) -> Any:
        """What the last step holds untold, taken aside (nothing here)."""
        return None

    def release(self, held: Any) -> None:
        """What :meth:`hold` took, given back."""

    def framed(self, form: dict[str, Any] | None, key: str = "") -> tuple[dict[str, str], bytes]:
        """The headers and body a request is sent with: the key, the API version, an idempotency key, a form in
        bracket notation."""
        wire = self.wire
        headers = {"Authorization": f"Bearer {wire.api_key}"}
        if wire.version_header and wire.version:
            headers[wire.version_header] = wire.version
        if key and wire.idempotency_header:
            headers[wire.idempotency_header] = key
        if form is None:
            return headers, b""
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers, urlencode(forms.encode_pairs(form)).encode()

    def with_tokens(self, client: TargetClient, form: dict[str, Any] | None, key: str = "") -> dict[str, Any] | None:
        """The form as sent to ``client``'s target: with ``--tokens create``, each magic test token replaced by
        one the target made from its card (the magic one when it made none: the answer then says so)."""
        plan = self.wire.tokens
        if plan is None or form is None:
            return form
        sent = dict(form)
        for name in plan.parameters & form.keys():
            card = plan.cards.by_token.get(form[name]) if isinstance(form[name], str) else None
            if card is None:
                continue
            retry = (id(client), key, card.token)  # a retry sends the token made for its first try
            if not key or retry not in self.made:
                headers, _ = self.framed(None)
                self.setup_requests += 1
                made = make_token(client, plan.path, card, headers)
                self.made[retry] = made.id or card.token
                if made.id is None:
                    self.refused[(id(client), card.token)] = made.said()
                else:  # made this time: an earlier refusal (a transient one) explains no later answer
                    self.refused.pop((id(client), card.token), None)
            sent[name] = self.made[retry]
        return sent

    def unmade(self, client: TargetClient, form: dict[str, Any] | None) -> tuple[str, str] | None:
        """The magic token ``form`` carries that ``client``'s target made no token from (``--tokens create``),
        with what the token request answered."""
        plan = self.wire.tokens
        if plan is None or form is None:
            return None
        found = [form[name] for name in sorted(plan.parameters & form.keys()) if (id(client), form[name]) in self.refused]
        return (found[0], self.refused[(id(client), found[0])]) if found else None

    def judge_contract(self, method: str, path: str, form: dict[str, Any] | None, query: dict[str, Any] | None,
                       status: int, body: Any) -> None:
        """``--openapi``: an answer the contract contradicts breaks its ``schema.*`` rule; the cassette records
        the answer without what the contract refused, so a faithful target passes it."""
        contract = self.wire.contract
        if contract is None or body is None:
            return
        findings = contract.validate(method, path, status, body, expanded_paths(query, form))
        failing = [f for f in findings if f.is_failure and f.rule not in self.known and f.rule != "schema.status"]
        if failing:
            first = failing[0]
            self.fail(first.rule, f"{method} {path}: {first.message} ({contract.name})", status,
                      without(body, failing))

    def fail(self, rule: str, message: str, expected_status: int | None = None, expected_body: Any = None,
             key: str = "") -> None:
        """Mark the last step as breaking ``rule``, with the answer expected instead, and raise. A rule found
        broken already, or its ``key``, is not raised again, but the step still records the answer expected: a
        failing sequence's cassette holds the documented answer wherever the target broke a known rule on the
        way, so a faithful target passes it. The expected answer is the caller's; without one, the target's own
        body stands only where the status is the target's too (a body never pairs with another status)."""
        step = self.steps[-1]
        status = expected_status if expected_status is not None else step.status
        if expected_body is None and status != step.status:
            raise ValueError(f"[{rule}] expects {status} where the target answered {step.status}: give the answer "
                             "expected")
        step.expected_status, step.expected_body = status, expected_body if expected_body is not None else step.body
        if (key or rule) in self.known:
            return
        deviation = Deviation(rule, message, step.expected_status, step.expected_body, key)
        if self.on_deviation is not None:
            self.on_deviation(self, deviation)
        raise deviation

    def notice(self, rule: str, message: str) -> None:
        """A warning rule broken: listed once per rule and session, never a failure."""
        if all(seen.rule != rule for seen in self.notices):
            self.notices.append(Notice(rule, message))


def without(body: Any, findings: list[Finding]) -> Any:
    """``body`` without the values at the findings' paths (a copy)."""
    kept = copy.deepcopy(body)
    for finding in findings:
        parts = parse_path(finding.path) if finding.path else []
        parent = kept
        for part in parts[:-1]:
            try:
                parent = parent[part]
            except (KeyError, IndexError, TypeError):
                parent = None
                break
        if parts and isinstance(parent, dict):
            parent.pop(parts[-1], None)
    return kept


def json_body(content: bytes) -> Any:
    try:
        return json.loads(content) if content else None
    except ValueError:
        return None


def answer_headers(headers: httpx.Headers) -> list[tuple[str, str]]:
    kept = list(headers.items())
    if "content-type" not in headers:
        kept.append(("Content-Type", "application/json"))
    return kept
