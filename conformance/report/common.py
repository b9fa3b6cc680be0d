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
    """One line per finding; ``limit`` shortens long values (terminal), 0 keeps them whole (reports)."""
    where = finding.path or "(response)"
    expected, actual = value(finding.expected), value(finding.actual)
    if limit:
        expected, actual = shorten(expected, limit), shorten(actual, limit)
    accepted = " (accepted by the baseline)" if finding.accepted else ""
    return f"[{finding.rule}] {where}: expected {expected}, got {actual}{accepted}"
