"""What a run finds: findings, per-interaction outcomes, per-cassette and per-run results."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAILURE", "WARNING", "Finding", "InteractionResult", "CassetteResult", "RunResult", "MISSING"]

FAILURE = "failure"
WARNING = "warning"


class _Missing:
    """Stands for a key that is absent (distinct from null)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass
class Finding:
    rule: str
    path: str  # JSON path into the response body, "" for the whole exchange
    message: str
    expected: Any = None
    actual: Any = None
    severity: str = FAILURE
    accepted: bool = False  # a known deviation, listed in the run's baseline

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "path": self.path, "severity": self.severity, "message": self.message}
        if self.accepted:
            data["accepted"] = True
        if self.expected is not MISSING:
            data["expected"] = self.expected
        if self.actual is not MISSING:
            data["actual"] = self.actual
        return data


@dataclass
class InteractionResult:
    index: int
    endpoint: str
    method: str
    path: str  # as recorded
    status: int  # recorded
    actual_status: int | None = None
    findings: list[Finding] = field(default_factory=list)
    recorded_body: Any = None
    actual_body: Any = None
    seconds: float = 0.0

    @property
    def outcome(self) -> str:
        """failed, warning or passed — findings a baseline accepted do not count."""
        open_findings = [f for f in self.findings if not f.accepted]
        if any(f.severity == FAILURE for f in open_findings):
            return "failed"
        if open_findings:
            return "warning"
        return "passed"


@dataclass
class CassetteResult:
    path: str
    name: str
    interactions: list[InteractionResult] = field(default_factory=list)
    error: str | None = None  # the cassette could not be read

    @property
    def failed(self) -> bool:
        return any(i.outcome == "failed" for i in self.interactions)


@dataclass
class RunResult:
    target: str
    cassettes: list[CassetteResult] = field(default_factory=list)
    seconds: float = 0.0

    def interactions(self) -> list[tuple[CassetteResult, InteractionResult]]:
        return [(c, i) for c in self.cassettes for i in c.interactions]

    @property
    def input_errors(self) -> list[CassetteResult]:
        return [c for c in self.cassettes if c.error]

    def counts(self) -> dict[str, int]:
        counts = {"passed": 0, "failed": 0, "warning": 0}
        for _, interaction in self.interactions():
            counts[interaction.outcome] += 1
        return counts

    @property
    def exit_code(self) -> int:
        if self.input_errors:
            return 2
        return 1 if any(c.failed for c in self.cassettes) else 0
