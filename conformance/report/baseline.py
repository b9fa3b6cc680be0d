"""Comparing runs: finding identities, regressions and fixes, baselines of accepted deviations.

A finding's identity is (cassette path, interaction index, JSON path, rule):
stable across runs, because none of it depends on the ids a target minted or
on line numbers in a cassette.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from conformance.findings import InteractionResult, RunResult
from conformance.report.accepted import all_open
from conformance.report.causes import CauseKey, RootCause, root_causes
from conformance.report.common import md_cell, md_code, md_text, plural
from conformance.report.json_report import ReadFinding, as_run, read_report
from conformance.rules import Severity

__all__ = ["Identity", "identities_of_report", "accept_baseline", "RunComparison", "compare_reports", "read_report",
           "causes_of_report", "interactions_text", "Report"]

Identity = tuple[str, int, str, str]
# A run's result, or its JSON report's data: every function here reads either through the one reader.
Report = RunResult | dict[str, Any]


def interactions_text(interactions: Collection[tuple[str, int]], first: int = 5) -> str:
    """Which interactions, the first few: ``cards.yaml #3, #7, other.yaml #2 and 4 more``."""
    ordered = sorted(set(interactions))
    shown, last = [], None
    for cassette, index in ordered[:first]:
        shown.append(f"#{index}" if cassette == last else f"{cassette} #{index}")
        last = cassette
    return ", ".join(shown) + (f" and {len(ordered) - first} more" if len(ordered) > first else "")


def identities_of_report(report: Report, severities: tuple[str, ...] = (Severity.FAILURE,)) -> dict[Identity, dict[str, Any]]:
    """Identity -> finding (as the report writes it, with its endpoint), for findings of the given severities."""
    found: dict[Identity, dict[str, Any]] = {}
    for cassette, interaction in as_run(report).interactions():
        for finding in interaction.findings:
            if finding.severity in severities:
                key = (cassette.path, interaction.index, finding.path, finding.rule)
                found[key] = {**finding.to_dict(), "endpoint": interaction.endpoint or None}
    return found


def causes_of_report(report: Report, leave_out: Collection[tuple[str, int | None]] = (),
                     accepted: bool = False) -> dict[CauseKey, RootCause]:
    """Problem -> its root cause, for the failures of a report (any readable schema): computed from the
    findings, grouped as a run groups them, so reports of either schema compare alike. ``accepted``: the
    problems a baseline accepted count too (they are still there). ``leave_out``: (cassette, index) not checked by
    the other run (index None: the whole cassette)."""
    run = all_open(as_run(report)) if accepted else as_run(report)
    left_out = set(leave_out)
    kept = dataclasses.replace(run, cassettes=[
        dataclasses.replace(cassette, interactions=[_registered(i) for i in cassette.interactions
                                                    if (cassette.path, i.index) not in left_out])
        for cassette in run.cassettes if (cassette.path, None) not in left_out])
    return {cause.key: cause for cause in root_causes(kept) if cause.severity == Severity.FAILURE}


def _registered(interaction: InteractionResult) -> InteractionResult:
    """The interaction with the findings of rules this process knows: a rule it has not registered (an API
    profile's own, not loaded) has no traits to group it by, and is compared by identity only."""
    if not any(isinstance(f, ReadFinding) for f in interaction.findings):
        return interaction
    return dataclasses.replace(interaction, findings=[f for f in interaction.findings if not isinstance(f, ReadFinding)])


def accept_baseline(result: RunResult, baseline: Report) -> int:
    """Mark the findings a baseline already has as accepted; returns how many were."""
    known = identities_of_report(baseline, severities=(Severity.FAILURE, Severity.WARNING))
    recorded = {key[0] for key in known}
    accepted = 0
    for cassette in result.cassettes:
        path = _as_recorded(cassette.path, recorded)
        for interaction in cassette.interactions:
            for finding in interaction.findings:
                if (path, interaction.index, finding.path, finding.rule) in known:
                    finding.accepted = True
                    accepted += 1
    return accepted


def _as_recorded(path: str, paths: Collection[str]) -> str:
    """The path a baseline knows a cassette by: the same text, the same file from another directory (a pytest
    run names it absolutely, `conformance run` as given), or the one cassette of that name."""
    if path in paths:
        return path
    resolved = Path(path).resolve()
    same = [p for p in paths if Path(p).resolve() == resolved] or [p for p in paths if Path(p).name == resolved.name]
    return same[0] if len(same) == 1 else path


