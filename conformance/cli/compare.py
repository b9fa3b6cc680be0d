"""``conformance compare``: two runs, or two matrices — what regressed, what got fixed."""

from __future__ import annotations

import json
from pathlib import Path

import click

from conformance.cli.main import (
    InputError,
    main,
)
from conformance.report.baseline import read_report


@main.command("compare")
@click.argument("baseline", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("current", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--markdown", "markdown_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as Markdown.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as JSON.")
@click.option("--allow-missing", is_flag=True,
              help="Cassettes or interactions of the baseline that the current run did not check do not fail it.")
def compare_command(baseline: Path, current: Path, markdown_out: Path | None, json_out: Path | None,
                    allow_missing: bool) -> None:
    """Compare two JSON reports: regressions (new failures), fixes (gone) and unchanged ones. Given two matrices
    (`conformance matrix --json-report`), per target: what newly broke, what got fixed, what is newly covered.

    Exit code 1 when there is a regression, or when the current run left out cassettes or interactions the
    baseline checked (unless --allow-missing).
    """
    import json

    from conformance.report.baseline import compare_reports, interactions_text
    from conformance.report.json_report import READABLE_SCHEMAS
    from conformance.report.matrix import MATRIX_SCHEMA, read_matrix

    kinds = [_schema_of(baseline) == MATRIX_SCHEMA, _schema_of(current) == MATRIX_SCHEMA]
    if any(kinds):
        if not all(kinds):
            matrix, other = (baseline, current) if kinds[0] else (current, baseline)
            if _schema_of(other) in READABLE_SCHEMAS:
                raise InputError(f"{matrix} is a matrix and {other} a run's report: compare a matrix with a matrix, "
                                 "a report with a report")
            read_matrix(other)  # says what is wrong with it: missing, not JSON, another schema
        _compare_matrices(baseline, current, markdown_out, json_out)

    comparison = compare_reports(read_report(baseline), read_report(current))
    for fixed, colour in ((False, "red"), (True, "green")):
        for cause, state, items in comparison.grouped(fixed):
            if cause is None:  # findings no root cause of the report names: each on its own
                for key, finding in items:
                    click.secho(f"{'fixed' if fixed else 'regression'}: {key[0]} #{key[1]} "
                                f"{finding.get('endpoint') or ''} {key[2] or '(response)'} [{key[3]}]", fg=colour)
                continue
            title = {"new": "new root cause", "fixed": "fixed root cause",
                     "more": "regression in a known root cause", "fewer": "fixed in a known root cause"}[state]
            count = f"{cause.count} interaction{'s' if cause.count != 1 else ''}"
            which = {"new": f"{count}: ", "fixed": f"{count}: ", "more": f"{count} now; newly failing: ",
                     "fewer": f"{count} before; passing now: "}[state]
            where = interactions_text([(key[0], key[1]) for key, _ in items] or cause.interactions)
            click.secho(f"{title}: {', '.join(cause.endpoints)} [{cause.rule}] {cause.message} ({which}{where})",
                        fg=colour)
    for cassette, index in comparison.not_run:
        click.secho(f"not run: {cassette}" + (f" #{index}" if index is not None else " (the whole cassette)"),
                    fg="yellow")
    click.echo(f"{len(comparison.regressions)} regressions ({len(comparison.new_causes)} new root causes), "
               f"{len(comparison.fixes)} fixed ({len(comparison.fixed_causes)} root causes), "
               f"{len(comparison.unchanged)} unchanged" + (f", {len(comparison.not_run)} not run" if comparison.not_run
                                                           else ""))
    if markdown_out:
        markdown_out.write_text(comparison.markdown(), encoding="utf-8")
    if json_out:
        json_out.write_text(json.dumps(comparison.to_json(), indent=2) + "\n", encoding="utf-8")
    raise SystemExit(1 if comparison.regressions or (comparison.not_run and not allow_missing) else 0)


def _schema_of(path: Path) -> object:
    """A JSON document's ``schema``, or None (the reader of its kind then says what is wrong with it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("schema") if isinstance(data, dict) else None


def _compare_matrices(baseline: Path, current: Path, markdown_out: Path | None, json_out: Path | None) -> None:
    from conformance.report.matrix import compare_matrices, read_matrix

    comparison = compare_matrices(read_matrix(baseline), read_matrix(current))
    colours = {"newly broken": "red", "fixed": "green", "newly covered": "cyan", "newly known": "yellow",
               "no longer judged": "yellow"}
    for title, items in comparison.sections():
        for target, row, detail in items:
            click.secho(f"{title}: {target} · {row} — {detail}", fg=colours[title])
    for title, names in (("target added", comparison.targets_added), ("target gone", comparison.targets_gone)):
        for name in names:
            click.secho(f"{title}: {name}", fg="yellow")
    click.echo(", ".join(f"{len(items)} {title}" for title, items in comparison.sections()))
    if markdown_out:
        markdown_out.write_text(comparison.markdown(), encoding="utf-8")
    if json_out:
        json_out.write_text(json.dumps(comparison.to_json(), indent=2) + "\n", encoding="utf-8")
    raise SystemExit(comparison.exit_code)
