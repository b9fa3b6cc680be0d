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

__all__ = ["REPORT_SCHEMA", "to_json", "write_json", "write_junit", "write_markdown", "markdown", "finding_line",
           "endpoint_table"]

REPORT_SCHEMA = "card-conformance/report/1"


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # an ordinary file, not mkstemp's private one
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
            "failures": sum(1 for f in findings if f.severity == FAILURE and not f.accepted),
            "warnings": sum(1 for f in findings if f.severity != FAILURE and not f.accepted),
            "accepted": sum(1 for f in findings if f.accepted),
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
    accepted = " (accepted by the baseline)" if getattr(finding, "accepted", False) else ""
    return f"[{finding.rule}] {where}: expected {expected}, got {actual}{accepted}"


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
            failures = [f for f in interaction.findings if f.severity == FAILURE and not f.accepted]
            warnings = [f for f in interaction.findings if f.severity != FAILURE or f.accepted]
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


def endpoint_table(result: RunResult) -> list[tuple[str, int, int, int]]:
    """(endpoint, passed, failed, warnings), sorted by endpoint."""
    table: dict[str, list[int]] = {}
    for _, interaction in result.interactions():
        row = table.setdefault(interaction.endpoint, [0, 0, 0])
        row[("passed", "failed", "warning").index(interaction.outcome)] += 1
    return [(endpoint, *row) for endpoint, row in sorted(table.items())]  # type: ignore[misc]


def markdown(result: RunResult, limit: int = 15) -> str:
    """A compact summary fit for a pull-request comment."""
    counts = result.counts()
    total = sum(counts.values())
    verdict = {0: "✅ conforms", 1: "❌ deviations found", 2: "⚠️ input errors"}[result.exit_code]
    lines = [f"### Card conformance of `{result.target}`: {verdict}", "",
             f"{total} interactions in {len(result.cassettes)} cassettes: **{counts['passed']} passed**, "
             f"**{counts['failed']} failed**, {counts['warning']} with warnings.", "",
             "| endpoint | passed | failed | warnings |", "| --- | ---: | ---: | ---: |"]
    lines += [f"| `{endpoint}` | {passed} | {failed} | {warned} |" for endpoint, passed, failed, warned in endpoint_table(result)]
    for cassette in result.input_errors:
        lines += ["", f"⚠️ `{cassette.error}`"]
    findings = [(c, i, f) for c, i in result.interactions() for f in i.findings if not f.accepted]
    findings.sort(key=lambda item: item[2].severity != FAILURE)  # failures first, in run order
    if findings:
        lines += ["", "| cassette | # | endpoint | path | rule | expected | actual |",
                  "| --- | ---: | --- | --- | --- | --- | --- |"]
        for cassette, interaction, finding in findings[:limit]:
            cells = [Path(cassette.path).name, str(interaction.index), f"`{interaction.endpoint}`",
                     f"`{finding.path or '(response)'}`", finding.rule,
                     f"`{_short(_value(finding.expected), 40)}`", f"`{_short(_value(finding.actual), 40)}`"]
            lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
        if len(findings) > limit:
            lines += ["", f"… and {len(findings) - limit} more findings (see the full report)."]
    return "\n".join(lines) + "\n"


def write_markdown(result: RunResult, path: Path) -> None:
    _atomic_write(path, markdown(result).encode())
