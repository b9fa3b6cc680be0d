"""A compact Markdown summary, fit for a pull-request comment."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from conformance.atomic import atomic_write
from conformance.findings import RunResult, Verdict
from conformance.report.causes import RootCause, root_causes
from conformance.report.common import md_block, md_cell, md_code, md_text, plural, value, verdict_text
from conformance.report.reproductions import Reproductions, relative_link
from conformance.rules import Outcome, Severity
from conformance.text import shorten

__all__ = ["markdown", "write_markdown"]

_MARK = {Verdict.CONFORMS: "✅", Verdict.DEVIATIONS: "❌", Verdict.INPUT_ERRORS: "⚠️"}


def _repro_cell(repros: Reproductions | None, cause: RootCause, at: Path | None) -> str:
    """`` — repro: [name.yaml](link), 3 of 16 interactions`` (``--repro-dir``), linked from where the summary is."""
    repro = (repros or {}).get(cause.key)
    if repro is None or repro.path is None:
        return ""
    link = relative_link(repro.path, at) if at is not None else repro.path.as_posix()
    return f" — repro: [{md_text(repro.path.name)}]({quote(link)}), " \
           f"{len(repro.kept)} of {repro.total} interactions"


def _reproduce_text(n: int, cause: RootCause, repros: Reproductions | None) -> str | None:
    """A cause's lines in the Reproduce block: its repro cassette's command, else its first request's curl."""
    repro = (repros or {}).get(cause.key)
    command = repro.command if repro is not None and repro.path is not None else cause.curl
    return f"# {n}. [{cause.rule}] {shorten(cause.message, 100)}\n{command}" if command else None


def markdown(result: RunResult, limit: int = 15, repros: Reproductions | None = None, at: Path | None = None,
             causes: list[RootCause] | None = None) -> str:
    """The summary; ``repros``: the causes' repro cassettes (``--repro-dir``), linked from a file written ``at``;
    ``causes``: the run's root causes when the caller has them (computed otherwise)."""
    counts = result.counts()
    total = sum(counts.values())
    verdict = result.verdict
    mark = "⚠️" if result.interrupted_by is not None else _MARK[verdict]
    lines = [f"### Card conformance of {md_code(result.target)}: {mark} {verdict_text(result)}", "",
             f"{plural(total, 'interaction')} in {plural(len(result.cassettes), 'cassette')}: "
             f"**{counts[Outcome.PASSED]} passed**, "
             f"**{counts[Outcome.FAILED]} failed**, {counts[Outcome.BLOCKED]} blocked, "
             f"{counts[Outcome.WARNING]} with warnings."
             + (f" Judged by the recordings and by the contract {md_code(result.contract)}." if result.contract else "")]
    if result.interrupted_by:
        lines += ["", "⚠️ **Interrupted**: the run was stopped early; this is what ran so far."]
    for cassette in result.input_errors:
        lines += ["", f"⚠️ {md_code(cassette.error or '')}"]
    if result.setup_error:
        lines += ["", f"⚠️ **{md_text(result.setup_error)}**"]
    if causes is None:
        causes = root_causes(result)
    if causes:
        lines += ["", "**Root causes**, one per problem, the most interactions explained first:", "",
                  "| where | rule | what | interactions | blocked by it |",
                  "| --- | --- | --- | ---: | ---: |"]
        for cause in causes[:limit]:
            first = f" (first: {md_text(Path(cause.interactions[0][0]).name)} #{cause.interactions[0][1]})" \
                if cause.interactions else ""
            cells = [", ".join(md_code(e) for e in cause.endpoints), md_text(cause.rule),
                     md_text(shorten(cause.message, 160)) + first + _repro_cell(repros, cause, at),
                     f"{cause.count} in {cause.cassettes} cassette{'s' if cause.cassettes != 1 else ''}",
                     str(cause.blocked)]
            lines.append("| " + " | ".join(md_cell(cell) for cell in cells) + " |")
        if len(causes) > limit:
            lines += ["", f"… and {plural(len(causes) - limit, 'more root cause')} (see the full report)."]
        reproduce = [text for n, cause in enumerate(causes[:limit], 1) if (text := _reproduce_text(n, cause, repros))]
        if reproduce:
            what = "each root cause's repro cassette, or its first request" if repros else "each root cause's first request"
            lines += ["", f"<details><summary>Reproduce ({what}, the key as "
                          "<code>$STRIPE_API_KEY</code>)</summary>", "", *md_block("\n".join(reproduce), "sh"), "",
                      "</details>"]
    notes = [(c, i, rule, why) for c, i in result.interactions() for rule, why in i.not_judged]
    if notes:
        lines += ["", "**Not judged** (a documented rule whose precondition did not hold; never a pass):", ""]
        lines += [f"- {md_text(Path(c.path).name)} #{i.index} {md_code(rule)}: {md_text(why)}"
                  for c, i, rule, why in notes[:limit]]
    lines += ["", "| endpoint | passed | failed | blocked | warnings |", "| --- | ---: | ---: | ---: | ---: |"]
    lines += [f"| {md_cell(md_code(endpoint))} | {row[Outcome.PASSED]} | {row[Outcome.FAILED]} | {row[Outcome.BLOCKED]} | "
              f"{row[Outcome.WARNING]} |" for endpoint, row in result.per_endpoint()]
    findings = [(c, i, f) for c, i in result.interactions() for f in i.findings
                if not f.accepted and f.consequence_of is None]
    findings.sort(key=lambda item: item[2].severity != Severity.FAILURE)  # failures first, in run order
    if findings:
        lines += ["", f"<details><summary>Findings ({len(findings)}), the symptoms under the causes</summary>", "",
                  "| cassette | # | endpoint | path | rule | expected | actual |",
                  "| --- | ---: | --- | --- | --- | --- | --- |"]
        for cassette, interaction, finding in findings[:limit]:
            cells = [md_text(Path(cassette.path).name), str(interaction.index), md_code(interaction.endpoint),
                     md_code(finding.path or "(response)"), md_text(finding.rule),
                     md_code(shorten(value(finding.expected), 40)), md_code(shorten(value(finding.actual), 40))]
            lines.append("| " + " | ".join(md_cell(cell) for cell in cells) + " |")
        if len(findings) > limit:
            lines += ["", f"… and {plural(len(findings) - limit, 'more finding')} (see the full report)."]
        lines += ["", "</details>"]
    blocked = [(c, i) for c, i in result.interactions() if i.outcome == Outcome.BLOCKED]
    if blocked:
        shown = ", ".join(f"{md_text(Path(c.path).name)} #{i.index} (by #{i.blocked_by}"
                          + (f", needs {md_code(i.blocked_id)}" if i.blocked_id else "") + ")" for c, i in blocked[:limit])
        more = f" and {len(blocked) - limit} more" if len(blocked) > limit else ""
        lines += ["", f"Blocked (their failures all follow from an earlier interaction that did not mint an id they "
                      f"use): {shown}{more}."]
    return "\n".join(lines) + "\n"


def write_markdown(result: RunResult, path: Path, repros: Reproductions | None = None,
                   causes: list[RootCause] | None = None) -> None:
    atomic_write(path, markdown(result, repros=repros, at=path, causes=causes).encode())
