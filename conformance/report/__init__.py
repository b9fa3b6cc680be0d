"""Reports of a run: JSON, JUnit XML, Markdown, HTML, the terminal, and comparing runs (baselines).

Reports read results; they never run checks. Every value in them went through redaction. The HTML writer is
imported when first asked for (it brings Jinja2): every command imports this package, few write HTML. The
formats, with their options and writers, are listed once in ``report/formats.py``.
"""

from __future__ import annotations

from typing import Any

from conformance.report.json_report import REPORT_SCHEMA, to_json, write_json
from conformance.report.junit import write_junit
from conformance.report.markdown import markdown, write_markdown

__all__ = ["REPORT_SCHEMA", "to_json", "write_json", "write_junit", "write_markdown", "markdown", "write_html"]


def __getattr__(name: str) -> Any:
    if name == "write_html":
        from conformance.report.html import write_html

        return write_html
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
