"""``explore --reference``: each generated request sent to a reference too; the candidate judged by run's
comparison and by the profile's model.

The reference answers first: its answers are what a failing sequence's cassette records, so the cassette holds
the expected answers. The same request then goes to the candidate with the reference's ids rewritten to the
candidate's (``IdBindings``, learnt answer by answer as ``run`` learns them), and the candidate's answer is
compared with the reference's by ``compare_bodies``: a different status, or a finding that fails, is a
difference held until the model has judged the step. What the profile's machine judges is the candidate's answer
with its ids rewritten back to the reference's: the documented rules judge the candidate too, so what the
comparison treats as server-minted (a ``fingerprint`` drawn at random) is still judged. Where a documented rule
breaks at the step, the differences it explains (the answer it expects differs from the candidate's there too)
are its evidence, never findings of their own; the others are told under the comparison's rule once the model
is done with the step (``settle``), so two problems in one answer stay two.

One difference, one finding: a candidate's object whose id binds none of the reference's (another kind: an
account for a card) ends the sequence at the answer that names it, so nothing the reference never made is sent to
it; a route the candidate lacks is the model's ``route.missing``; two statuses compare their bodies only when both
are errors, as ``run``; a list whose length differs is not also compared item by item against other items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from hypothesis import reject

from conformance.api_profile import ApiProfile
from conformance.checks.compare import CompareRules, compare_bodies
from conformance.checks.response import both_errors, no_such_route
from conformance.explore.session import Session, Step, answer_headers, json_body
from conformance.findings import MISSING, Finding
from conformance.paths import parse_path, value_at
from conformance.replay.binding import IdBindings
from conformance.replay.transport import TargetAnswer, TargetClient
from conformance.text import json_type, snippet

__all__ = ["PairedSession", "reference_rules"]


def reference_rules(profile: ApiProfile) -> CompareRules:
    """Run's comparison with the profile's ids and defaults; errors' wording compared loosely, as in run."""
    return CompareRules(ids=profile.ids, defaults=profile.comparison, loose=("error.message", "error.param"))


