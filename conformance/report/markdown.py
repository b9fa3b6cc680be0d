"""A compact Markdown summary, fit for a pull-request comment."""

from __future__ import annotations

from pathlib import Path

from conformance.atomic import atomic_write
from conformance.findings import RunResult, Verdict
from conformance.report.common import value
from conformance.rules import Outcome, Severity
from conformance.text import shorten

__all__ = ["markdown", "write_markdown"]

_MARK = {Verdict.CONFORMS: "✅", Verdict.DEVIATIONS: "❌", Verdict.INPUT_ERRORS: "⚠️"}


def markdown(result: RunResult, limit: int = 15) -> str:
    counts = result.counts()
    total = sum(counts.values())
    verdict = result.verdict
    lines = [f"### Card conformance of `{result.target}`: {_MARK[verdict]} {verdict.text}", "",
             f"{total} interactions in {len(result.cassettes)} cassettes: **{counts[Outcome.PASSED]} passed**, "
             f"**{counts[Outcome.FAILED]} failed**, {counts[Outcome.WARNING]} with warnings.", "",
             "| endpoint | passed | failed | warnings |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| `{endpoint}` | {row[Outcome.PASSED]} | {row[Outcome.FAILED]} | {row[Outcome.WARNING]} |"
              for endpoint, row in result.per_endpoint()]
    for cassette in result.input_errors:
        lines += ["", f"⚠️ `{cassette.error}`"]
    findings = [(c, i, f) for c, i in result.interactions() for f in i.findings if not f.accepted]
    findings.sort(key=lambda item: item[2].severity != Severity.FAILURE)  # failures first, in run order
    if findings:
        lines += ["", "| cassette | # | endpoint | path | rule | expected | actual |",
                  "| --- | ---: | --- | --- | --- | --- | --- |"]
        for cassette, interaction, finding in findings[:limit]:
            cells = [Path(cassette.path).name, str(interaction.index), f"`{interaction.endpoint}`",
                     f"`{finding.path or '(response)'}`", finding.rule,
                     f"`{shorten(value(finding.expected), 40)}`", f"`{shorten(value(finding.actual), 40)}`"]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        if len(findings) > limit:
            lines += ["", f"… and {len(findings) - limit} more findings (see the full report)."]
    return "\n".join(lines) + "\n"


def write_markdown(result: RunResult, path: Path) -> None:
    atomic_write(path, markdown(result).encode())
