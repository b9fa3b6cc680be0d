"""What every report format says alike: one line per finding, the counts, the verdict."""

from __future__ import annotations

from typing import Any

from conformance.findings import MISSING, Finding
from conformance.text import shorten, value_text

__all__ = ["finding_line", "value"]


def value(data: Any) -> str:
    """A finding's expected or actual value as text (``<missing>`` for an absent key)."""
    return value_text(data, MISSING)


def finding_line(finding: Finding, limit: int = 0) -> str:
    """One line per finding; ``limit`` shortens long values (terminal), 0 keeps them whole (reports).

    A finding about the whole exchange (status, route, a fault of the target) says it in its
    message — with the target's own words, such as its error message or why TLS failed.
    """
    accepted = " (accepted by the baseline)" if finding.accepted else ""
    if not finding.path or finding.rule.startswith("schema."):  # the contract's findings say it in a sentence
        message = shorten(finding.message, limit * 3) if limit else finding.message
        return f"[{finding.rule}] {message}{accepted}"
    expected, actual = value(finding.expected), value(finding.actual)
    if limit:
        expected, actual = shorten(expected, limit), shorten(actual, limit)
    return f"[{finding.rule}] {finding.path}: expected {expected}, got {actual}{accepted}"