@dataclass
class PairedSession(Session):
    """A session whose steps are the reference's answers; each request also sent to the candidate, compared,
    and handed to the model as the candidate answered it (in the reference's ids)."""

    candidate: TargetClient | None = None
    rules: CompareRules = field(default_factory=CompareRules)
    bindings: IdBindings | None = None  # the reference's ids -> the candidate's
    back: IdBindings | None = None  # the candidate's ids -> the reference's
    route_of: Callable[[str, str], str] | None = None  # a request's route, as the model's ``status`` keys it
    untold: Untold | None = None  # the last step's differences from the reference the model has not told yet

    def send(self, method: str, path: str, form: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, key: str = "") -> Step:
        self.settle()  # the model has moved on: what it left of the last step's differences is told now
        contract, self.wire = self.wire, replace(self.wire, contract=None)  # the contract judges the candidate
        try:
            step = super().send(method, path, form, query, key)
        finally:
            self.wire = contract
        assert self.candidate is not None and self.bindings is not None and self.back is not None
        bound = self.bindings.substitute(form) if form is not None else None
        headers, content = self.framed(self.with_tokens(self.candidate, bound, key), key)
        target = self.bindings.text(step.path)
        try:
            answer = self.candidate.request(method, target, headers, content)
        except httpx.HTTPError as error:
            self.fail("target.connection", f"{method} {target}: the candidate gave no answer "
                      f"({error or type(error).__name__})")
            return step
        body = json_body(answer.content)
        theirs = step.body.get("id") if isinstance(step.body, dict) else None
        made = not isinstance(theirs, str) or theirs not in self.bindings.actual  # what the answer names is new
        self.learn(step.body, body)
        unbound = self.unbound(body, step) if made else ""
        if no_such_route(answer.status_code, body) and not no_such_route(step.status, step.body):
            # a route the candidate lacks: the machine tells it once per route (route.missing), as run does, never
            # as a status of each request that meets it
            return self.seen(method, path, step, form, query, answer, body, key)
        differences = self.differences(method, path, step, answer.status_code, body,
                                       f"; {unbound}: the sequence ends here" if unbound else "")
        self.untold = Untold(answer.status_code, self.back.substitute(body), differences) if differences else None
        if unbound:  # nothing after it can be sent to both: its difference is told now, or this says it
            self.settle()
            if not differences:
                self.fail("id.binding", f"{method} {path}: {unbound}")
            reject()
        return self.seen(method, path, step, form, query, answer, body, key)

    def differences(self, method: str, path: str, step: Step, status: int, body: Any,
                    ending: str) -> list[Difference]:
        """How the candidate's answer differs from the reference's, by run's comparison: a status (known route by
        route, as the model's ``status``), and where both statuses agree or both answers are errors, the bodies."""
        found: list[Difference] = []
        differs = status != step.status
        if differs:
            route = self.route_of(method, path) if self.route_of is not None else ""
            said = f"the candidate answered {status}, the reference {step.status}"
            found.append(Difference("status", "", said, f"{method} {path}: {said}{ending}",
                                    f"status {route}" if route else ""))
        if not differs or both_errors(step.body, body):  # as run: two statuses, two errors compared
            assert self.bindings is not None
            findings = compare_bodies(self.bindings.substitute(step.body), body, self.rules,
                                      is_error=step.status >= 400)
            found += [Difference(finding.rule, finding.path, finding.message, f"{method} {path}: {finding.message} "
                                 f"(the reference answered otherwise{ending})")
                      for finding in _told_once(findings) if finding.is_failure]
        return found

    def settle(self) -> None:
        """The last step's differences the model did not tell as a documented rule: the first not yet known is
        told under the comparison's rule (the others are each known already, or told in a later sequence)."""
        untold, self.untold = self.untold, None
        if untold is None:
            return
        step = self.steps[-1]
        for difference in untold.differences:
            Session.fail(self, difference.rule, difference.message, step.status, step.body, difference.key)

    def hold(self) -> Any:
        held, self.untold = self.untold, None
        return held

    def release(self, held: Any) -> None:
        self.untold = held

    def seen(self, method: str, path: str, step: Step, form: dict[str, Any] | None, query: dict[str, Any] | None,
             answer: TargetAnswer, body: Any, key: str) -> Step:
        """The candidate's answer as the model judges it: by the contract, then in the reference's ids."""
        assert self.back is not None
        self.judge_contract(method, path, form, query, answer.status_code, body)
        assert self.candidate is not None
        return Step(method, step.path, form, answer.status_code, self.back.substitute(body), answer.content,
                    answer_headers(answer.headers), key=key, unmade=self.unmade(self.candidate, form))

    def learn(self, reference: Any, candidate: Any) -> None:
        """Bind the ids of two answers, each way. The way back is one to one: a candidate's id met where the
        reference answered an id bound to another of the candidate's already (a fake answering every delete with
        one constant id) stays the candidate's, so the model is shown what the candidate answered,
        never an id of another object."""
        assert self.bindings is not None and self.back is not None
        self.bindings.learn(reference, candidate)
        self.back.learn(candidate, reference, one_to_one=True)

    def unbound(self, body: Any, step: Step) -> str:
        """The candidate's answer's own id where it names a new object and binds no id of the reference's (one of
        another kind, one the reference did not make), said as a message says it; "" when there is none.

        The machine would carry it into its next requests: the reference never made it (it would answer 404 to
        each, a cascade blamed on the candidate), and the reference's own id is of no kind the candidate minted.
        So the sequence ends at this answer, whose difference is the one finding."""
        assert self.back is not None
        own = body.get("id") if isinstance(body, dict) else None
        if not isinstance(own, str) or own in self.back.actual:
            return ""
        theirs = step.body.get("id") if isinstance(step.body, dict) else None
        if not isinstance(theirs, str):
            return f"the candidate's {snippet(own, 60)} stands for nothing the reference made"
        ids = self.back.ids
        if ids.prefix_of(own) != ids.prefix_of(theirs):
            return f"the candidate's {snippet(own, 60)} is no id of the kind of the reference's {theirs}"
        return f"the candidate's {snippet(own, 60)} names another of its objects where the reference made {theirs}"

    def fail(self, rule: str, message: str, expected_status: int | None = None, expected_body: Any = None,
             key: str = "") -> None:
        """A rule the model (or the contract) found the candidate broke at the last step: the expected answer is the
        reference's own (the step as recorded). One problem, one finding: the step's differences from the
        reference that this rule explains (where the answer the rule expects differs from the candidate's too)
        are its evidence, said in its message, never told again under the comparison's rules; the others stay
        to be told."""
        untold, self.untold = self.untold, None
        if untold is not None:
            told, rest = untold.explained(expected_status, expected_body)
            if told:
                message += f"; {_evidence(told[0], self.steps[-1].status)}"
                key = untold.told_already(told, self.known, expected_status, expected_body) or key
            if rest:
                self.untold = replace(untold, differences=rest)
        step = self.steps[-1]
        super().fail(rule, message, step.status, step.body, key)