@dataclass
class RunComparison:
    regressions: list[tuple[Identity, dict[str, Any]]] = field(default_factory=list)
    fixes: list[tuple[Identity, dict[str, Any]]] = field(default_factory=list)
    unchanged: list[tuple[Identity, dict[str, Any]]] = field(default_factory=list)
    # findings of the current run its own baseline accepted (run --baseline): still there, never fixed nor new
    accepted: list[tuple[Identity, dict[str, Any]]] = field(default_factory=list)
    # the same, by root cause: one fixed cause is one fix however many interactions it explained
    new_causes: list[tuple[CauseKey, RootCause]] = field(default_factory=list)
    fixed_causes: list[tuple[CauseKey, RootCause]] = field(default_factory=list)
    accepted_causes: list[tuple[CauseKey, RootCause]] = field(default_factory=list)  # every finding accepted
    # in the baseline, absent from the current run: neither fixed nor passing, just not checked
    not_run: list[tuple[str, int | None]] = field(default_factory=list)  # (cassette, index or None: all of it)
    # every root cause of either run (accepted ones too), to say which problem a regression or a fix belongs to
    causes_before: dict[CauseKey, RootCause] = field(default_factory=dict)
    causes_now: dict[CauseKey, RootCause] = field(default_factory=dict)

    def grouped(self, fixed: bool = False) -> list[tuple[RootCause | None, str, list[tuple[Identity, dict[str, Any]]]]]:
        """The regressions (or the fixes) by problem: (its root cause, how it stands, its findings), a new or
        fixed cause first, then known causes with new (or fewer) failing interactions, then findings no cause
        names (warnings' kin: not failures of the report's causes). A problem read once, not once per id."""
        items = self.fixes if fixed else self.regressions
        causes = self.causes_before if fixed else self.causes_now
        changed = {key for key, _ in (self.fixed_causes if fixed else self.new_causes)}
        owner: dict[tuple[str, int], CauseKey] = {}
        for key, cause in causes.items():
            for interaction in cause.interactions:
                owner.setdefault(interaction, key)
        groups: dict[CauseKey | None, list[tuple[Identity, dict[str, Any]]]] = {}
        for key in changed:  # a new problem whose findings all keep their identities (404 then 500) is one too
            groups[key] = []
        for identity, finding in items:
            groups.setdefault(owner.get((identity[0], identity[1])), []).append((identity, finding))
        ordered = sorted(groups.items(), key=lambda group: (group[0] is None, group[0] not in changed, -len(group[1])))
        return [(causes[key] if key is not None else None,
                 ("fixed" if fixed else "new") if key in changed else ("fewer" if fixed else "more") if key is not None
                 else "", found) for key, found in ordered]

    def summary(self) -> str:
        """The counts, one line: what every format of the comparison says first."""
        accepted = (f"; {len(self.accepted)} accepted by the run's baseline "
                    f"({plural(len(self.accepted_causes), 'root cause')}), not fixed") if self.accepted else ""
        return (f"{plural(len(self.regressions), 'regression')} ({plural(len(self.new_causes), 'new root cause')}), "
                f"{len(self.fixes)} fixed ({plural(len(self.fixed_causes), 'root cause')}), "
                f"{len(self.unchanged)} unchanged{accepted}"
                + (f", {len(self.not_run)} not run" if self.not_run else ""))

    def to_json(self) -> dict[str, Any]:
        accepted = {key for key, _ in self.accepted}

        def entries(items: list[tuple[Identity, dict[str, Any]]]) -> list[dict[str, Any]]:
            return [{"cassette": key[0], "interaction": key[1], "path": key[2], "rule": key[3],
                     "endpoint": finding.get("endpoint"), "message": finding.get("message"),
                     "accepted": key in accepted} for key, finding in items]

        def causes(items: list[tuple[CauseKey, RootCause]]) -> list[dict[str, Any]]:
            return [{"rule": cause.rule, "endpoint": cause.endpoint, "endpoints": cause.endpoints, "path": cause.path,
                     "message": cause.message, "count": cause.count} for _, cause in items]

        return {"regressions": entries(self.regressions), "fixes": entries(self.fixes),
                "unchanged": entries(self.unchanged), "accepted": entries(self.accepted),
                "new_root_causes": causes(self.new_causes), "fixed_root_causes": causes(self.fixed_causes),
                "accepted_root_causes": causes(self.accepted_causes),
                "not_run": [{"cassette": cassette, "interaction": index} for cassette, index in self.not_run]}

    def markdown(self) -> str:
        head, _, tail = self.summary().partition(" (")
        lines = [f"**{head}** ({tail}", ""]
        if self.not_run:
            lines += [f"⚠️ **{len(self.not_run)} not run** (in the baseline, not in this run; not counted as fixed): "
                      + ", ".join(md_code(c) + (f" #{i}" if i is not None else "") for c, i in self.not_run[:20]), ""]
        for title, found in (("New root causes", self.new_causes), ("Fixed root causes", self.fixed_causes),
                             ("Accepted root causes (the run's baseline accepts them: still there, not fixed)",
                              self.accepted_causes)):
            if found:
                lines += [f"### {title}", "", "| endpoint | rule | path | interactions | message |",
                          "| --- | --- | --- | ---: | --- |"]
                lines += ["| " + " | ".join(md_cell(cell) for cell in (
                    md_text(", ".join(c.endpoints)), md_text(c.rule), md_code(c.path or "(response)"), str(c.count),
                    md_text(c.message))) + " |" for _, c in found]
                lines.append("")
        for title, fixed in (("Regressions", False), ("Fixed", True)):
            groups = [group for group in self.grouped(fixed) if group[2]]
            if groups:
                lines += [f"### {title}, by problem", "", "| problem | rule | interactions |", "| --- | --- | --- |"]
                for cause, _, items in groups:
                    where = interactions_text([(key[0], key[1]) for key, _ in items], first=10)
                    problem = cause.message if cause is not None else ", ".join(sorted({f"{k[2] or '(response)'}"
                                                                                        for k, _ in items}))
                    rules = sorted({str(key[3]) for key, _ in items})
                    lines.append("| " + " | ".join(md_cell(cell) for cell in (
                        md_text(problem), md_text(", ".join(rules)), md_text(where))) + " |")
                lines.append("")
        return "\n".join(lines)


