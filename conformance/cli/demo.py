"""``conformance demo``: the quickstart's main job."""

from __future__ import annotations

from pathlib import Path

import click

from conformance.cli.main import main


@main.command()
@click.option("--suite", type=click.Path(path_type=Path),
              help="The cassettes to replay (default: the reference suite that ships with the package).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports/demo"),
              show_default=True, help="Where the reports are written.")
def demo(suite: Path | None, out_dir: Path) -> None:
    """Replay the reference suite against a local localstripe and write the reports (needs the 'demo' extra)."""
    from rich.console import Console

    from conformance.suite.demo import run_demo
    from conformance.suite.reference import reference_suite

    result = run_demo(suite or reference_suite(), out_dir, Console(highlight=False, soft_wrap=True))
    if result.input_errors:
        raise click.ClickException("some cassettes of the suite could not be read")
