"""The JSON report: a stable schema (``docs/report-format.md``) for machines, baselines and ``compare``.

Values in it went through redaction; it is written atomically.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.atomic import atomic_write
from conformance.findings import InteractionResult, RunResult
from conformance.report.accepted import accepted_causes
from conformance.report.causes import RootCause, root_causes
from conformance.report.reproductions import Reproductions
from conformance.rules import Severity

__all__ = ["REPORT_SCHEMA", "READABLE_SCHEMAS", "READ_SHAPE", "to_json", "write_json"]

REPORT_SCHEMA = "card-conformance/report/3"
READABLE_SCHEMAS = ("card-conformance/report/1", "card-conformance/report/2", REPORT_SCHEMA)  # what baselines and `compare` read

_TEXT_OR_NULL = {"type": ["string", "null"]}
_INDEX = {"type": "integer", "minimum": 0}
# The parts of a report a baseline and `compare` read, as JSON Schema: a report of any readable schema that is
# not of this shape is refused in one line (what is wrong, and where), never read half-way.
READ_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "cassettes"],
    "properties": {"cassettes": {"type": "array", "items": {
        "type": "object",
        "required": ["path"],
        "properties": {
            "path": {"type": "string"},
            "error": _TEXT_OR_NULL,
            "interactions": {"type": "array", "items": {
                "type": "object",
                "required": ["index"],
                "properties": {
                    "index": _INDEX, "endpoint": _TEXT_OR_NULL, "method": {"type": "string"},
                    "path": {"type": "string"}, "status": {"type": ["integer", "null"]},
                    "outcome": {"type": "string"}, "blocked_by": {"type": ["integer", "null"]},
                    "curl": _TEXT_OR_NULL,
                    "findings": {"type": "array", "items": {
                        "type": "object",
                        "required": ["rule", "path"],
                        "properties": {
                            "rule": {"type": "string"}, "path": {"type": "string"}, "message": {"type": "string"},
                            "severity": {"type": "string"}, "accepted": {"type": "boolean"},
                            "kind": _TEXT_OR_NULL, "key_path": _TEXT_OR_NULL, "problem": _TEXT_OR_NULL,
                            "consequence_of": {"type": ["integer", "null"]},
                        },
                    }},
                },
            }},
        },
    }}},
}

def _interaction(result: InteractionResult) -> dict[str, Any]:
    data: dict[str, Any] = {
        "index": result.index,
        "endpoint": result.endpoint,
        "method": result.method,
        "path": result.path,
        "status": result.status,
        "actual_status": result.actual_status,
        "outcome": str(result.outcome),
        # the earlier interaction whose failure left unbound an id this one needed (its request, or what some
        # findings are about: those carry consequence_of)
        "blocked_by": result.blocked_by,
        "blocked_id": result.blocked_id,
        "findings": [f.to_dict() for f in result.findings],
    }
    if result.not_judged:
        data["not_judged"] = [{"rule": rule, "reason": why} for rule, why in result.not_judged]
    if result.judged:
        data["judged"] = result.judged
    if result.covers:
        data["covers"] = result.covers
    if result.curl:
        data["curl"] = result.curl
    if result.findings and result.recorded_body is not None:
        data["recorded_body"] = result.recorded_body
    if result.findings and result.actual_body is not None:
        data["actual_body"] = result.actual_body
    return data

def _causes(result: RunResult, repros: Reproductions | None = None) -> list[dict[str, Any]]:
    """The run's root causes, then those a baseline accepts whole, marked ``accepted``: kept, so that a report
    compared with its baseline tells them as accepted, never as fixed. With ``repros`` (``--repro-dir``), a
    failing cause carries ``repro``: its repro cassette, or why there is none."""
    open_causes = root_causes(result)

    def entry(cause: RootCause, accepted: bool) -> dict[str, Any]:
        repro = repros.get(cause.key) if repros and not accepted else None
        return {**cause.to_dict(), "accepted": accepted, **({"repro": repro.to_dict()} if repro else {})}

    return [*(entry(c, False) for c in open_causes),
            *(entry(c, True) for c in accepted_causes(result, open_causes))]


def to_json(result: RunResult, repros: Reproductions | None = None) -> dict[str, Any]:
    counts = result.counts()
    findings = [f for _, i in result.interactions() for f in i.findings]
    return {
        "schema": REPORT_SCHEMA,
        "tool": {"name": "card-conformance", "version": __version__},
        "target": result.target,
        "contract": result.contract,
        "seconds": round(result.seconds, 3),
        "exit_code": result.exit_code,
        "interrupted": result.interrupted_by is not None,
        "error": result.setup_error,
        "summary": {
            "cassettes": len(result.cassettes),
            "interactions": sum(counts.values()),
            **{str(outcome): count for outcome, count in counts.items()},
            "failures": sum(1 for f in findings if f.is_failure),
            "warnings": sum(1 for f in findings if f.severity != Severity.FAILURE and not f.accepted),
            "accepted": sum(1 for f in findings if f.accepted),
            "input_errors": len(result.input_errors),
        },
        "root_causes": _causes(result, repros),
        "not_judged": [{"cassette": cassette.path, "index": interaction.index, "rule": rule, "reason": why}
                       for cassette, interaction in result.interactions() for rule, why in interaction.not_judged],
        "cassettes": [
            {
                "path": cassette.path,
                "name": cassette.name,
                "error": cassette.error,
                "warnings": cassette.warnings,
                "interactions": [_interaction(i) for i in cassette.interactions],
            }
            for cassette in result.cassettes
        ],
    }

def write_json(result: RunResult, path: Path, repros: Reproductions | None = None) -> None:
    atomic_write(path, (json.dumps(to_json(result, repros), indent=2, ensure_ascii=False, default=repr) + "\n").encode())
