"""``conformance check``: cassettes linted, and judged by the documented rules and the contract."""

from __future__ import annotations

from pathlib import Path

import click

from conformance.cli.main import (
    OPENAPI_HELP,
    InputError,
    api_option,
    api_profile,
    cassette_files,
    contract_of,
    main,
)
from conformance.errors import CassetteError
from conformance.redaction import Redactor


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--openapi", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC", help=OPENAPI_HELP)
@click.option("--strict", is_flag=True,
              help="Fail (exit 1) on what is otherwise a warning: every weak-reference warning (a route the API "
                   "documents that the upstream lacked, a test card or token it refused, a documented rule its "
                   "answers broke, a test card answered as another brand or funding) and, with --openapi, keys the "
                   "contract does not list; with --max-age, answers older than it or of no known age.")
@click.option("--max-age", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="Warn on cassettes holding answers recorded more than DAYS days ago (each interaction's "
                   "recorded_at), or of no known age (recorded before it was kept); --strict fails them.")
@api_option
def check(paths: tuple[Path, ...], openapi: Path | None, strict: bool, max_age: float | None, api_name: str) -> None:
    """Lint cassettes: format, no secret, every request replayable; judge the recording by what the tool knows of
    the API (a weak reference: missing routes, refused test cards, documented rules broken, test cards answered
    as other cards), and with --openapi every recorded response as the published contract describes it.

    Exit code 0: clean (warnings allowed); 1: problems found (with --strict, any weak-reference warning and any
    answer older than --max-age too);
    2: a cassette or the spec could not be read.
    """
    from conformance.cassette import count_interactions
    from conformance.checks.lint import check_cassette
    from conformance.checks.weak import weak_summary
    from conformance.report.common import plural
    from conformance.text import printable

    api = api_profile(api_name)
    cassettes = cassette_files(paths)
    contract = contract_of(openapi, api)
    problems = warnings = unreadable = interactions = weak_references = 0
    redactor = Redactor(cards=api.cards)
    for path in cassettes:
        try:
            found = check_cassette(path, api, redactor, contract, strict, max_age)
        except CassetteError as error:
            unreadable += 1
            click.echo(str(error))
            continue
        count = count_interactions(path)
        interactions += count
        if not count:
            click.echo(f"warning: {path}: holds no interaction: nothing in it was checked")
        warnings += sum(problem.warning for problem in found)
        problems += sum(not problem.warning for problem in found)
        for problem in found:
            click.echo(printable(str(problem)))
        weak = [problem.weak for problem in found if problem.weak]
        if weak:
            weak_references += 1
            click.echo(printable(f"{path}: a weak reference: its upstream answered what the API does not "
                                 f"({weak_summary(weak)}); replayed, it holds every target to those answers — record "
                                 "it again from the API's own test mode"
                                 + (" (--strict fails it)" if not strict else "")))
    against = f" against {contract.name}" if contract is not None else ""
    click.echo(f"{plural(len(cassettes), 'cassette')} checked{against}: {plural(problems, 'problem')}, "
               + (f"{plural(warnings, 'warning')}, " if warnings else "")
               + f"{unreadable} unreadable"
               + (f"; {weak_references} {'is a weak reference' if weak_references == 1 else 'are weak references'}"
                  if weak_references else ""))
    if not unreadable and not interactions:
        raise InputError(f"no interactions to check in {', '.join(map(str, paths))}: every cassette is empty")
    raise SystemExit(2 if unreadable else 1 if problems else 0)
