"""What ``conformance run`` prints: a progress bar on long runs, a diff per deviation, a summary table."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from rich.console import Console
from rich.markup import escape as escape_markup
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from conformance.findings import CassetteResult, InteractionResult, RunResult, Verdict
from conformance.report.causes import RootCause, root_causes
from conformance.report.common import finding_line, plural, verdict_text
from conformance.report.reproductions import Reproductions
from conformance.rules import Outcome, Severity
from conformance.text import printable

__all__ = ["progress", "print_result"]

MAX_CAUSES_SHOWN = 15
MAX_WARNINGS_SHOWN = 6
MAX_MESSAGE = 220  # characters of a cause's message on the terminal (its counts always follow)
PROGRESS_THRESHOLD = 200  # interactions; shorter runs finish before a bar would help
MAX_FINDINGS_SHOWN = 8
MAX_INTERACTIONS_SHOWN = 30


def escape(text: str) -> str:
    """Text for the terminal: rich markup escaped, control characters (a target's ESC sequences) shown."""
    return escape_markup(printable(text))


def _status(interaction: InteractionResult) -> str:
    if interaction.actual_status in (None, interaction.status):
        return str(interaction.status)
    return f"{interaction.status}→{interaction.actual_status}"


def _warning_lines(causes: list[RootCause], show_all: bool) -> list[str]:
    """Warnings, one line per problem (``keys.extra`` lists its keys), the first few unless ``show_all``."""
    warnings = [c for c in causes if c.severity != Severity.FAILURE]
    return [cause.line(MAX_MESSAGE) for cause in (warnings if show_all else warnings[:MAX_WARNINGS_SHOWN])]


def _browsable(reports: Sequence[Path]) -> Path:
    """The report to read findings in: the HTML page when one is written."""
    return next((r for r in reports if r.suffix == ".html"), reports[0])


def _where_else(reports: Sequence[Path]) -> str:
    """How to see what was cut: --show-all, and a report only when one is written."""
    written = f", or see {reports[0]}" if reports else ""
    return f" (--show-all lists them{written})"


def _print_repros(console: Console, repros: Reproductions) -> None:
    """Where the repro cassettes went, and how many causes have none (each says why under it)."""
    written = [repro.path for repro in repros.values() if repro.path is not None]
    missing = len(repros) - len(written)
    if not written:
        console.print("Repro cassettes: none written (why: under each root cause)")
    elif not missing:
        console.print(f"Repro cassettes: {len(written)} written in {escape(str(written[0].parent))}, one per failing "
                      "root cause")
    else:
        console.print(f"Repro cassettes: {len(written)} written in {escape(str(written[0].parent))}; "
                      f"{plural(missing, 'root cause')} without one (why: under each)")


def _print_not_judged(console: Console, result: RunResult) -> None:
    """Documented rules whose precondition never held: said, never passed in silence."""
    notes = [(cassette, interaction, rule, why) for cassette, interaction in result.interactions()
             for rule, why in interaction.not_judged]
    if not notes:
        return
    console.print(f"[magenta]Not judged[/magenta] ({len(notes)}: a documented rule whose precondition did not hold):")
    for cassette, interaction, rule, why in notes:
        console.print(f"  [magenta]?[/magenta] {escape(cassette.path)} #{interaction.index} {escape(f'[{rule}]')} "
                      f"{escape(why)}", soft_wrap=True)


@contextlib.contextmanager
def progress(console: Console, total: int) -> Iterator[Callable[[], None]]:
    """A callback advancing a progress bar (a no-op when not on a terminal or the run is short)."""
    if not console.is_terminal or total < PROGRESS_THRESHOLD:
        yield lambda: None
        return
    bar = Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=console, transient=True)
    task = bar.add_task("replay", total=total)
    with bar:
        yield lambda: bar.advance(task)


def print_result(console: Console, result: RunResult, *, show_all: bool = False,
                 reports: Sequence[Path] = (), repros: Reproductions | None = None,
                 causes: list[RootCause] | None = None) -> None:
    """Root causes (the problems) first, then what was not judged and what was blocked; every finding of every
    interaction with ``show_all``.

    ``reports``: the files this run writes, named when the list is cut short. ``repros``: the causes' repro
    cassettes (``--repro-dir``), each printed under its cause in place of the curl line. ``causes``: the run's
    root causes when the caller has them (computed otherwise).
    """
    for cassette in result.input_errors:
        console.print(f"[red]error[/red] {escape(cassette.error or '')}")
    if result.setup_error and not show_all:  # the answers say nothing of the target: only what to do
        _print_setup_error(console, result)
        return
    for cassette in result.cassettes:
        for warning in cassette.warnings:
            console.print(f"[yellow]warning[/yellow] {escape(warning)}")
    _print_causes(console, root_causes(result) if causes is None else causes, show_all, reports, repros)
    if repros:
        _print_repros(console, repros)
    _print_not_judged(console, result)
    _print_interactions(console, result, show_all, reports)
    _print_table(console, result)
    _print_totals(console, result)


