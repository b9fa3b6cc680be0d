"""Reports of a run: JSON, JUnit XML, Markdown, HTML, the terminal, and comparing runs (baselines).

Reports read results; they never run checks. Every value in them went through redaction. The formats, with their
options and writers, are listed once in ``report/formats.py``. ``run`` and ``matrix`` import this package for
their report options, and a run writes few formats: each writer is imported when first asked for — JUnit's brings
xml.etree, HTML's Jinja2.
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported now, not on demand: ``markdown`` is also the name of its module, which would shadow the function here
# once anything imported the module (it is cheap: what a run's report needs anyway).
from conformance.report.markdown import markdown, write_markdown

__all__ = ["REPORT_SCHEMA", "to_json", "write_json", "write_junit", "write_markdown", "markdown", "write_html"]

_WHERE = {"REPORT_SCHEMA": "json_report", "to_json": "json_report", "write_json": "json_report",
          "write_junit": "junit", "write_html": "html"}


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_WHERE[name]}"), name)
