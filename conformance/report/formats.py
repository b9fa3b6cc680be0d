"""The report formats, listed once: each one's name, command-line option, file in a reports directory, label,
help, and writers — of a run's report and, where there is one, of a matrix.

``run`` and ``matrix`` take their report options from this table (``conformance.cli.options.report_options``),
``matrix --reports-dir`` and the demo write every run format from it: a format added here is an option of both
commands, a file of every reports directory, and a line of ``--help``, with nothing else to keep in step.
Writers are imported when a report is written, never for ``--help``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.findings import RunResult
    from conformance.report.causes import RootCause
    from conformance.report.reproductions import Reproductions

__all__ = ["ReportFormat", "FORMATS", "chosen", "write_reports"]

RunWriter = Callable[["RunResult", Path, "Reproductions | None", "list[RootCause] | None"], None]
MatrixWriter = Callable[[dict[str, Any], Path], None]


def _json(result: RunResult, path: Path, repros: Reproductions | None, causes: list[RootCause] | None) -> None:
    from conformance.report.json_report import write_json

    write_json(result, path, repros, causes)


def _junit(result: RunResult, path: Path, repros: Reproductions | None, causes: list[RootCause] | None) -> None:
    from conformance.report.junit import write_junit

    write_junit(result, path, repros, causes)


def _html(result: RunResult, path: Path, repros: Reproductions | None, causes: list[RootCause] | None) -> None:
    from conformance.report.html import write_html

    write_html(result, path, repros, causes)


def _markdown(result: RunResult, path: Path, repros: Reproductions | None, causes: list[RootCause] | None) -> None:
    from conformance.report.markdown import write_markdown

    write_markdown(result, path, repros, causes)


def _matrix_json(matrix: dict[str, Any], path: Path) -> None:
    from conformance.report.matrix import write_matrix_json

    write_matrix_json(matrix, path)


def _matrix_html(matrix: dict[str, Any], path: Path) -> None:
    from conformance.report.matrix_views import write_matrix_html

    write_matrix_html(matrix, path)


def _matrix_markdown(matrix: dict[str, Any], path: Path) -> None:
    from conformance.report.matrix_views import write_matrix_markdown

    write_matrix_markdown(matrix, path)


@dataclass(frozen=True)
class ReportFormat:
    """One format: ``option`` is its command-line option in ``run`` (and ``matrix``, when ``matrix_writer`` is
    set), ``file_name`` its file in a reports directory, ``label`` what ``run`` prints before the path written."""

    name: str
    option: str
    file_name: str
    label: str
    help: str
    writer: RunWriter
    matrix_help: str | None = None
    matrix_writer: MatrixWriter | None = None

    def write(self, result: RunResult, path: Path, *, repros: Reproductions | None = None,
              causes: list[RootCause] | None = None) -> None:
        """A run's report in this format (``causes``: the run's root causes, computed once by the caller)."""
        self.writer(result, path, repros, causes)


FORMATS: tuple[ReportFormat, ...] = (
    ReportFormat("json", "--json-report", "report.json", "JSON report", "Write the JSON report here.", _json,
                 "Write the matrix as JSON (what `compare` reads) here.", _matrix_json),
    ReportFormat("junit", "--junit-xml", "junit.xml", "JUnit XML", "Write JUnit XML here.", _junit),
    ReportFormat("html", "--html-report", "report.html", "HTML report", "Write a self-contained HTML report here.",
                 _html, "Write it as one self-contained HTML page here.", _matrix_html),
    ReportFormat("markdown", "--markdown-report", "summary.md", "Markdown",
                 "Write a Markdown summary (for a pull-request comment) here.", _markdown,
                 "Write it as Markdown here.", _matrix_markdown),
)


def chosen(paths: Mapping[str, Path | None], matrix: bool = False) -> list[tuple[ReportFormat, Path]]:
    """The formats given a path (``paths``: format name -> path or None), in the table's order; ``matrix``: only
    those a matrix is written in."""
    return [(fmt, path) for fmt in FORMATS if (path := paths.get(fmt.name)) is not None
            and (not matrix or fmt.matrix_writer is not None)]


def write_reports(result: RunResult, written: Iterable[tuple[ReportFormat, Path]], *,
                  repros: Reproductions | None = None, causes: list[RootCause] | None = None) -> None:
    """Every chosen report of a run, from one computation of its root causes."""
    from conformance.report.causes import root_causes

    if causes is None:
        causes = root_causes(result)
    for fmt, path in written:
        fmt.write(result, path, repros=repros, causes=causes)
