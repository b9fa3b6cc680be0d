"""``explore --reference``: each generated request sent to a reference too, the candidate judged by run's comparison.

The reference answers first: its answers are what the profile's machine sees (its ids, its state) and what a
failing sequence's cassette records, so the cassette holds the expected answers. The same request then goes to
the candidate with the reference's ids rewritten to the candidate's (``IdBindings``, learnt answer by answer as
``run`` learns them), and the candidate's answer is compared with the reference's by ``compare_bodies``: a
different status, or a finding that fails, breaks the sequence under that finding's rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from conformance.api_profile import ApiProfile
from conformance.checks.compare import CompareRules, compare_bodies
from conformance.explore.session import Deviation, Session, Step
from conformance.replay.binding import IdBindings
from conformance.replay.transport import TargetClient

__all__ = ["PairedSession", "reference_rules"]


def reference_rules(profile: ApiProfile) -> CompareRules:
    """Run's comparison with the profile's ids and defaults; errors' wording compared loosely, as in run."""
    return CompareRules(ids=profile.ids, defaults=profile.comparison, loose=("error.message", "error.param"))


@dataclass
class PairedSession(Session):
    """A session whose steps are the reference's answers; each request also sent to the candidate and compared."""

    candidate: TargetClient | None = None
    rules: CompareRules = field(default_factory=CompareRules)
    bindings: IdBindings | None = None
    known: set[str] = field(default_factory=set)  # rules already found broken: not raised again
    on_deviation: Callable[[Session, Deviation], None] | None = None

    def send(self, method: str, path: str, form: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None) -> Step:
        step = super().send(method, path, form, query)
        assert self.candidate is not None and self.bindings is not None
        headers, content = self.framed(self.bindings.substitute(form) if form is not None else None)
        target = self.bindings.text(step.path)
        try:
            answer = self.candidate.request(method, target, headers, content)
        except httpx.HTTPError as error:
            return self._deviate(Deviation("target.connection", f"{method} {target}: the candidate gave no answer "
                                           f"({error or type(error).__name__})"), step)
        try:
            body = json.loads(answer.content) if answer.content else None
        except ValueError:
            body = None
        if answer.status_code != step.status:
            return self._deviate(Deviation("status", f"{method} {path}: the candidate answered "
                                           f"{answer.status_code}, the reference {step.status}"), step)
        self.bindings.learn(step.body, body)
        findings = compare_bodies(self.bindings.substitute(step.body), body, self.rules, is_error=step.status >= 400)
        failing = [finding for finding in findings if finding.is_failure and finding.rule not in self.known]
        if failing:
            first = failing[0]
            return self._deviate(Deviation(first.rule, f"{method} {path}: {first.message} (the reference answered "
                                           "otherwise)"), step)
        return step

    def _deviate(self, deviation: Deviation, step: Step) -> Step:
        """Raise a difference from the reference (the step's expected answer is the reference's own)."""
        if deviation.rule in self.known:
            return step
        step.expected_status, step.expected_body = step.status, step.body
        if self.on_deviation is not None:
            self.on_deviation(self, deviation)
        raise deviation
