"""Where the installed package keeps what a checkout has at its top: the reference suite and the documentation.

Both ship inside the package (``pyproject.toml`` maps ``cassettes/`` and ``docs/``
to ``conformance.reference`` and ``conformance.docs``), so ``conformance demo``,
``run --suite`` and ``conformance docs`` work from an installed wheel; in a
checkout (an editable install) they are the checkout's own folders.
"""

from __future__ import annotations

from pathlib import Path

from conformance.errors import ConformanceError

__all__ = ["reference_suite", "docs_folder", "doc_page", "doc_pages", "DOC_PAGES"]


def _folder(installed: str, checkout: str, what: str) -> Path:
    """``conformance/<installed>`` in a wheel's installation; the checkout's ``<checkout>/`` in an editable one."""
    package = Path(__file__).resolve().parents[1]
    if (package / installed).is_dir():
        return package / installed
    root = package.parent
    if (root / checkout).is_dir() and (root / "pyproject.toml").is_file():
        return root / checkout
    raise ConformanceError(f"this installation of card-conformance has no {what}: reinstall it from its wheel or a "
                           "checkout of the project")


def reference_suite() -> Path:
    """The reference suite's folder (the checkout's ``cassettes/``), relative to the working directory when it is
    below it: reports then name ``cassettes/cards-list.yaml``, not a path of this machine."""
    folder = _folder("reference", "cassettes", "reference suite")
    try:
        return folder.relative_to(Path.cwd().resolve())
    except ValueError:
        return folder


def docs_folder() -> Path:
    """The documentation's folder (the checkout's ``docs/``)."""
    return _folder("docs", "docs", "documentation")


DOC_PAGES = ("cassette-format", "report-format", "matrix-format")  # the pages files the tool writes name


def doc_pages() -> list[tuple[str, str]]:
    """Every page of the documentation as (name, title), read from the folder: a page added is listed with no
    list to keep in step."""
    pages = []
    for page in sorted(docs_folder().glob("*.md"), key=lambda path: path.stem):
        with open(page, encoding="utf-8") as stream:
            first = stream.readline().strip()
        pages.append((page.stem, first.lstrip("#").strip().replace("`", "")))
    return pages


def doc_page(name: str) -> Path:
    """A page of the documentation by its name (``cassette-format``)."""
    page = docs_folder() / f"{name.removesuffix('.md')}.md"
    if not page.is_file():
        known = [name for name, _ in doc_pages()]
        raise ConformanceError(f"no documentation page {name!r} (pages: {', '.join(known)})")
    return page
