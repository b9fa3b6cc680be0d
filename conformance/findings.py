"""What a run finds: findings, per-interaction outcomes, per-cassette and per-run results."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from conformance.rules import Outcome, Severity, rule

__all__ = ["Verdict", "Finding", "InteractionResult", "CassetteResult", "RunResult", "MISSING"]


class _Missing:
    """Stands for a key that is absent (distinct from null)."""

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class Verdict(Enum):
    """The verdict of a run, its words in every output, and the exit code a CI gate reads."""

    CONFORMS = ("conforms", 0)
    DEVIATIONS = ("deviations found", 1)
    INPUT_ERRORS = ("input errors", 2)

    def __init__(self, text: str, exit_code: int) -> None:
        self.text = text
        self.exit_code = exit_code


@dataclass
class Finding:
    rule: str  # a registered rule id (conformance.rules)
    path: str  # JSON path into the response body, "" for the whole exchange
    message: str
    expected: Any = None
    actual: Any = None
    severity: Severity | None = None  # None: the rule's default
    accepted: bool = False  # a known deviation, listed in the run's baseline
    # The object the finding is about (its ``object``: card, customer, list) and the key within it
    # (``address_line2``, ``invoice_settings.footer``): what groups findings into problems across endpoints.
    kind: str | None = None
    key_path: str | None = None
    # A problem a check names beyond rule and place (``parameters-not-applied``): groups across keys.
    problem: str | None = None
    # The earlier interaction (same cassette) whose failure left unbound an id this finding is about:
    # a consequence, not a problem of its own.
    consequence_of: int | None = None

    def __post_init__(self) -> None:
        default = rule(self.rule).severity
        self.severity = Severity(self.severity) if self.severity is not None else default

    @property
    def is_failure(self) -> bool:
        """A failure that counts: not a warning, not accepted by a baseline, not a consequence of another."""
        return self.severity == Severity.FAILURE and not self.accepted and self.consequence_of is None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"rule": self.rule, "path": self.path, "severity": str(self.severity),
                                "message": self.message}
        if self.accepted:
            data["accepted"] = True
        for name in ("kind", "key_path", "problem", "consequence_of"):
            if getattr(self, name) is not None:
                data[name] = getattr(self, name)
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
    # The earlier interaction (same cassette) whose failure left unbound an id this one needs: in its request
    # (``blocked_id``: then nothing but a missing route is judged) or in findings that are consequences.
    blocked_by: int | None = None
    blocked_id: str | None = None  # the recorded id the request needed and no answer minted
    # Documented rules this exchange would have judged, had their precondition held: (rule, why not).
    not_judged: list[tuple[str, str]] = field(default_factory=list)
    # Documented rules this exchange judged (their precondition held), whatever they found.
    judged: list[str] = field(default_factory=list)
    # Documented rules the recorded exchange judges: what the suite covers here, whatever the target answered.
    covers: list[str] = field(default_factory=list)
    # The request as sent, as a curl command (the key as $STRIPE_API_KEY): set where a failure was found.
    curl: str | None = None
    sent_key: bool = False  # the request carried the run's API key (the recording had an Authorization)

    @property
    def outcome(self) -> Outcome:
        """failed, blocked (its failures are all consequences of an earlier one), warning or passed —
        findings a baseline accepted do not count, but what follows from an accepted deviation was not judged:
        blocked, never passed."""
        open_findings = [f for f in self.findings if not f.accepted]
        if any(f.severity == Severity.FAILURE and f.consequence_of is None for f in open_findings):
            return Outcome.FAILED
        if any(f.severity == Severity.FAILURE and f.consequence_of is not None for f in self.findings):
            return Outcome.BLOCKED
        if any(f.consequence_of is None for f in open_findings):
            return Outcome.WARNING
        return Outcome.PASSED

    @property
    def open_consequences(self) -> bool:
        """Failures that follow from an earlier interaction and that no baseline accepted."""
        return any(f.severity == Severity.FAILURE and f.consequence_of is not None and not f.accepted
                   for f in self.findings)


@dataclass
class CassetteResult:
    path: str
    name: str
    interactions: list[InteractionResult] = field(default_factory=list)
    error: str | None = None  # the cassette could not be read
    warnings: list[str] = field(default_factory=list)  # read, but not all of it checked (empty, cut short)

    @property
    def failed(self) -> bool:
        """A failure of its own, or one blocked by an interaction that did not fail (a baseline accepted it)."""
        outcomes = {i.index: i.outcome for i in self.interactions}
        return any(
            outcome == Outcome.FAILED
            or (outcome == Outcome.BLOCKED and i.open_consequences and outcomes.get(i.blocked_by or 0) != Outcome.FAILED)
            for i, outcome in zip(self.interactions, outcomes.values())
        )


# What Go's net/http (stripe-mock's server) answers a plain-HTTP request on an HTTPS port.
_PLAIN_HTTP_REFUSED = "Client sent an HTTP request to an HTTPS server."


@dataclass
class RunResult:
    target: str
    cassettes: list[CassetteResult] = field(default_factory=list)
    seconds: float = 0.0
    interrupted_by: int | None = None  # the signal that stopped the run early (what ran is kept)
    contract: str | None = None  # the OpenAPI description the answers were also judged by (--openapi)

    def interactions(self) -> list[tuple[CassetteResult, InteractionResult]]:
        return [(c, i) for c in self.cassettes for i in c.interactions]

    @property
    def input_errors(self) -> list[CassetteResult]:
        return [c for c in self.cassettes if c.error]

    @property
    def setup_error(self) -> str | None:
        """What makes the run say nothing of the target: every answer refused the API key, or was an HTTPS
        server's refusal of plain HTTP (a configuration mistake, exit 2 — not deviations to fix in the target)."""
        reached = [i for _, i in self.interactions() if i.actual_status is not None]
        if reached and all(i.actual_status == 400 and isinstance(i.actual_body, str)
                           and _PLAIN_HTTP_REFUSED in i.actual_body for i in reached):
            return (f"every request was refused with 400 {_PLAIN_HTTP_REFUSED!r}: {self.target} speaks HTTPS at "
                    "that port; give --target https://… (stripe-mock serves HTTPS on 12112, plain HTTP on 12111)")
        answered = [i for i in reached if i.sent_key]
        if answered and all(i.actual_status == 401 for i in answered) and any(i.status != 401 for i in answered):
            return ("every request was refused with 401: the target does not accept the API key; give one it "
                    "accepts with --api-key or STRIPE_API_KEY (stripe-mock takes sk_test_ and one more part "
                    "without '_', as the default does)")
        return None

    def counts(self) -> dict[Outcome, int]:
        counts = dict.fromkeys(Outcome, 0)
        for _, interaction in self.interactions():
            counts[interaction.outcome] += 1
        return counts

    def per_endpoint(self) -> list[tuple[str, dict[Outcome, int]]]:
        """Outcome counts per endpoint, sorted by endpoint."""
        table: dict[str, dict[Outcome, int]] = {}
        for _, interaction in self.interactions():
            table.setdefault(interaction.endpoint, dict.fromkeys(Outcome, 0))[interaction.outcome] += 1
        return sorted(table.items())

    @property
    def exit_code(self) -> int:
        """The verdict's, or 128 + the signal's number for a run that was interrupted (130: Ctrl-C)."""
        return 128 + self.interrupted_by if self.interrupted_by else self.verdict.exit_code

    @property
    def verdict(self) -> Verdict:
        if self.input_errors or self.setup_error:
            return Verdict.INPUT_ERRORS
        return Verdict.DEVIATIONS if any(c.failed for c in self.cassettes) else Verdict.CONFORMS
