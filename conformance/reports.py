"""Machine-readable reports of a run: JSON (stable schema, docs/report-format.md) and JUnit XML.

Reports are written to a temporary file and renamed into place, so a reader
never sees half a report. Values in them went through redaction.
"""

from __future__ import annotations

import json
import os
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from . import __version__
from .findings import FAILURE, MISSING, InteractionResult, RunResult

__all__ = ["REPORT_SCHEMA", "to_json", "write_json", "write_junit", "finding_line"]

REPORT_SCHEMA = "card-conformance/report/1"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _interaction(result: InteractionResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "index": result.index,
        "endpoint": result.endpoint,
        "method": result.method,
        "path": result.path,
        "status": result.status,
        "actual_status": result.actual_status,
        "outcome": result.outcome,
        "findings": [f.to_dict() for f in result.findings],
    }
    if result.findings and result.recorded_body is not None:
        data["recorded_body"] = result.recorded_body
    if result.findings and result.actual_body is not None:
        data["actual_body"] = result.actual_body
    return data


def to_json(result: RunResult) -> dict[str, Any]:
    counts = result.counts()
    findings = [f for _, i in result.interactions() for f in i.findings]
    return {
        "schema": REPORT_SCHEMA,
        "tool": {"name": "card-conformance", "version": __version__},
        "target": result.target,
        "seconds": round(result.seconds, 3),
        "exit_code": result.exit_code,
        "summary": {
            "cassettes": len(result.cassettes),
            "interactions": sum(counts.values()),
            **counts,
            "failures": sum(1 for f in findings if f.severity == FAILURE),
            "warnings": sum(1 for f in findings if f.severity != FAILURE),
            "input_errors": len(result.input_errors),
        },
        "cassettes": [
            {
                "path": cassette.path,
                "name": cassette.name,
                "error": cassette.error,
                "interactions": [_interaction(i) for i in cassette.interactions],
            }
            for cassette in result.cassettes
        ],
    }


def write_json(result: RunResult, path: Path) -> None:
    _atomic_write(path, (json.dumps(to_json(result), indent=2, ensure_ascii=False, default=repr) + "\n").encode())


def _value(value: Any) -> str:
    if value is MISSING:
        return "<missing>"
    return json.dumps(value, ensure_ascii=False, default=repr)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def finding_line(finding: Any, limit: int = 0) -> str:
    """One line per finding; ``limit`` shortens long values (terminal), 0 keeps them whole (reports)."""
    where = finding.path or "(response)"
    expected, actual = _value(finding.expected), _value(finding.actual)
    if limit:
        expected, actual = _short(expected, limit), _short(actual, limit)
    return f"[{finding.rule}] {where}: expected {expected}, got {actual}"


def write_junit(result: RunResult, path: Path) -> None:
    """One testsuite per cassette, one testcase per interaction; failures carry the diff text."""
    suites = ET.Element("testsuites", name="card-conformance", tests="0", failures="0", errors="0",
                        time=f"{result.seconds:.3f}")
    total = failed = errored = 0
    for cassette in result.cassettes:
        suite = ET.SubElement(suites, "testsuite", name=cassette.name, file=cassette.path)
        suite_failures = suite_errors = 0
        if cassette.error:
            case = ET.SubElement(suite, "testcase", name="(cassette)", classname=cassette.name)
            ET.SubElement(case, "error", message=cassette.error, type="cassette").text = cassette.error
            suite_errors += 1
        for interaction in cassette.interactions:
            name = f"#{interaction.index} {interaction.endpoint} {interaction.method} {interaction.path}"
            case = ET.SubElement(suite, "testcase", name=name, classname=cassette.name,
                                 time=f"{interaction.seconds:.3f}")
            failures = [f for f in interaction.findings if f.severity == FAILURE]
            warnings = [f for f in interaction.findings if f.severity != FAILURE]
            if failures:
                suite_failures += 1
                element = ET.SubElement(case, "failure", message=failures[0].message, type=failures[0].rule)
                element.text = "\n".join(finding_line(f) for f in interaction.findings)
            if warnings:
                ET.SubElement(case, "system-out").text = "\n".join("warning " + finding_line(f) for f in warnings)
        count = len(cassette.interactions) + (1 if cassette.error else 0)
        suite.set("tests", str(count))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        suite.set("skipped", "0")
        suite.set("time", f"{sum(i.seconds for i in cassette.interactions):.3f}")
        total += count
        failed += suite_failures
        errored += suite_errors
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    suites.set("errors", str(errored))
    ET.indent(suites)
    _atomic_write(path, ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n")
