"""``explore --reference``: each generated request sent to a reference too; the candidate judged by run's
comparison and by the profile's model.

The reference answers first: its answers are what a failing sequence's cassette records, so the cassette holds
the expected answers. The same request then goes to the candidate with the reference's ids rewritten to the
candidate's (``IdBindings``, learnt answer by answer as ``run`` learns them), and the candidate's answer is
compared with the reference's by ``compare_bodies``: a different status, or a finding that fails, breaks the
sequence under that finding's rule. What the profile's machine then judges is the candidate's answer with its
ids rewritten back to the reference's: the documented rules judge the candidate too, so what the comparison
treats as server-minted (a ``fingerprint`` drawn at random) is still judged.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import httpx

from conformance.api_profile import ApiProfile
from conformance.checks.compare import CompareRules, compare_bodies
from conformance.explore.session import Session, Step, answer_headers, json_body
from conformance.replay.binding import IdBindings
from conformance.replay.transport import TargetClient

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
        if answer.status_code != step.status:
            self.fail("status", f"{method} {path}: the candidate answered {answer.status_code}, the reference "
                      f"{step.status}")
        self.bindings.learn(step.body, body)
        self.back.learn(body, step.body)
        findings = compare_bodies(self.bindings.substitute(step.body), body, self.rules, is_error=step.status >= 400)
        failing = [finding for finding in findings if finding.is_failure and finding.rule not in self.known]
        if failing:
            self.fail(failing[0].rule, f"{method} {path}: {failing[0].message} (the reference answered otherwise)")
        self.judge_contract(method, path, form, query, answer.status_code, body)
        seen = self.back.substitute(body)
        return Step(method, step.path, form, answer.status_code, seen, answer.content, answer_headers(answer.headers),
                    key=key)

    def fail(self, rule: str, message: str, expected_status: int | None = None, expected_body: Any = None,
             key: str = "") -> None:
        """A difference from the reference, or a rule the candidate broke: the expected answer is the
        reference's own (the step as recorded)."""
        step = self.steps[-1]
        super().fail(rule, message, step.status, step.body, key)

