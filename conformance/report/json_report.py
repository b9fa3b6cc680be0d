"""The JSON report: a stable schema (``docs/report-format.md``) for machines, baselines and ``compare``.

Values in it went through redaction; it is written atomically. It is read back by one reader, the writer's
inverse (:func:`read_report`, :func:`from_json`): a run's result again, whatever readable schema wrote it, so a
baseline, ``compare`` and the root causes of an old report work on what a run works on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.atomic import atomic_write
from conformance.findings import MISSING, CassetteResult, Finding, InteractionResult, RunResult
from conformance.paths import locate
from conformance.report.accepted import accepted_causes
from conformance.report.causes import RootCause, root_causes
from conformance.report.common import read_document
from conformance.report.reproductions import Reproductions
from conformance.rules import RULES, Severity, canonical_rule_id

__all__ = ["REPORT_SCHEMA", "READABLE_SCHEMAS", "READ_SHAPE", "to_json", "write_json", "from_json", "read_report",
           "as_run", "ReadFinding"]

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

def _causes(result: RunResult, repros: Reproductions | None, open_causes: list[RootCause]) -> list[dict[str, Any]]:
    """The run's root causes, then those a baseline accepts whole, marked ``accepted``: kept, so that a report
    compared with its baseline tells them as accepted, never as fixed. With ``repros`` (``--repro-dir``), a
    failing cause carries ``repro``: its repro cassette, or why there is none."""

    def entry(cause: RootCause, accepted: bool) -> dict[str, Any]:
        repro = repros.get(cause.key) if repros and not accepted else None
        return {**cause.to_dict(), "accepted": accepted, **({"repro": repro.to_dict()} if repro else {})}

    return [*(entry(c, False) for c in open_causes),
            *(entry(c, True) for c in accepted_causes(result, open_causes))]


def to_json(result: RunResult, repros: Reproductions | None = None,
            causes: list[RootCause] | None = None) -> dict[str, Any]:
    """The report as JSON data; ``causes``: the run's root causes when the caller has them (computed otherwise)."""
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
        "root_causes": _causes(result, repros, root_causes(result) if causes is None else causes),
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

def write_json(result: RunResult, path: Path, repros: Reproductions | None = None,
               causes: list[RootCause] | None = None) -> None:
    atomic_write(path, (json.dumps(to_json(result, repros, causes), indent=2, ensure_ascii=False, default=repr) + "\n").encode())


# -- reading a report back: the writer's inverse -------------------------------------------------------------------

def read_report(path: Path) -> RunResult:
    """A JSON report of any readable schema, its shape checked, as the run it reports: a ReportError (one line)
    for anything else."""
    return from_json(read_document(path, "report", READABLE_SCHEMAS, READ_SHAPE))


def as_run(report: RunResult | dict[str, Any]) -> RunResult:
    """A run's result, given as one or as its JSON report's data (read, or :func:`to_json`'s)."""
    return report if isinstance(report, RunResult) else from_json(report)


@dataclass
class ReadFinding(Finding):
    """A finding of a rule this process has not registered (an API profile's own rule, one of a newer version),
    as the report spelt it: kept with the severity the report gives, so that a comparison still sees it."""

    def __post_init__(self) -> None:
        if self.rule in RULES:
            super().__post_init__()


_SEVERITIES = {str(severity): severity for severity in Severity}


def _text(data: Any, default: str = "") -> str:
    return data if isinstance(data, str) else default


def _integer(data: Any) -> int | None:
    return data if isinstance(data, int) and not isinstance(data, bool) else None


def _texts(data: Any) -> list[str]:
    return [item for item in data if isinstance(item, str)] if isinstance(data, list) else []


def _finding(data: dict[str, Any]) -> Finding | None:
    """A finding as written (``Finding.to_dict``); None for one of no known severity (neither written nor its
    rule's): no report of this tool writes one."""
    rule = canonical_rule_id(data["rule"])
    severity = _SEVERITIES.get(data.get("severity"))  # type: ignore[arg-type]
    if severity is None and rule not in RULES:
        return None
    kind = ReadFinding if rule not in RULES else Finding
    return kind(rule, data["path"], _text(data.get("message")), data.get("expected", MISSING),
                data.get("actual", MISSING), severity, data.get("accepted") is True, data.get("kind"),
                data.get("key_path"), data.get("problem"), data.get("consequence_of"))


def _read_interaction(data: dict[str, Any], older: bool) -> InteractionResult:
    """An interaction as written; an ``older`` report's (schema 1 or 2) findings told what object they are about
    (from the bodies it kept) and, on a blocked interaction, as the consequences they are."""
    status = _integer(data.get("status"))
    result = InteractionResult(
        data["index"], _text(data.get("endpoint")), _text(data.get("method")), _text(data.get("path")),
        status or 0, _integer(data.get("actual_status")),
        [f for f in map(_finding, data.get("findings", [])) if f is not None],
        data.get("recorded_body"), data.get("actual_body"), blocked_by=data.get("blocked_by"),
        blocked_id=data.get("blocked_id") if isinstance(data.get("blocked_id"), str) else None,
        not_judged=[(str(item["rule"]), str(item["reason"])) for item in data.get("not_judged", [])
                    if isinstance(item, dict) and isinstance(item.get("rule"), str)
                    and isinstance(item.get("reason"), str)] if isinstance(data.get("not_judged"), list) else [],
        judged=_texts(data.get("judged")), covers=_texts(data.get("covers")), curl=data.get("curl"))
    if not older:
        return result
    for finding in result.findings:
        if finding.kind is None and finding.key_path is None:
            finding.kind, finding.key_path = locate(finding.path, result.recorded_body, result.actual_body)
    if data.get("outcome") == "blocked" and not any(f.consequence_of is not None for f in result.findings):
        for finding in result.findings:  # a blocked interaction's findings are all consequences
            finding.consequence_of = result.blocked_by or 0
    return result


def from_json(data: dict[str, Any]) -> RunResult:
    """The run a JSON report tells (``to_json``'s inverse), of a shape :data:`READ_SHAPE` checked: what the
    report leaves out (each interaction's time, the bodies of those without findings) is left at its default."""
    older = data.get("schema") != REPORT_SCHEMA
    cassettes = [CassetteResult(cassette["path"], _text(cassette.get("name"), Path(cassette["path"]).stem),
                                [_read_interaction(item, older) for item in cassette.get("interactions", [])],
                                cassette.get("error"), _texts(cassette.get("warnings")))
                 for cassette in data.get("cassettes", [])]
    code = _integer(data.get("exit_code"))
    interrupted = code - 128 if data.get("interrupted") is True and code is not None and code > 128 else None
    return RunResult(_text(data.get("target")), cassettes, _seconds(data.get("seconds")), interrupted,
                     data.get("contract") if isinstance(data.get("contract"), str) else None)


def _seconds(data: Any) -> float:
    """A duration as written; 0 for anything that is none (a number too large for a float included)."""
    if not isinstance(data, (int, float)) or isinstance(data, bool):
        return 0.0
    try:
        return float(data)
    except OverflowError:
        return 0.0