def _ran(run: RunResult) -> dict[str, set[int]]:
    """cassette path -> the interaction indexes a report checked (a cassette that could not be read: none)."""
    return {cassette.path: {i.index for i in cassette.interactions} for cassette in run.cassettes
            if not cassette.error}


def compare_reports(baseline_report: Report, current_report: Report) -> RunComparison:
    """Regressions, fixes and unchanged findings; a finding of what the current run did not check is not run,
    never fixed; one the current run's own baseline accepted is accepted — still there, never fixed, and new only
    when ``baseline`` lacks it."""
    baseline, current = as_run(baseline_report), as_run(current_report)
    ran_before, ran_now = _ran(baseline), _ran(current)
    comparison = RunComparison()
    for cassette, indexes in sorted(ran_before.items()):
        if cassette not in ran_now:
            comparison.not_run.append((cassette, None))
        else:
            comparison.not_run += [(cassette, index) for index in sorted(indexes - ran_now[cassette])]
    missing = {cassette for cassette, index in comparison.not_run if index is None}
    skipped = {(cassette, index) for cassette, index in comparison.not_run}
    before = {key: finding for key, finding in identities_of_report(baseline).items()
              if key[0] not in missing and (key[0], key[1]) not in skipped}
    after = identities_of_report(current)
    for key in sorted(after):
        if after[key].get("accepted"):
            comparison.accepted.append((key, after[key]))
        # What the run's own baseline accepted is still new when the compared baseline lacks it: a run gated by a
        # broader baseline than the one compared with must not hide a regression.
        (comparison.unchanged if key in before else comparison.regressions).append((key, after[key]))
    comparison.fixes = [(key, before[key]) for key in sorted(before) if key not in after]
    causes_before = causes_of_report(baseline, skipped | {(c, None) for c in missing}, accepted=True)
    causes_after, causes_open = causes_of_report(current, accepted=True), causes_of_report(current)
    comparison.causes_before, comparison.causes_now = causes_before, causes_after
    comparison.accepted_causes = [(k, causes_after[k]) for k in sorted(causes_after) if k not in causes_open]
    comparison.new_causes = [(k, causes_after[k]) for k in sorted(causes_after) if k not in causes_before]
    comparison.fixed_causes = [(k, causes_before[k]) for k in sorted(causes_before) if k not in causes_after]
    return comparison
