"""The drift between two recordings as a reader meets it: the terminal, Markdown for a pull request, JSON.

What is rendered is ``checks/drift.py``'s result (reports import no check: the
objects are read by their fields). Changes are shown per cassette, riskiest
first, one line per endpoint, kind and path with the interactions it was seen in.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from conformance.report.common import plural

__all__ = ["FORMAT", "drift_text", "drift_markdown", "drift_json", "drift_summary"]

FORMAT = "card-conformance/diff/1"
_GRADES = ("breaking", "behaviour", "additive")


def _numbers(interactions: list[int], limit: int = 6) -> str:
    shown = ", ".join(f"#{n}" for n in interactions[:limit])
    more = f" and {len(interactions) - limit} more" if len(interactions) > limit else ""
    return f"{plural(len(interactions), 'interaction')}: {shown}{more}"


def _sections(drift: Any) -> Iterable[tuple[str, list[Any]]]:
    for grade in _GRADES:
        changes = [c for c in drift.changes if c.grade == grade]
        if changes:
            yield grade, changes
    traffic = [c for c in drift.changes if not c.grade]
    if traffic:
        yield "requests (what the application asks, no grade)", traffic


def drift_summary(drifts: list[Any]) -> str:
    """One line: the changes by grade, the requests added and removed, over every cassette."""
    counts = [plural(sum(d.count(grade) for d in drifts), f"{grade} change") for grade in _GRADES]
    added = sum(1 for d in drifts for c in d.changes if c.kind == "request added")
    removed = sum(1 for d in drifts for c in d.changes if c.kind == "request removed")
    return (f"{plural(len(drifts), 'cassette')} compared: {', '.join(counts)}; "
            f"{plural(removed, 'request')} removed, {added} added")


def drift_text(drifts: list[Any], only_old: list[str], only_new: list[str]) -> str:
    """The terminal report."""
    lines: list[str] = []
    for drift in drifts:
        lines.append(f"{drift.name} ({drift.old} -> {drift.new}): {plural(drift.paired, 'request')} paired"
                     + ("" if drift.changes else ", no change"))
        for title, changes in _sections(drift):
            lines.append(f"  {title}")
            lines += [f"    {c.endpoint or '(cassette)'}  {c.kind}  {c.said()}  ({_numbers(c.interactions)})"
                      if c.grade else f"    {c.kind}  {c.endpoint}  {c.said()}" for c in changes]
        if drift.volatile:
            lines.append("  looks volatile (differed in every pair; still reported above, never silenced)")
            lines += [f"    {v.endpoint}  {v.path}  differed in all {v.pairs} pairs "
                      f"({'; '.join(_example(o, n) for o, n in v.examples)}): to compare it no more by value, add to "
                      f"the cassette's header: {v.entry}" for v in drift.volatile]
    lines += [f"only in the old recording: {name}" for name in only_old]
    lines += [f"only in the new recording: {name}" for name in only_new]
    lines.append(drift_summary(drifts))
    return "\n".join(lines)


def _example(old: Any, new: Any) -> str:
    from conformance.text import value_text

    return f"{value_text(old)} -> {value_text(new)}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def drift_markdown(drifts: list[Any], only_old: list[str], only_new: list[str]) -> str:
    """Markdown for a pull-request comment: a table per cassette, riskiest first."""
    out = ["## Cassette drift", "", drift_summary(drifts), ""]
    for drift in drifts:
        out += [f"### {_cell(drift.name)}", ""]
        if not drift.changes:
            out += [f"No change in {plural(drift.paired, 'paired request')}.", ""]
        else:
            out += ["| grade | endpoint | change | what | interactions |", "| --- | --- | --- | --- | --- |"]
            out += [f"| {c.grade or '-'} | {_cell(c.endpoint or '(cassette)')} | {c.kind} | `{_cell(c.said())}` | "
                    f"{', '.join(f'#{n}' for n in c.interactions[:10])} |" for c in drift.changes]
            out.append("")
        for v in drift.volatile:
            out += [f"- `{_cell(v.path)}` ({_cell(v.endpoint)}) looks volatile: it differed in all {v.pairs} pairs; "
                    f"to compare it no more by value: `{_cell(v.entry)}`"]
        if drift.volatile:
            out.append("")
    out += [f"- only in the old recording: {_cell(name)}" for name in only_old]
    out += [f"- only in the new recording: {_cell(name)}" for name in only_new]
    return "\n".join(out).rstrip() + "\n"


def drift_json(drifts: list[Any], only_old: list[str], only_new: list[str], fail_on: str) -> dict[str, Any]:
    """The JSON report (``card-conformance/diff/1``)."""
    return {
        "format": FORMAT,
        "fail_on": fail_on,
        "summary": {grade: sum(d.count(grade) for d in drifts) for grade in _GRADES},
        "cassettes": [{"name": d.name, "old": str(d.old), "new": str(d.new), "paired": d.paired,
                       "changes": [c.to_json() for c in d.changes],
                       "volatile": [v.to_json() for v in d.volatile]} for d in drifts],
        "only_old": only_old,
        "only_new": only_new,
    }
