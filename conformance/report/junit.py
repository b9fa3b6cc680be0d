"""JUnit XML: one testsuite per cassette, one testcase per interaction; failures carry the findings."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from conformance.atomic import atomic_write
from conformance.findings import RunResult
from conformance.report.causes import RootCause, root_causes
from conformance.report.common import finding_line
from conformance.report.reproductions import Reproductions
from conformance.rules import Outcome
from conformance.text import printable, xml_safe

__all__ = ["write_junit"]


def _repro_lines(result: RunResult, repros: Reproductions | None,
                 causes: list[RootCause] | None) -> dict[tuple[str, int], list[str]]:
    """Per (cassette, interaction): the repro cassette of each cause it shows (``--repro-dir``), as a line."""
    lines: dict[tuple[str, int], list[str]] = {}
    if not repros:
        return lines
    for cause in root_causes(result) if causes is None else causes:
        repro = repros.get(cause.key)
        if repro is not None and repro.path is not None:
            for place in cause.interactions:
                lines.setdefault(place, []).append(f"repro cassette of [{cause.rule}]: {repro.command}  # "
                                                   f"{repro.summary()}")
    return lines


def write_junit(result: RunResult, path: Path, repros: Reproductions | None = None,
                causes: list[RootCause] | None = None) -> None:
    """``causes``: the run's root causes when the caller has them (computed otherwise)."""
    repro_lines = _repro_lines(result, repros, causes)
    suites = ET.Element("testsuites", name="card-conformance", tests="0", failures="0", errors="0",
                        time=f"{result.seconds:.3f}")
    total = failed = errored = 0
    for cassette in result.cassettes:
        suite = ET.SubElement(suites, "testsuite", name=cassette.name, file=cassette.path)
        suite_failures = suite_errors = suite_skipped = 0
        if cassette.error or not cassette.interactions:
            problem = cassette.error or "; ".join(cassette.warnings) or "holds no interaction"
            case = ET.SubElement(suite, "testcase", name="(cassette)", classname=cassette.name)
            ET.SubElement(case, "error", message=problem, type="cassette").text = problem
            suite_errors += 1
        for interaction in cassette.interactions:
            name = f"#{interaction.index} {interaction.endpoint} {interaction.method} {interaction.path}"
            case = ET.SubElement(suite, "testcase", name=name, classname=cassette.name,
                                 time=f"{interaction.seconds:.3f}")
            failures = [f for f in interaction.findings if f.is_failure]
            warnings = [f for f in interaction.findings if not f.is_failure]
            if interaction.outcome == Outcome.BLOCKED:
                suite_skipped += 1
                cause = failures[0].message if failures else ""
                element = ET.SubElement(case, "skipped", message=f"blocked by #{interaction.blocked_by}: an id it uses "
                                                                 f"was never minted ({cause})")
                element.text = "\n".join(finding_line(f) for f in interaction.findings)
            elif failures:
                suite_failures += 1
                element = ET.SubElement(case, "failure", message=failures[0].message, type=failures[0].rule)
                element.text = "\n".join(finding_line(f) for f in interaction.findings) + (
                    f"\nreproduce: {interaction.curl}" if interaction.curl else "") + "".join(
                    f"\n{line}" for line in repro_lines.get((cassette.path, interaction.index), []))
            if warnings:
                ET.SubElement(case, "system-out").text = "\n".join("warning " + finding_line(f) for f in warnings)
        count = len(cassette.interactions) + (1 if cassette.error or not cassette.interactions else 0)
        suite.set("tests", str(count))
        suite.set("failures", str(suite_failures))
        suite.set("errors", str(suite_errors))
        suite.set("skipped", str(suite_skipped))
        suite.set("time", f"{sum(i.seconds for i in cassette.interactions):.3f}")
        total += count
        failed += suite_failures
        errored += suite_errors
    suites.set("tests", str(total))
    suites.set("failures", str(failed))
    suites.set("errors", str(errored))
    for element in suites.iter():  # a target's control characters would make the whole file unreadable, and its
        # bidirectional overrides reorder what a CI page shows: both shown as escapes, as every other format does
        element.text = xml_safe(printable(element.text)) if element.text else element.text
        for name, text in element.attrib.items():
            element.set(name, xml_safe(printable(text)))
    ET.indent(suites)
    atomic_write(path, ET.tostring(suites, encoding="utf-8", xml_declaration=True) + b"\n")