@dataclass(frozen=True)
class Difference:
    """One way the candidate's answer differs from the reference's, not yet told: its comparison rule, where in
    the body (\"\" for the status), what it says, and what is then known (``status`` route by route)."""

    rule: str
    path: str
    said: str  # the comparison's words
    message: str  # told on its own: the request, the words, the end of the sequence if it ends there
    key: str = ""


@dataclass(frozen=True)
class Untold:
    """The last step's differences from the reference, kept until the model has judged the step: the candidate's
    status and body (in the reference's ids) and the differences."""

    status: int
    body: Any
    differences: list[Difference]

    def explained(self, status: int | None, body: Any) -> tuple[list[Difference], list[Difference]]:
        """The differences a documented rule expecting ``status`` and ``body`` explains, and the others. Another
        status than the candidate's explains them all (its body belongs to another answer); else a difference is
        explained where the expected body differs from the candidate's at its path (a status difference, there,
        is not: the rule expected the candidate's status)."""
        if status is not None and status != self.status:
            return list(self.differences), []
        told: list[Difference] = []
        rest: list[Difference] = []
        for difference in self.differences:
            parts = parse_path(difference.path)
            ours, theirs = value_at(body, parts, MISSING), value_at(self.body, parts, MISSING)
            explains = difference.rule != "status" and body is not None and (
                ours != theirs or json_type(ours) != json_type(theirs))
            (told if explains else rest).append(difference)
        return told, rest


    def told_already(self, told: list[Difference], known: set[str], status: int | None, body: Any) -> str:
        """The key of a difference told at an earlier step (known) that is the whole of what a rule expecting
        ``status`` and ``body`` finds here ("" when there is none): a string ``exp_month`` told as ``type`` where a
        card was attached, then met again by ``card.attributes`` after an update, is one problem. A rule that
        expects another status is never covered so (a status known on a route says nothing of another request's)."""
        seen = [difference for difference in told if (difference.key or difference.rule) in known]
        if not seen or body is None or (status is not None and status != self.status):
            return ""
        wrong = _differing(body, self.body)
        covered = all(any(_within(path, difference.path) for difference in seen) for path in wrong)
        return (seen[0].key or seen[0].rule) if wrong and covered else ""


def _differing(expected: Any, actual: Any, path: str = "") -> list[str]:
    """The paths where ``actual`` differs from what ``expected`` says (its keys only: what a rule expects), its
    JSON types too."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        return [found for key, value in expected.items()
                for found in _differing(value, actual.get(key, MISSING), f"{path}.{key}" if path else str(key))]
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        return [found for index, (mine, theirs) in enumerate(zip(expected, actual))
                for found in _differing(mine, theirs, f"{path}[{index}]")]
    return [] if expected == actual and json_type(expected) == json_type(actual) else [path]


def _within(path: str, where: str) -> bool:
    """Whether ``path`` is ``where`` or lies beneath it."""
    return not where or path == where or path.startswith((f"{where}.", f"{where}["))


def _evidence(difference: Difference, status: int) -> str:
    """What the reference answered, as a finding's evidence: its status, or the comparison's words."""
    return f"the reference answered {status}" if difference.rule == "status" else \
        f"the reference answered otherwise ({difference.said})"


def _told_once(findings: list[Finding]) -> list[Finding]:
    """The findings of one answer without those beneath a list whose length differs: such a list (a card listed
    twice: its ids no longer single) is compared position by position, so each item after the difference is
    compared with another card's values, which is no difference of its own."""
    lengths = [finding.path for finding in findings if finding.rule == "list.length"]
    return [finding for finding in findings if not any(finding.path.startswith(f"{path}[") for path in lengths)]
