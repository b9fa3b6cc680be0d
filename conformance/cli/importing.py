"""``conformance import``: recordings of other tools into cassettes."""

from __future__ import annotations

import re
from pathlib import Path

import click

from conformance.cli.main import (
    InputError,
    api_option,
    api_profile,
    main,
)
from conformance.redaction import Redactor


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory of the cassettes written, one per file, named after it.")
@click.option("--record-paths", default=r"^/v1/", show_default=True, metavar="REGEX",
              help="Only exchanges whose path matches are imported.")
@click.option("--all-paths", is_flag=True, help="Import every exchange, whatever its path.")
@click.option("--overwrite", is_flag=True, help="Replace cassettes that already exist in --out.")
@api_option
def import_command(files: tuple[Path, ...], out_dir: Path, record_paths: str, all_paths: bool,
                   overwrite: bool, api_name: str) -> None:
    """Convert recordings of other tools into cassettes: VCR.py / pytest-recording (YAML or JSON), Ruby VCR,
    HAR 1.2 (browsers, mitmproxy's hardump, Schemathesis), mitmproxy flow files (mitmdump -w).

    Secrets are redacted as the recorder redacts them; only /v1/ traffic is kept unless told otherwise.
    """
    from conformance.record.importing import cassette_names, import_recording

    api = api_profile(api_name)
    try:
        re.compile(record_paths)
    except re.error as error:
        raise InputError(f"invalid regular expression {record_paths!r}: {error}") from None
    if len(set(files)) != len(files):
        raise click.UsageError("a file is given twice")
    names = cassette_names(list(files))
    if not overwrite:
        for file in files:
            target = out_dir / f"{names[file]}.yaml"
            if target.is_file() and target.stat().st_size:
                raise InputError(f"{target} exists; pass --overwrite to replace it")
    redactor = Redactor(cards=api.cards)
    total = 0
    for file in files:
        result = import_recording(file, out_dir, paths=".*" if all_paths else record_paths,
                                  mode="overwrite" if overwrite else "new", redactor=redactor, name=names[file],
                                  profile=api)
        total += result.imported
        skipped = f"; {len(result.skipped)} left out (not matching {record_paths!r})" if result.skipped else ""
        refused = f"; {len(result.refused)} not written (no cassette can hold them)" if result.refused else ""
        written = f"into {result.cassette}" if result.imported else "(nothing written)"
        for why in result.refused:
            click.echo(f"warning: {file}: not written: {why}", err=True)
        click.echo(f"{file} ({result.format}): {result.imported} interaction{'s' if result.imported != 1 else ''} "
                   f"{written}{skipped}{refused}")
    if not total:
        raise InputError("nothing was imported: no exchange matched; pass --all-paths to import every path")
