"""``conformance matrix-history``: several matrices over time, one page of scores and of what broke and got fixed."""

from __future__ import annotations

from pathlib import Path

import click

from conformance.atomic import check_writable
from conformance.cli.main import InputError, main


def _labels(paths: tuple[Path, ...]) -> list[str]:
    """Each matrix's column label: its file name without .json, its folder's name too when two names clash."""
    stems = [path.name.removesuffix(".json") for path in paths]
    return [f"{path.parent.name}/{stem}" if stems.count(stem) > 1 else stem for path, stem in zip(paths, stems)]


@main.command("matrix-history")
@click.argument("matrices", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--json-report", type=click.Path(dir_okay=False, path_type=Path), help="Write the history as JSON here.")
@click.option("--markdown-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it as Markdown here.")
@click.option("--html-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it as one self-contained HTML page here.")
def matrix_history_command(matrices: tuple[Path, ...], json_report: Path | None, markdown_report: Path | None,
                           html_report: Path | None) -> None:
    """Several matrices' JSON (`conformance matrix --json-report`), oldest first, as one history: each target's
    score per run, the interop score, and each behaviour that broke or was fixed, with when.

    \b
        conformance matrix-history m-1.4.json m-1.5.json m-1.6.json --html-report history.html

    Each column is named after its file (m-1.5). Exit code 0; 2 when a file is not a matrix.
    """
    from rich.console import Console

    from conformance.report.history import build_history, write_history_json
    from conformance.report.history_views import print_history, write_history_html, write_history_markdown
    from conformance.report.matrix import read_matrix

    outputs = [(path, writer) for path, writer in ((json_report, write_history_json),
                                                   (markdown_report, write_history_markdown),
                                                   (html_report, write_history_html)) if path]
    for path, _ in outputs:
        check_writable(path)
        if any(path.resolve() == given.resolve() for given in matrices):
            raise InputError(f"{path} is one of the matrices read: write the history elsewhere")
    history = build_history([(label, read_matrix(path)) for label, path in zip(_labels(matrices), matrices)])
    console = Console(highlight=False, soft_wrap=True)
    print_history(console, history)
    for path, writer in outputs:
        writer(history, path)
        console.print(f"History: {path}", markup=False)
