"""Reports of a run: JSON, JUnit XML, Markdown, HTML, the terminal, and comparing runs (baselines).

Reports read results; they never run checks. Every value in them went through redaction.
"""

from conformance.report.html import write_html
from conformance.report.json_report import REPORT_SCHEMA, to_json, write_json
from conformance.report.junit import write_junit
from conformance.report.markdown import markdown, write_markdown

__all__ = ["REPORT_SCHEMA", "to_json", "write_json", "write_junit", "write_markdown", "markdown", "write_html",
           "WRITERS"]

# (file name in a report directory, writer, label) of every file format.
WRITERS = (
    ("report.json", write_json, "JSON report"),
    ("junit.xml", write_junit, "JUnit XML"),
    ("report.html", write_html, "HTML report"),
    ("summary.md", write_markdown, "Markdown"),
)
