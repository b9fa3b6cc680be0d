"""Problems a baseline accepts: still problems, told as *accepted*, never left out.

A baseline run (``run --baseline known.json``) marks the findings the baseline
knows as accepted, and the grouping into root causes leaves accepted findings
out of the problems it tells. A report that then simply omitted them would read,
to whoever compares it with the baseline, as if those problems were fixed. So a
report keeps them — each cause whose every finding is accepted, marked so — and
``compare`` tells them apart from fixes.
"""

from __future__ import annotations

import dataclasses

from conformance.findings import RunResult
from conformance.report.causes import RootCause, root_causes

__all__ = ["accepted_causes", "all_open"]


def all_open(result: RunResult) -> RunResult:
    """``result`` as if no baseline had accepted anything (copies: the run's own result is left as it is)."""
    cassettes = [dataclasses.replace(cassette, interactions=[
        dataclasses.replace(interaction, findings=[dataclasses.replace(f, accepted=False) for f in interaction.findings])
        for interaction in cassette.interactions]) for cassette in result.cassettes]
    return dataclasses.replace(result, cassettes=cassettes)


def accepted_causes(result: RunResult, open_causes: list[RootCause] | None = None) -> list[RootCause]:
    """The root causes a baseline accepts whole: grouped as if open, those the run's open causes do not name.

    A cause the baseline accepts in part (a known problem now on more interactions) stays an open cause: its new
    interactions are what fails the run.
    """
    opened = {cause.key for cause in (open_causes if open_causes is not None else root_causes(result))}
    if not any(f.accepted for _, interaction in result.interactions() for f in interaction.findings):
        return []
    return [cause for cause in root_causes(all_open(result)) if cause.key not in opened]
