"""Root causes: identical findings across interactions and cassettes, counted once.

A target that does not know the test tokens fails every card creation the same
way; listing that once, with how many interactions it explains (and how many
later ones it blocked), says what to fix first. Findings are identical when
rule, endpoint, JSON path (list indexes aside), expected and actual agree once
the ids a target minted are set aside (``card_…``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conformance.findings import Finding, RunResult
from conformance.ids import ID_PATTERN
from conformance.report.common import value
from conformance.rules import Outcome, Severity

__all__ = ["RootCause", "root_causes", "cause_key"]

_INDEX = re.compile(r"\[\d+\]")


def _without_ids(text: str) -> str:
    return ID_PATTERN.sub(lambda match: match.group(0).split("_", 1)[0] + "_…", text)


def cause_key(endpoint: str, rule: str, path: str, expected: Any, actual: Any) -> tuple[str, str, str, str, str]:
    """What makes two findings the same root cause (the values as report text, ids set aside)."""
    return (rule, endpoint, _INDEX.sub("[*]", path), _without_ids(value(expected)), _without_ids(value(actual)))


@dataclass
class RootCause:
    rule: str
    endpoint: str
    path: str
    message: str
    severity: Severity
    interactions: list[tuple[str, int]] = field(default_factory=list)  # (cassette path, interaction index)
    blocked: int = 0  # later interactions that failed only because of these

    @property
    def count(self) -> int:
        return len(self.interactions)

    @property
    def cassettes(self) -> int:
        return len({cassette for cassette, _ in self.interactions})

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "endpoint": self.endpoint, "path": self.path, "message": self.message,
                "severity": str(self.severity), "count": self.count, "blocked": self.blocked,
                "interactions": [{"cassette": cassette, "index": index} for cassette, index in self.interactions]}

    def line(self) -> str:
        where = f" {self.path}" if self.path else ""
        blocked = f"; {self.blocked} more blocked by it" if self.blocked else ""
        return (f"{self.endpoint} — [{self.rule}]{where}: {self.message} — {self.count} interaction"
                f"{'s' if self.count != 1 else ''} in {self.cassettes} cassette{'s' if self.cassettes != 1 else ''}"
                f"{blocked}")


def root_causes(result: RunResult) -> list[RootCause]:
    """The open findings of interactions that were not blocked, grouped; the most explaining first."""
    causes: dict[tuple[str, str, str, str, str], RootCause] = {}
    blocking: dict[tuple[str, int], list[RootCause]] = {}
    for cassette, interaction in result.interactions():
        if interaction.outcome == Outcome.BLOCKED:
            continue
        for finding in interaction.findings:
            if finding.accepted:
                continue
            cause = causes.get(key := cause_key(interaction.endpoint, finding.rule, finding.path, finding.expected,
                                                 finding.actual))
            if cause is None:
                cause = causes[key] = _new(interaction.endpoint, finding)
            place = (cassette.path, interaction.index)
            if place not in cause.interactions:
                cause.interactions.append(place)
                blocking.setdefault(place, []).append(cause)
    for cassette, interaction in result.interactions():
        if interaction.outcome == Outcome.BLOCKED and interaction.blocked_by is not None:
            for cause in blocking.get((cassette.path, interaction.blocked_by), []):
                if cause.severity == Severity.FAILURE:
                    cause.blocked += 1
    return sorted(causes.values(), key=lambda c: (c.severity != Severity.FAILURE, -(c.count + c.blocked), c.rule))


def _new(endpoint: str, finding: Finding) -> RootCause:
    return RootCause(finding.rule, endpoint, _INDEX.sub("[*]", finding.path), _without_ids(finding.message),
                     finding.severity or Severity.FAILURE)
