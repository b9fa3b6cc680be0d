"""What ``conformance run`` prints: a progress bar on long runs, a diff per deviation, a summary table."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from conformance.findings import RunResult, Verdict
from conformance.report.common import finding_line
from conformance.rules import Outcome, Severity

__all__ = ["progress", "print_result"]

PROGRESS_THRESHOLD = 200  # interactions; shorter runs finish before a bar would help
MAX_FINDINGS_SHOWN = 8
MAX_INTERACTIONS_SHOWN = 30


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


def print_result(console: Console, result: RunResult) -> None:
    for cassette in result.input_errors:
        console.print(f"[red]error[/red] {escape(cassette.error or '')}")
    shown = 0
    for cassette, interaction in result.interactions():
        if all(f.accepted for f in interaction.findings):
            continue  # nothing, or only what the baseline accepts
        shown += 1
        if shown > MAX_INTERACTIONS_SHOWN:
            continue
        mark = "[red]✗[/red]" if interaction.outcome == Outcome.FAILED else "[yellow]![/yellow]"
        status = f"{interaction.status}" if interaction.actual_status in (None, interaction.status) else (
            f"{interaction.status}→{interaction.actual_status}")
        console.print(f"{mark} [bold]{escape(cassette.path)}[/bold] #{interaction.index} "
                      f"[cyan]{interaction.endpoint}[/cyan] {interaction.method} {escape(interaction.path)} ({status})")
        for finding in interaction.findings[:MAX_FINDINGS_SHOWN]:
            colour = "dim" if finding.accepted else "red" if finding.severity == Severity.FAILURE else "yellow"
            console.print(f"    [{colour}]{escape(finding_line(finding, 100))}[/{colour}]", soft_wrap=True)
        if len(interaction.findings) > MAX_FINDINGS_SHOWN:
            console.print(f"    … {len(interaction.findings) - MAX_FINDINGS_SHOWN} more (see the reports)")
    if shown > MAX_INTERACTIONS_SHOWN:
        console.print(f"… {shown - MAX_INTERACTIONS_SHOWN} more deviating interactions (see the reports)")

    per_rule: dict[str, int] = {}
    for _, interaction in result.interactions():
        for finding in interaction.findings:
            per_rule[finding.rule] = per_rule.get(finding.rule, 0) + 1
    endpoints = result.per_endpoint()
    if endpoints:
        table = Table(title=f"Conformance of {escape(result.target)}", title_justify="left")
        table.add_column("endpoint")
        table.add_column("passed", justify="right", style="green")
        table.add_column("failed", justify="right", style="red")
        table.add_column("warnings", justify="right", style="yellow")
        for endpoint, counts in endpoints:
            table.add_row(endpoint, str(counts[Outcome.PASSED]), str(counts[Outcome.FAILED]),
                          str(counts[Outcome.WARNING]))
        console.print(table)
    if per_rule:
        console.print("findings by rule: " + ", ".join(f"{rule} {count}" for rule, count in sorted(per_rule.items())))
    totals = result.counts()
    colour = "green" if result.verdict is Verdict.CONFORMS else "red"
    accepted = sum(1 for _, i in result.interactions() for f in i.findings if f.accepted)
    console.print(f"{sum(totals.values())} interactions in {len(result.cassettes)} cassettes: "
                  f"{totals[Outcome.PASSED]} passed, {totals[Outcome.FAILED]} failed, "
                  f"{totals[Outcome.WARNING]} with warnings"
                  + (f", {accepted} known deviations accepted by the baseline" if accepted else "")
                  + f" — [{colour}]{result.verdict.text}[/{colour}] ({result.seconds:.2f}s)")
