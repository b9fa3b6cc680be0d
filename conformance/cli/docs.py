"""``conformance docs`` and ``conformance addon-path``: what the installed package carries."""

from __future__ import annotations

import click

from conformance.cli.main import main
from conformance.record.mitm import addon_path


@main.command("docs")
@click.argument("page", required=False)
@click.option("--path", "show_path", is_flag=True, help="Print where the page (or the folder) is, not the page.")
def docs_command(page: str | None, show_path: bool) -> None:
    """The documentation that ships with the package: the cassette format, the JSON report, the matrix.

    Without PAGE, the pages there are listed.
    """
    from conformance.suite.reference import doc_page, docs_folder

    if page is None:
        folder = docs_folder()
        click.echo(str(folder) if show_path else "\n".join(sorted(p.stem for p in folder.glob("*.md"))))
        return
    found = doc_page(page)
    click.echo(str(found) if show_path else found.read_text(encoding="utf-8"), nl=show_path)


@main.command("addon-path")
@click.argument("addon", type=click.Choice(["recorder", "server"]))
def addon_path_command(addon: str) -> None:
    """Where an addon is, for a mitmproxy of your own: mitmdump -s "$(conformance addon-path recorder)"."""
    click.echo(addon_path(addon))
