"""``conformance docs`` and ``conformance addon-path``: what the installed package carries."""

from __future__ import annotations

import click

from conformance.cli.main import Command, main
from conformance.mitm import addon_path


class DocsCommand(Command):
    """``docs --help`` lists every page the package carries, read from its docs folder when help is asked for."""

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from conformance.suite.reference import doc_pages

        with formatter.section("Pages"):
            formatter.write_dl(doc_pages())
        super().format_epilog(ctx, formatter)


@main.command("docs", cls=DocsCommand)
@click.argument("page", required=False)
@click.option("--path", "show_path", is_flag=True, help="Print where the page (or the folder) is, not the page.")
def docs_command(page: str | None, show_path: bool) -> None:
    """The manual that ships with the package: print one PAGE (below), or list them all without one."""
    from conformance.suite.reference import doc_page, doc_pages, docs_folder

    if page is None:
        if show_path:
            click.echo(str(docs_folder()))
            return
        pages = doc_pages()
        width = max(len(name) for name, _ in pages)
        click.echo("\n".join(f"{name:<{width}}  {title}" for name, title in pages))
        return
    found = doc_page(page)
    click.echo(str(found) if show_path else found.read_text(encoding="utf-8"), nl=show_path)


@main.command("addon-path")
@click.argument("addon", type=click.Choice(["recorder", "server"]))
def addon_path_command(addon: str) -> None:
    """Where an addon is, for a mitmproxy of your own: mitmdump -s "$(conformance addon-path recorder)"."""
    click.echo(addon_path(addon))
