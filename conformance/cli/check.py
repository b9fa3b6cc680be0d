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
@click.option("--strict", is_flag=True, help="Keys the OpenAPI description does not list are problems, not warnings.")
@api_option
def check(paths: tuple[Path, ...], openapi: Path | None, strict: bool, api_name: str) -> None:
    """Lint cassettes: format, no secret, every request replayable, and with --openapi every recorded
    response as the published contract describes it.

    Exit code 0: clean (warnings allowed); 1: problems found; 2: a cassette or the spec could not be read.
    """
    from conformance.cassette import count_interactions
    from conformance.checks.lint import check_cassette

    api = api_profile(api_name)
    cassettes = cassette_files(paths)
    contract = contract_of(openapi, api)
    problems = warnings = unreadable = interactions = 0
    redactor = Redactor(cards=api.cards)
    for path in cassettes:
        try:
            found = check_cassette(path, api, redactor, contract, strict)
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
            click.echo(str(problem))
    against = f" against {contract.name}" if contract is not None else ""
    click.echo(f"{len(cassettes)} cassette{'s' if len(cassettes) != 1 else ''} checked{against}: "
               f"{problems} problem{'s' if problems != 1 else ''}, "
               + (f"{warnings} warning{'s' if warnings != 1 else ''}, " if warnings else "")
               + f"{unreadable} unreadable")
    if not unreadable and not interactions:
        raise InputError(f"no interactions to check in {', '.join(map(str, paths))}: every cassette is empty")
    raise SystemExit(2 if unreadable else 1 if problems else 0)
