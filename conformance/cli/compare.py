"""``conformance compare``: two runs, or two matrices — what regressed, what got fixed."""

from __future__ import annotations

import json
from pathlib import Path

import click

from conformance.atomic import atomic_write, check_writable
from conformance.cli.main import (
    InputError,
    api_option,
    api_profile,
    main,
)
from conformance.report.baseline import read_report
from conformance.text import printable


@main.command("compare")
@click.argument("baseline", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("current", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--markdown", "markdown_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as Markdown.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as JSON.")
@click.option("--allow-missing", is_flag=True,
              help="Cassettes or interactions of the baseline that the current run did not check do not fail it.")
@api_option
def compare_command(baseline: Path, current: Path, markdown_out: Path | None, json_out: Path | None,
                    allow_missing: bool, api_name: str) -> None:
    """Compare two JSON reports: regressions (new failures), fixes (gone) and unchanged ones. Given two matrices
    (`conformance matrix --json-report`), per target: what newly broke, what got fixed, what is newly covered.

    Exit code 1 when there is a regression, or when the current run left out cassettes or interactions the
    baseline checked (unless --allow-missing).
    """
    import json

    from conformance.report.baseline import compare_reports, interactions_text
    from conformance.report.common import plural
    from conformance.report.json_report import READABLE_SCHEMAS
    from conformance.report.matrix import MATRIX_SCHEMAS, read_matrix

    _check_outputs((baseline, current), (markdown_out, json_out))
    api_profile(api_name)  # its rules: a report names them by id, and groups its findings by what they mean
    kinds = [_schema_of(baseline) in MATRIX_SCHEMAS, _schema_of(current) in MATRIX_SCHEMAS]
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
                    _say(f"{'fixed' if fixed else 'regression'}: {key[0]} #{key[1]} "
                         f"{finding.get('endpoint') or ''} {key[2] or '(response)'} [{key[3]}]", colour)
                continue
            title = {"new": "new root cause", "fixed": "fixed root cause",
                     "more": "regression in a known root cause", "fewer": "fixed in a known root cause"}[state]
            count = plural(cause.count, "interaction")
            which = {"new": f"{count}: ", "fixed": f"{count}: ", "more": f"{count} now; newly failing: ",
                     "fewer": f"{count} before; passing now: "}[state]
            where = interactions_text([(key[0], key[1]) for key, _ in items] or cause.interactions)
            _say(f"{title}: {', '.join(cause.endpoints)} [{cause.rule}] {cause.message} ({which}{where})",
                 colour)
    for _, cause in comparison.accepted_causes:
        _say(f"accepted: {', '.join(cause.endpoints)} [{cause.rule}] {cause.message} "
             f"({plural(cause.count, 'interaction')}: {interactions_text(cause.interactions)}; the run's baseline "
             "accepts it: still there, not fixed)", "yellow")
    for cassette, index in comparison.not_run:
        _say(f"not run: {cassette}" + (f" #{index}" if index is not None else " (the whole cassette)"), "yellow")
    _say(comparison.summary())
    _write(markdown_out, comparison.markdown())
    _write(json_out, json.dumps(comparison.to_json(), indent=2, ensure_ascii=False) + "\n")
    raise SystemExit(1 if comparison.regressions or (comparison.not_run and not allow_missing) else 0)


def _say(text: str, colour: str | None = None) -> None:
    """A line of the comparison: a report's text (a target's words) shown, never obeyed by the terminal."""
    click.secho(printable(text), fg=colour)


def _write(path: Path | None, text: str) -> None:
    if path is not None:
        atomic_write(path, text.encode("utf-8"))


def _check_outputs(inputs: tuple[Path, ...], outputs: tuple[Path | None, ...]) -> None:
    """Before reading anything: each output writable, none an input nor another output."""
    written = [path for path in outputs if path is not None]
    for path in written:
        check_writable(path)
        if any(path.resolve() == given.resolve() for given in inputs):
            raise InputError(f"{path} is one of the documents compared: write the comparison elsewhere")
    if len({path.resolve() for path in written}) < len(written):
        raise InputError(f"--markdown and --json name one file ({written[0]}): give each its own")


def _schema_of(path: Path) -> object:
    """A JSON document's ``schema``, or None (the reader of its kind then says what is wrong with it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError):
        return None
    return data.get("schema") if isinstance(data, dict) else None


def _compare_matrices(baseline: Path, current: Path, markdown_out: Path | None, json_out: Path | None) -> None:
    from conformance.report.matrix import compare_matrices, read_matrix

    comparison = compare_matrices(read_matrix(baseline), read_matrix(current))
    colours = {"newly broken": "red", "fixed": "green", "newly covered": "cyan", "newly known": "yellow",
               "no longer judged": "yellow"}
    for title, items in comparison.sections():
        for target, row, detail in items:
            _say(f"{title}: {target} · {row} — {detail}", colours[title])
    for title, names in (("target added", comparison.targets_added), ("target gone", comparison.targets_gone)):
        for name in names:
            _say(f"{title}: {name}", "yellow")
    _say(", ".join(f"{len(items)} {title}" for title, items in comparison.sections()))
    _write(markdown_out, comparison.markdown())
    _write(json_out, json.dumps(comparison.to_json(), indent=2, ensure_ascii=False) + "\n")
    raise SystemExit(comparison.exit_code)