def _print_setup_error(console: Console, result: RunResult) -> None:
    """A run whose answers say nothing of the target (every key refused, HTTPS spoken to as HTTP): what it got
    and what to do, nothing else."""
    totals = result.counts()
    statuses = sorted({i.actual_status for _, i in result.interactions() if i.actual_status is not None})
    console.print(f"{plural(sum(totals.values()), 'interaction')} in {plural(len(result.cassettes), 'cassette')}, "
                  f"every answer {'/'.join(map(str, statuses))} — "
                  f"[red]{verdict_text(result)}[/red] ({result.seconds:.2f}s)")
    console.print(f"[red]Error:[/red] {escape(result.setup_error or '')}")


def _print_causes(console: Console, causes: list[RootCause], show_all: bool, reports: Sequence[Path],
                  repros: Reproductions | None) -> None:
    """The failing root causes, each with its repro cassette or curl line, then the warnings' causes."""
    if not causes:
        return
    failures = [c for c in causes if c.severity == Severity.FAILURE]
    console.print("[bold]Root causes[/bold] (the most interactions explained first):")
    for cause in failures if show_all else failures[:MAX_CAUSES_SHOWN]:
        console.print(f"  [red]✗[/red] {escape(cause.line(MAX_MESSAGE))}", soft_wrap=True)
        repro = (repros or {}).get(cause.key)
        if repro is not None and repro.path is not None:
            console.print(f"      [dim]{escape(repro.line())}[/dim]", soft_wrap=True)
        elif cause.curl:
            curl = cause.curl.replace("\n", "\n                 ")  # a probe's sequence, one command a line
            console.print(f"      [dim]reproduce: {escape(curl)}[/dim]", soft_wrap=True)
        if repro is not None and repro.path is None:
            console.print(f"      [dim]{escape(repro.line())}[/dim]", soft_wrap=True)
    if not show_all and len(failures) > MAX_CAUSES_SHOWN:
        console.print(f"  … {plural(len(failures) - MAX_CAUSES_SHOWN, 'more root cause')}{_where_else(reports)}")
    for line in _warning_lines(causes, show_all):
        console.print(f"  [yellow]![/yellow] {escape(line)}", soft_wrap=True)


def _print_interaction(console: Console, cassette: CassetteResult, interaction: InteractionResult) -> None:
    """One deviating interaction with every finding (``--show-all``), failures first, and its curl line."""
    mark = {Outcome.FAILED: "[red]✗[/red]", Outcome.BLOCKED: "[magenta]∅[/magenta]"}.get(
        interaction.outcome, "[yellow]![/yellow]")
    console.print(f"{mark} [bold]{escape(cassette.path)}[/bold] #{interaction.index} "
                  f"[cyan]{interaction.endpoint}[/cyan] {interaction.method} {escape(interaction.path)} "
                  f"({_status(interaction)})")
    ordered = sorted(interaction.findings, key=lambda f: f.severity != Severity.FAILURE)  # failures first
    for finding in ordered:
        colour = "dim" if finding.accepted or finding.consequence_of is not None else \
            "red" if finding.severity == Severity.FAILURE else "yellow"
        after = f" (follows from #{finding.consequence_of})" if finding.consequence_of is not None else ""
        console.print(f"    [{colour}]{escape(finding_line(finding, 100))}{after}[/{colour}]", soft_wrap=True)
    if interaction.curl and interaction.outcome == Outcome.FAILED:
        curl = interaction.curl.replace("\n", "\n               ")
        console.print(f"    [dim]reproduce: {escape(curl)}[/dim]", soft_wrap=True)


