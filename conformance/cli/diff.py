"""``conformance diff``: two recordings of the same traffic compared, each change graded by risk for a consumer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from conformance.cli.main import InputError, api_option, api_profile, main

FAIL_ON = ("additive", "behaviour", "breaking")


def _cassettes(path: Path, profile: Any) -> list[Any]:
    """The cassettes of a file or directory, read (a CassetteError is one line, exit 2)."""
    from conformance.cassette import find_cassettes, load

    found = find_cassettes([path])
    if not found:
        raise InputError(f"no cassettes (*.yaml, *.yml) in {path}")
    return [load(one, profile) for one in found]


def compare_recordings(old_path: Path, new_path: Path, api_name: str) -> tuple[list[Any], list[str], list[str]]:
    """The drift of every cassette the two sides share (two files: each other's, whatever their names)."""
    from conformance.checks.compare import CompareRules
    from conformance.checks.drift import drifts
    from conformance.replay.binding import IdBindings

    profile = api_profile(api_name)
    old, new = _cassettes(old_path, profile), _cassettes(new_path, profile)
    if old_path.is_file() and new_path.is_file():
        new[0].name = old[0].name  # two files are paired whatever their names
    found, only_old, only_new = drifts(old, new, profile, CompareRules(), lambda: IdBindings(profile.ids))
    if not found:
        raise InputError(f"{old_path} and {new_path} share no cassette name: nothing to compare "
                         f"(old: {', '.join(c.name for c in old)}; new: {', '.join(c.name for c in new)})")
    return found, [c.name for c in only_old], [c.name for c in only_new]


def _write(path: Path, text: str) -> None:
    from conformance.atomic import atomic_write

    try:
        atomic_write(path, text.encode("utf-8"))
    except OSError as error:
        raise InputError(f"cannot write {path}: {error.strerror or error}") from None


@main.command()
@click.argument("old", type=click.Path(exists=True, path_type=Path))
@click.argument("new", type=click.Path(exists=True, path_type=Path))
@click.option("--fail-on", type=click.Choice(FAIL_ON), default="breaking", show_default=True,
              help="Exit 1 on changes of this grade or riskier (breaking: a key removed, a type or status changed; "
                   "behaviour: a value compared exactly changed; additive: a key added).")
@click.option("--markdown", "markdown_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the report as Markdown (a pull-request comment).")
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Also write the report as JSON (card-conformance/diff/1).")
@api_option
def diff(old: Path, new: Path, fail_on: str, markdown_path: Path | None, json_path: Path | None,
         api_name: str) -> None:
    """Compare two recordings of the same traffic (files, or directories paired by cassette name) with run's
    comparison: ids bound between them, minted values by shape, lists as lists. Each change is graded breaking,
    behaviour or additive; paths that differ in every pair are named as looking volatile, with the compare: entry
    that would silence them.

    Exit code 0: nothing at --fail-on's grade or riskier; 1: such changes; 2: a cassette could not be read, or
    the two share no request.
    """
    from conformance.atomic import check_writable
    from conformance.report.drift import drift_json, drift_markdown, drift_text
    from conformance.text import printable

    for report in (markdown_path, json_path):
        if report is not None:
            check_writable(report)  # before the comparison: a report that cannot be written is said first
    found, only_old, only_new = compare_recordings(old, new, api_name)
    click.echo(printable(drift_text(found, only_old, only_new)))
    if markdown_path is not None:
        _write(markdown_path, drift_markdown(found, only_old, only_new))
    if json_path is not None:
        _write(json_path, json.dumps(drift_json(found, only_old, only_new, fail_on), indent=2, ensure_ascii=False,
                                     default=repr) + "\n")
    from conformance.checks.drift import grade_reached

    raise SystemExit(1 if grade_reached(found, fail_on) else 0)
