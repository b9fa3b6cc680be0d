"""``explore --reference``: each generated request sent to a reference too; the candidate judged by run's
comparison and by the profile's model.

The reference answers first: its answers are what a failing sequence's cassette records, so the cassette holds
the expected answers. The same request then goes to the candidate with the reference's ids rewritten to the
candidate's (``IdBindings``, learnt answer by answer as ``run`` learns them), and the candidate's answer is
compared with the reference's by ``compare_bodies``: a different status, or a finding that fails, breaks the
sequence under that finding's rule. What the profile's machine then judges is the candidate's answer with its
ids rewritten back to the reference's: the documented rules judge the candidate too, so what the comparison
treats as server-minted (a ``fingerprint`` drawn at random) is still judged.

One difference, one finding: a candidate's object whose id binds none of the reference's (another kind: an
account for a card) ends the sequence at the answer that names it, so nothing the reference never made is sent to
it; a route the candidate lacks is the model's ``route.missing``; two statuses compare their bodies only when both
are errors, as ``run``; a list whose length differs is not also compared item by item against other items.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from hypothesis import reject

from conformance.api_profile import ApiProfile
from conformance.checks.compare import CompareRules, compare_bodies
from conformance.checks.response import no_such_route
from conformance.explore.session import Session, Step, answer_headers, json_body
from conformance.findings import Finding
from conformance.replay.binding import IdBindings
from conformance.replay.transport import TargetAnswer, TargetClient
from conformance.text import snippet

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

    def send(self, method: str, path: str, form: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None, key: str = "") -> Step:
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
        ending = f"; {unbound}: the sequence ends here" if unbound else ""
        if no_such_route(answer.status_code, body) and not no_such_route(step.status, step.body):
            # a route the candidate lacks: the machine tells it once per route (route.missing), as run does, never
            # as a status of each request that meets it
            return self.seen(method, path, step, form, query, answer, body, key)
        differs = answer.status_code != step.status
        if differs:
            self.fail("status", f"{method} {path}: the candidate answered {answer.status_code}, the reference "
                      f"{step.status}{ending}")
        if not differs or (_is_error(step.body) and _is_error(body)):  # as run: two statuses, two errors compared
            findings = compare_bodies(self.bindings.substitute(step.body), body, self.rules,
                                      is_error=step.status >= 400)
            differs = differs or any(finding.is_failure for finding in findings)
            failing = [finding for finding in _told_once(findings)
                       if finding.is_failure and finding.rule not in self.known]
            if failing:
                self.fail(failing[0].rule, f"{method} {path}: {failing[0].message} (the reference answered "
                          f"otherwise{ending})")
        if unbound:  # its difference told already (a known rule): nothing after it can be sent to both
            if not differs:
                self.fail("id.binding", f"{method} {path}: {unbound}")  # no difference said it: this does
            reject()
        return self.seen(method, path, step, form, query, answer, body, key)

    def seen(self, method: str, path: str, step: Step, form: dict[str, Any] | None, query: dict[str, Any] | None,
             answer: TargetAnswer, body: Any, key: str) -> Step:
        """The candidate's answer as the model judges it: by the contract, then in the reference's ids."""
        assert self.back is not None
        self.judge_contract(method, path, form, query, answer.status_code, body)
        return Step(method, step.path, form, answer.status_code, self.back.substitute(body), answer.content,
                    answer_headers(answer.headers), key=key)

    def learn(self, reference: Any, candidate: Any) -> None:
        """Bind the ids of two answers, each way. The way back is one to one: a candidate's id met where the
        reference answered an id bound to another of the candidate's already (a fake answering every delete with
        one constant id) stays the candidate's, so the model is shown what the candidate answered,
        never an id of another object."""
        assert self.bindings is not None and self.back is not None
        self.bindings.learn(reference, candidate)
        taken = set(self.back.actual.values())
        self.back.learn(candidate, reference)
        for mine, theirs in self.back.take_fresh():
            if theirs in taken and self.back.ids.prefix_of(mine) is not None:
                del self.back.actual[mine]

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
        """A difference from the reference, or a rule the candidate broke: the expected answer is the
        reference's own (the step as recorded)."""
        step = self.steps[-1]
        super().fail(rule, message, step.status, step.body, key)


def _is_error(body: Any) -> bool:
    return isinstance(body, dict) and isinstance(body.get("error"), dict)


def _told_once(findings: list[Finding]) -> list[Finding]:
    """The findings of one answer without those beneath a list whose length differs: such a list (a card listed
    twice: its ids no longer single) is compared position by position, so each item after the difference is
    compared with another card's values, which is no difference of its own."""
    lengths = [finding.path for finding in findings if finding.rule == "list.length"]
    return [finding for finding in findings if not any(finding.path.startswith(f"{path}[") for path in lengths)]