def _print_interactions(console: Console, result: RunResult, show_all: bool, reports: Sequence[Path]) -> None:
    """Every deviating interaction with ``show_all``; else how many deviate, warn, or are blocked (and which)."""
    shown = warned = 0
    blocked = []
    for cassette, interaction in result.interactions():
        if all(f.accepted for f in interaction.findings):
            continue  # nothing, or only what the baseline accepts
        if interaction.outcome == Outcome.BLOCKED:
            blocked.append((cassette, interaction))
            if not show_all:
                continue
        if interaction.outcome == Outcome.WARNING and not show_all:
            warned += 1  # their causes are listed above
            continue
        shown += 1
        if show_all:  # else the symptoms are one flag away: the problems above say what to fix
            _print_interaction(console, cassette, interaction)
    if shown and not show_all:
        console.print(f"{shown} interaction{'s' if shown != 1 else ''} deviate{'s' if shown == 1 else ''}: every "
                      f"finding under the root causes above is listed by --show-all"
                      + (f", or see {_browsable(reports)}" if reports else ""))
    if warned:
        console.print(f"[yellow]{warned} interaction{'s' if warned != 1 else ''} with warnings only[/yellow]"
                      f"{_where_else(reports)}")
    if blocked:
        _print_blocked(console, blocked, show_all, reports)


def _print_blocked(console: Console, blocked: list[tuple[CassetteResult, InteractionResult]], show_all: bool,
                   reports: Sequence[Path]) -> None:
    """The interactions whose failures all follow from an earlier one, and the id each needed."""
    console.print(f"[magenta]Blocked[/magenta] ({len(blocked)}: their failures all follow from an earlier "
                  "interaction that did not mint an id they use):")
    for cassette, interaction in blocked if show_all else blocked[:MAX_INTERACTIONS_SHOWN]:
        needs = f": the request needs {interaction.blocked_id}, which no answer minted" \
            if interaction.blocked_id else ""
        console.print(f"  [magenta]∅[/magenta] {escape(cassette.path)} #{interaction.index} {interaction.endpoint} "
                      f"({_status(interaction)}) blocked by #{interaction.blocked_by}{escape(needs)}")
    if not show_all and len(blocked) > MAX_INTERACTIONS_SHOWN:
        console.print(f"  … {len(blocked) - MAX_INTERACTIONS_SHOWN} more blocked{_where_else(reports)}")


def _print_table(console: Console, result: RunResult) -> None:
    """Outcomes per endpoint, then the findings per rule."""
    per_rule: dict[str, int] = {}
    for _, interaction in result.interactions():
        for finding in interaction.findings:
            per_rule[finding.rule] = per_rule.get(finding.rule, 0) + 1
    endpoints = result.per_endpoint()
    if endpoints:
        judged = f", judged also by {escape(result.contract)}" if result.contract else ""
        table = Table(title=f"Conformance of {escape(result.target)}{judged}", title_justify="left")
        table.add_column("endpoint")
        table.add_column("passed", justify="right", style="green")
        table.add_column("failed", justify="right", style="red")
        table.add_column("blocked", justify="right", style="magenta")
        table.add_column("warnings", justify="right", style="yellow")
        for endpoint, counts in endpoints:
            table.add_row(endpoint, str(counts[Outcome.PASSED]), str(counts[Outcome.FAILED]),
                          str(counts[Outcome.BLOCKED]), str(counts[Outcome.WARNING]))
        console.print(table)
    if per_rule:
        console.print("findings by rule: " + ", ".join(f"{rule} {count}" for rule, count in sorted(per_rule.items())))


def _print_totals(console: Console, result: RunResult) -> None:
    """The last line: the counts and the verdict; then whether the run was cut short or said nothing."""
    totals = result.counts()
    colour = "green" if result.verdict is Verdict.CONFORMS and result.interrupted_by is None else "red"
    accepted = sum(1 for _, i in result.interactions() for f in i.findings if f.accepted)
    console.print(f"{plural(sum(totals.values()), 'interaction')} in {plural(len(result.cassettes), 'cassette')}: "
                  f"{totals[Outcome.PASSED]} passed, {totals[Outcome.FAILED]} failed, "
                  f"{totals[Outcome.BLOCKED]} blocked, {totals[Outcome.WARNING]} with warnings"
                  + (f", {plural(accepted, 'known deviation')} accepted by the baseline" if accepted else "")
                  + f" — [{colour}]{verdict_text(result)}[/{colour}] ({result.seconds:.2f}s)")
    if result.interrupted_by:
        console.print("[red]interrupted[/red]: the run was stopped early; the figures above are what ran so far")
    if result.setup_error:
        console.print(f"[red]Error:[/red] {escape(result.setup_error)}")
