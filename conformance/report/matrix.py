"""The compatibility matrix: per documented behaviour (a row), per target (a column), what the suite found.

Rows are the rule registry's documented rules (the API reference's, then the
contract's with ``--openapi``) and every endpoint × route of the route table
(and any other route the suite calls). A cell is one of:

- **holds** — judged, and no problem found;
- **broken** — the problems (root causes, as a single run groups them) that
  break it, each with its one-line cause and the interaction that shows it;
- **known** — broken only by problems the target's profile names as known;
- **not judged** — exercised, but its precondition never held (the reason);
- **not covered** — no scenario of the suite exercises it.

The matrix is built from the very results ``conformance run`` reports, so a
column says what a single run says. Its JSON (``docs/matrix-format.md``) is
what every other format, ``compare`` and ``matrix-history`` read.

Over the *fixed* set of behaviours — the rules and the API profile's routes,
never the routes a suite happened to call — each target gets a score (the
behaviours that hold), its coverage, and the matrix an *interop* score (the
behaviours that hold on every target); the failures only one target has come
first, as they are the ones to fix. A score never rises because the suite
grew: it is the same denominator for every target and every release.
"""

from __future__ import annotations

import datetime
import fnmatch
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.api_profile import OTHER, ApiProfile, RouteTable, route_text
from conformance.atomic import atomic_write
from conformance.errors import ReportError
from conformance.findings import MISSING, CassetteResult, InteractionResult, RunResult, Verdict
from conformance.report.causes import RootCause, root_causes
from conformance.report.common import read_document, value, verdict_text
from conformance.report.profile import Limitation, Profile, known_reason, review
from conformance.rules import CONTRACT_RULES, ENGINE_RULES, RULES, MatrixRow, Outcome, Severity
from conformance.text import shorten

__all__ = ["MATRIX_SCHEMA", "MATRIX_SCHEMAS", "CellState", "MARKS", "build_matrix", "matrix_exit_code",
           "write_matrix_json", "read_matrix", "MatrixComparison", "compare_matrices", "route_text", "percent",
           "scored_rows", "target_score", "interop", "target_specific", "summarized", "profile_failures"]

MATRIX_SCHEMA = "card-conformance/matrix/2"
# every schema the reader takes, oldest first: a matrix of /1 lacks the scores, which are computed from its cells
MATRIX_SCHEMAS = ("card-conformance/matrix/1", MATRIX_SCHEMA)
_VALUE_LIMIT = 300
_EXAMPLES = 3  # findings shown under a problem in a cell


class CellState(StrEnum):
    HOLDS = "holds"
    BROKEN = "broken"
    KNOWN = "known"
    NOT_JUDGED = "not judged"
    NOT_COVERED = "not covered"


# A mark for each state that reads without colour (colour-blind safe, plain terminals, screen readers).
MARKS: dict[str, str] = {CellState.HOLDS: "✓", CellState.BROKEN: "✗", CellState.KNOWN: "≈",
                         CellState.NOT_JUDGED: "?", CellState.NOT_COVERED: "–"}


def _route_of(interaction: InteractionResult, routes: RouteTable | None) -> tuple[str, str]:
    """(row id, endpoint name) of an interaction's route: the API profile's route table's, the contract's
    operation, or the method and path as recorded."""
    path = interaction.path.split("?", 1)[0]  # as recorded, with its query
    found = routes.match(interaction.method, path) if routes is not None else None
    if found is not None:
        return route_text(found.route.method, found.route.template), found.name
    if interaction.endpoint != OTHER and " " in interaction.endpoint:  # the contract's operation
        method, template = interaction.endpoint.split(" ", 1)
        return route_text(method, template), OTHER
    return f"{interaction.method} {path}", OTHER


@dataclass
class _Column:
    """One target's results, indexed for its cells."""

    result: RunResult
    profile: Profile | None
    routes: RouteTable | None = None
    causes: list[RootCause] = field(default_factory=list)
    numbers: dict[tuple[str, ...], int] = field(default_factory=dict)  # cause key -> its number in the column
    places: dict[tuple[str, int], tuple[CassetteResult, InteractionResult]] = field(default_factory=dict)
    by_route: dict[str, list[tuple[CassetteResult, InteractionResult]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.causes = root_causes(self.result)
        self.numbers = {cause.key: n for n, cause in enumerate(self.causes, 1)}
        for cassette, interaction in self.result.interactions():
            self.places[(cassette.path, interaction.index)] = (cassette, interaction)
            self.by_route.setdefault(_route_of(interaction, self.routes)[0], []).append((cassette, interaction))


def _problem(column: _Column, cause: RootCause) -> dict[str, Any]:
    """A cause as a cell shows it: its number, one line, the interaction it was first seen in and the diff there."""
    examples: list[dict[str, Any]] = []
    first = cause.interactions[0] if cause.interactions else None
    found = column.places.get(first) if first is not None else None
    seen: set[tuple[str, str]] = set()
    for finding in cause.examples:
        if (finding.rule, finding.path) in seen or len(examples) == _EXAMPLES:
            continue
        seen.add((finding.rule, finding.path))
        examples.append({"rule": finding.rule, "path": finding.path, "message": shorten(finding.message, _VALUE_LIMIT),
                         "expected": None if finding.expected is MISSING else shorten(value(finding.expected), _VALUE_LIMIT),
                         "actual": None if finding.actual is MISSING else shorten(value(finding.actual), _VALUE_LIMIT)})
    interaction = None
    if found is not None:
        cassette, result = found
        interaction = {"cassette": cassette.path, "index": result.index, "endpoint": result.endpoint,
                       "method": result.method, "path": result.path, "status": result.status,
                       "actual_status": result.actual_status}
    return {"number": column.numbers[cause.key], "key": list(cause.key), "rule": cause.rule, "message": cause.message,
            "endpoints": cause.endpoints, "count": cause.count, "blocked": cause.blocked,
            "known": known_reason(column.profile, cause), "interaction": interaction, "findings": examples,
            "curl": cause.curl}


def _state_of(problems: list[dict[str, Any]]) -> CellState:
    return CellState.KNOWN if all(p["known"] for p in problems) else CellState.BROKEN


def _cell(state: CellState, problems: Iterable[dict[str, Any]] = (), reasons: Iterable[str] = (), judged: int = 0,
          warnings: Iterable[str] = ()) -> dict[str, Any]:
    cell: dict[str, Any] = {"state": str(state), "judged": judged}
    for name, items in (("problems", list(problems)), ("reasons", list(dict.fromkeys(reasons))),
                        ("warnings", list(dict.fromkeys(warnings)))):
        if items:
            cell[name] = items
    return cell


def _label(cassette: str, index: int) -> str:
    return f"{Path(cassette).name} #{index}"


def _route_cell(column: _Column, row: str) -> dict[str, Any]:
    found = column.by_route.get(row, [])
    if not found:
        return _cell(CellState.NOT_COVERED)
    places = {(cassette.path, interaction.index) for cassette, interaction in found}
    failures = [c for c in column.causes if c.severity == Severity.FAILURE and places.intersection(c.interactions)]
    warnings = [c.line(0) for c in column.causes if c.severity != Severity.FAILURE and places.intersection(c.interactions)]
    judged = [i for _, i in found if i.outcome != Outcome.BLOCKED]
    if failures:
        problems = [_problem(column, cause) for cause in failures]
        return _cell(_state_of(problems), problems, judged=len(judged), warnings=warnings)
    if judged:
        return _cell(CellState.HOLDS, judged=len(judged), warnings=warnings)
    reasons = _Reasons()
    for cassette, interaction in found:
        reasons.add(_explained(column, cassette.path, interaction), cassette.path, interaction.index)
    return _cell(CellState.NOT_JUDGED, reasons=reasons.texts())


class _Reasons:
    """Why a behaviour was not judged: each reason once, with the interactions it stands for."""

    def __init__(self) -> None:
        self.places: dict[str, list[str]] = {}

    def add(self, why: str, cassette: str, index: int) -> None:
        self.places.setdefault(why, []).append(_label(cassette, index))

    def texts(self) -> list[str]:
        return [f"{', '.join(labels[:3])}{f' and {len(labels) - 3} more' if len(labels) > 3 else ''}: {why}"
                for why, labels in self.places.items()]


def _explained(column: _Column, cassette: str, interaction: InteractionResult) -> str:
    """Why an exchange the recording judges a rule by did not judge it at the target."""
    if interaction.outcome == Outcome.BLOCKED:
        needs = f" (the request needs {interaction.blocked_id}, which no answer minted)" if interaction.blocked_id else ""
        return f"blocked by #{interaction.blocked_by}{needs}"
    causes = [c for c in column.causes if c.severity == Severity.FAILURE and (cassette, interaction.index) in c.interactions]
    if causes:
        cause = causes[0]
        return f"the answer was wrong first: problem {column.numbers[cause.key]} ([{cause.rule}] {shorten(cause.message, 120)})"
    if interaction.actual_status != interaction.status:
        return f"answered {interaction.actual_status or 'nothing'} where the recording has {interaction.status}"
    return "the answer did not meet the rule's precondition as the recording did"


def _rule_cell(column: _Column, rule: str) -> dict[str, Any]:
    failures = [c for c in column.causes if c.severity == Severity.FAILURE and c.rule == rule]
    warnings = [c.line(0) for c in column.causes if c.severity != Severity.FAILURE and c.rule == rule]
    clean, reasons = 0, _Reasons()
    followed: list[RootCause] = []  # the problems this rule's own findings follow from (a key ignored: a reuse)
    for cassette, interaction in column.result.interactions():
        for r, why in interaction.not_judged:
            if r == rule:
                reasons.add(why, cassette.path, interaction.index)
        if rule not in interaction.judged:
            if rule in interaction.covers:
                reasons.add(_explained(column, cassette.path, interaction), cassette.path, interaction.index)
            continue
        mine = [f for f in interaction.findings if f.rule == rule and f.severity == Severity.FAILURE and not f.accepted]
        if not mine:
            clean += 1
        elif all(f.consequence_of is not None for f in mine):
            root = (cassette.path, mine[0].consequence_of)
            causing = [c for c in column.causes if c.severity == Severity.FAILURE and root in c.interactions]
            if interaction.blocked_id is None and causing:  # broken here, told under the problem it follows from
                followed += [c for c in causing if c not in followed]
            else:
                reasons.add(f"its findings follow from #{mine[0].consequence_of}, which left an id unbound",
                            cassette.path, interaction.index)
        elif not failures:
            reasons.add(_explained(column, cassette.path, interaction), cassette.path, interaction.index)
    if failures or followed:
        problems = [_problem(column, cause) for cause in [*failures, *(c for c in followed if c not in failures)]]
        return _cell(_state_of(problems), problems, judged=clean, warnings=warnings)
    if clean:
        return _cell(CellState.HOLDS, reasons=reasons.texts(), judged=clean, warnings=warnings)
    if reasons.places:
        return _cell(CellState.NOT_JUDGED, reasons=reasons.texts())
    return _cell(CellState.NOT_COVERED)


def _rows(results: Iterable[RunResult], routes: RouteTable | None, focus: tuple[str, ...],
          api: ApiProfile | None = None) -> list[dict[str, Any]]:
    results = list(results)
    # the documented promises judged on every answer (the engine's, then the profile's), the contract's when a run
    # used one, then the profile's others that fail a run (its retry contract's, the fingerprint): a warning's rule
    # (a request id, a replay's mark) is no behaviour a score counts, its warnings show in its routes' cells
    rules = [*(r.id for r in ENGINE_RULES if r.matrix is MatrixRow.DOCUMENTED),
             *(api.rules.ids(MatrixRow.DOCUMENTED) if api is not None else ()),
             *(CONTRACT_RULES if any(r.contract for r in results) else ())]
    rules += [rule for rule in (api.matrix_rules if api is not None else ()) if rule not in rules]
    rows: list[dict[str, Any]] = [{"id": rule, "kind": "rule", "label": rule, "description": RULES[rule].description,
                                   "source": RULES[rule].source, "scored": True} for rule in rules]
    seen: set[str] = set()
    for route in routes or ():
        text = route_text(route.method, route.template)
        if text not in seen:
            seen.add(text)
            under_test = route.name.startswith(focus)
            rows.append({"id": text, "kind": "route", "label": f"{route.name} {text}", "endpoint": route.name,
                         "under_test": under_test, "description": "" if under_test else "setup traffic",
                         "source": "the route table (API reference)", "scored": True})
    for result in results:
        for _, interaction in result.interactions():
            text, _ = _route_of(interaction, routes)
            if text not in seen:
                seen.add(text)
                rows.append({"id": text, "kind": "route", "label": text, "endpoint": interaction.endpoint,
                             "description": f"{interaction.endpoint}, beyond the route table", "source": "the suite",
                             "scored": False})
    return rows


def build_matrix(results: Mapping[str, RunResult], profiles: Mapping[str, Profile], suite: Iterable[str],
                 reports: Mapping[str, str] | None = None, seconds: float = 0.0, *,
                 api: ApiProfile | None = None, today: datetime.date | None = None) -> dict[str, Any]:
    """The matrix of the runs (target name -> its result, target profiles by name), as its JSON document: a row
    for each documented rule and each route of the API profile (those it focuses on are under test, the others
    setup traffic), then each route only the runs met. ``today`` dates the profiles' ``until:`` (default: today)."""
    routes = api.routes if api is not None else None
    columns = {name: _Column(result, profiles.get(name), routes) for name, result in results.items()}
    rows = _rows(results.values(), routes, api.focus if api is not None else (), api)
    cells: dict[str, dict[str, Any]] = {}
    for row in rows:
        cells[row["id"]] = {name: (_rule_cell(column, row["id"]) if row["kind"] == "rule" else
                                   _route_cell(column, row["id"])) for name, column in columns.items()}
    targets = []
    for name, column in columns.items():
        result = column.result
        states = {str(s): sum(1 for row in rows if cells[row["id"]][name]["state"] == s) for s in CellState}
        failures = [c for c in column.causes if c.severity == Severity.FAILURE]
        known = [c for c in failures if known_reason(column.profile, c)]
        holds = _holds_in(rows, {row_id: by_target[name] for row_id, by_target in cells.items()})
        limitations = [r.to_json(column.numbers) for r in review(column.profile, failures, holds, today)]
        counts = result.counts()
        targets.append({
            "name": name, "url": result.target, "verdict": verdict_text(result), "exit_code": result.exit_code,
            "seconds": round(result.seconds, 3), "contract": result.contract,
            "interactions": {str(o): n for o, n in counts.items()},
            "problems": len(failures),
            "known_problems": len(known), "cells": states,
            "limitations": limitations,
            "input_errors": [c.error for c in result.input_errors] + ([result.setup_error] if result.setup_error else []),
            "interrupted": result.interrupted_by is not None,
            "report": (reports or {}).get(name),
        })
    created = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return summarized({"schema": MATRIX_SCHEMA, "tool": {"name": "card-conformance", "version": __version__},
                       "created": created, "suite": list(suite), "seconds": round(seconds, 3), "targets": targets,
                       "rows": rows, "cells": cells})


def _holds_in(rows: list[dict[str, Any]], cells: Mapping[str, dict[str, Any]]) -> Callable[[Limitation], bool]:
    """Whether the behaviour a limitation names was judged and holds in a column: its documented rule's row, else
    the scored routes its PATH names (a route, an endpoint), else any scored route (a problem gone from every
    judged exchange is gone)."""
    rule_rows = {row["id"] for row in rows if row["kind"] == "rule"}
    routes = [row for row in rows if row["kind"] == "route" and row.get("scored")]

    def holds(limitation: Limitation) -> bool:
        if limitation.rule in rule_rows:
            return bool(cells[limitation.rule]["state"] == CellState.HOLDS)
        glob = limitation.path
        named = [row for row in routes if glob and any(fnmatch.fnmatchcase(text, glob) for text in (
            row["id"], row["id"].split(" ", 1)[-1], row.get("endpoint", "")))]
        return any(cells[row["id"]]["state"] == CellState.HOLDS for row in named or routes)

    return holds


def percent(part: int, whole: int) -> float:
    """``part`` of ``whole`` in percent, rounded *down* to one decimal: 100.0 only when all of it holds."""
    return (part * 1000 // whole) / 10 if whole else 0.0


def scored_rows(matrix: Mapping[str, Any]) -> list[str]:
    """The fixed set of behaviours a score counts: every rule and route of the API profile, in row order — not
    the routes beyond the route table a suite happened to call (a matrix of /1 says so by their source)."""
    return [row["id"] for row in matrix["rows"] if row.get("scored", row.get("source") != "the suite")]


def _state(matrix: Mapping[str, Any], row_id: str, name: str) -> str:
    return str(matrix["cells"].get(row_id, {}).get(name, {}).get("state", CellState.NOT_COVERED))


def target_score(matrix: Mapping[str, Any], name: str) -> dict[str, Any]:
    """A target's score over the fixed set: each state counted apart, the score (holds) and the coverage (all but
    not covered), in percent of the behaviours."""
    ids = scored_rows(matrix)
    counts = {str(state): 0 for state in CellState}
    for row_id in ids:
        counts[_state(matrix, row_id, name)] += 1
    covered = len(ids) - counts[CellState.NOT_COVERED]
    return {"behaviours": len(ids), **counts, "score": percent(counts[CellState.HOLDS], len(ids)),
            "coverage": percent(covered, len(ids))}


def interop(matrix: Mapping[str, Any]) -> dict[str, Any]:
    """The behaviours of the fixed set that hold on every target, and their share: the interop score."""
    ids, names = scored_rows(matrix), [t["name"] for t in matrix["targets"]]
    holding = [row_id for row_id in ids
               if names and all(_state(matrix, row_id, name) == CellState.HOLDS for name in names)]
    return {"behaviours": len(ids), "holds": len(holding), "score": percent(len(holding), len(ids)), "rows": holding}


def target_specific(matrix: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Behaviours broken on exactly one target, known on none, holding on at least one other: the failures that
    target alone has, by target in column order, then by row."""
    names = [t["name"] for t in matrix["targets"]]
    labels = {row["id"]: row["label"] for row in matrix["rows"]}
    found = []
    for row_id in scored_rows(matrix) if len(names) > 1 else []:
        states = {name: _state(matrix, row_id, name) for name in names}
        failing = [name for name, state in states.items() if state in (CellState.BROKEN, CellState.KNOWN)]
        if len(failing) == 1 and states[failing[0]] == CellState.BROKEN and CellState.HOLDS in states.values():
            cell = matrix["cells"][row_id][failing[0]]
            found.append({"target": failing[0], "row": row_id, "label": labels[row_id],
                          "problems": [p["number"] for p in cell.get("problems", []) if not p.get("known")]})
    return sorted(found, key=lambda item: names.index(item["target"]))


def summarized(matrix: dict[str, Any]) -> dict[str, Any]:
    """The matrix with its scores, interop and target-specific failures: those it has (a matrix of /2), else
    computed from its cells (of /1) — one arithmetic for both."""
    for target in matrix["targets"]:
        target.setdefault("score", target_score(matrix, target["name"]))
    matrix.setdefault("interop", interop(matrix))
    matrix.setdefault("target_specific", target_specific(matrix))
    return matrix


def profile_failures(matrix: Mapping[str, Any]) -> list[str]:
    """What ``--strict-profiles`` fails the run on: limitations fixed, expired, too broad or not linked, one line
    each with the target's name and the profile's file and line."""
    return [f"{target['name']}: {line}" for target in matrix["targets"]
            for limitation in target.get("limitations", []) for line in limitation.get("strict", [])]


def matrix_exit_code(matrix: dict[str, Any], interrupted_by: int | None = None, strict_profiles: bool = False) -> int:
    """2 when a cassette could not be read, 128 + the signal when interrupted, 1 when a cell is broken (a problem
    no profile names) or, with ``strict_profiles``, when a profile's limitation is fixed, expired, too broad or
    not linked (``profile_failures``), else 0."""
    if any(t["input_errors"] for t in matrix["targets"]):
        return Verdict.INPUT_ERRORS.exit_code
    if interrupted_by:
        return 128 + interrupted_by
    broken = any(cell["state"] == CellState.BROKEN for row in matrix["cells"].values() for cell in row.values())
    if broken or (strict_profiles and profile_failures(matrix)):
        return Verdict.DEVIATIONS.exit_code
    return Verdict.CONFORMS.exit_code


def write_matrix_json(matrix: dict[str, Any], path: Path) -> None:
    atomic_write(path, (json.dumps(matrix, indent=2, ensure_ascii=False) + "\n").encode())


_TEXT = {"type": "string"}
# The parts of a matrix `compare` reads, as JSON Schema: anything else is refused in one line, never read half-way.
READ_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["schema", "targets", "rows", "cells"],
    "properties": {
        "created": _TEXT,
        "targets": {"type": "array", "items": {"type": "object", "required": ["name"], "properties": {
            "name": _TEXT,
            "score": {"type": "object", "required": ["behaviours", "holds", "score", "coverage"],
                      "additionalProperties": {"type": "number"}},
        }}},
        "rows": {"type": "array", "items": {"type": "object", "required": ["id", "label"],
                                            "properties": {"id": _TEXT, "label": _TEXT, "kind": _TEXT,
                                                           "source": _TEXT, "scored": {"type": "boolean"}}}},
        "cells": {"type": "object", "additionalProperties": {"type": "object", "additionalProperties": {
            "type": "object",
            "required": ["state"],
            "properties": {
                "state": _TEXT,
                "reasons": {"type": "array", "items": _TEXT},
                "problems": {"type": "array", "items": {
                    "type": "object",
                    "required": ["key", "rule", "message"],
                    "properties": {"key": {"type": "array", "items": _TEXT}, "rule": _TEXT, "message": _TEXT,
                                   "known": {"type": ["string", "null"]}},
                }},
            },
        }}},
    },
}


def read_matrix(path: Path) -> dict[str, Any]:
    """A matrix's JSON document of any schema in MATRIX_SCHEMAS, its shape checked (a ReportError, one line, for
    anything else), with its scores (computed from the cells of a /1)."""
    matrix = read_document(path, "matrix", MATRIX_SCHEMAS, READ_SHAPE)
    for row_id, row in matrix["cells"].items():  # every target's cell read as a state: a missing one is none
        for name, cell in row.items():
            if cell["state"] not in MARKS:
                raise ReportError(f"{path}: not a card-conformance matrix: at cells.{row_id}.{name}.state: "
                                  f"{shorten(cell['state'], 40)!r} is none of {', '.join(MARKS)}")
    return summarized(matrix)


@dataclass
class MatrixComparison:
    """What changed between two matrices, target by target: (target, problem or row, detail) each."""

    regressions: list[tuple[str, str, str]] = field(default_factory=list)  # (target, problem, rows it breaks)
    fixes: list[tuple[str, str, str]] = field(default_factory=list)  # (target, problem gone, rows it broke)
    newly_covered: list[tuple[str, str, str]] = field(default_factory=list)  # (target, row, its state now)
    newly_known: list[tuple[str, str, str]] = field(default_factory=list)  # a new problem the profile expects
    lost: list[tuple[str, str, str]] = field(default_factory=list)  # (target, row that held, why no longer)
    targets_added: list[str] = field(default_factory=list)
    targets_gone: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if self.regressions else 0

    def sections(self) -> list[tuple[str, list[tuple[str, str, str]]]]:
        return [("newly broken", self.regressions), ("fixed", self.fixes), ("newly covered", self.newly_covered),
                ("newly known", self.newly_known), ("no longer judged", self.lost)]

    def to_json(self) -> dict[str, Any]:
        def entries(items: list[tuple[str, str, str]]) -> list[dict[str, str]]:
            return [{"target": target, "what": what, "detail": detail} for target, what, detail in items]

        return {"schema": "card-conformance/matrix-comparison/1", "exit_code": self.exit_code,
                "regressions": entries(self.regressions),
                "fixes": entries(self.fixes), "newly_covered": entries(self.newly_covered),
                "newly_known": entries(self.newly_known), "no_longer_judged": entries(self.lost),
                "targets_added": self.targets_added, "targets_gone": self.targets_gone}

    def markdown(self) -> str:
        from conformance.report.common import md_cell, md_text

        lines = [f"**{len(self.regressions)} newly broken**, {len(self.fixes)} fixed, {len(self.newly_covered)} "
                 f"newly covered, {len(self.newly_known)} newly known, {len(self.lost)} no longer judged", ""]
        for title, items in self.sections():
            if items:
                lines += [f"### {title.capitalize()}", "", "| target | what | where |", "| --- | --- | --- |"]
                lines += [f"| {md_cell(md_text(t))} | {md_cell(md_text(r))} | {md_cell(md_text(d))} |" for t, r, d in items]
                lines.append("")
        for title, names in (("Targets added", self.targets_added), ("Targets gone", self.targets_gone)):
            if names:
                lines += [f"{title}: " + ", ".join(md_text(n) for n in names), ""]
        return "\n".join(lines)


def _problem_line(problem: dict[str, Any]) -> str:
    return f"[{problem['rule']}] {problem['message']}"


def _column_problems(matrix: dict[str, Any], name: str) -> dict[tuple[str, ...], tuple[dict[str, Any], list[str]]]:
    """A target's problems by identity (cause key), each with the rows it breaks."""
    labels = {row["id"]: row["label"] for row in matrix["rows"]}
    found: dict[tuple[str, ...], tuple[dict[str, Any], list[str]]] = {}
    for row_id, row in matrix["cells"].items():
        for problem in row.get(name, {}).get("problems", []):
            found.setdefault(tuple(problem["key"]), (problem, []))[1].append(labels.get(row_id, row_id))
    return found


def _rows_text(rows: list[str]) -> str:
    return ", ".join(rows[:4]) + (f" and {len(rows) - 4} more" if len(rows) > 4 else "")


def compare_matrices(old: dict[str, Any], new: dict[str, Any]) -> MatrixComparison:
    """Per target in both, by problem: what newly broke (a new problem, or an old one breaking more behaviours),
    what got fixed, what is newly known; by row: what is newly covered, what is no longer judged. A problem's
    identity is its cause key: minted ids and counts never make a problem new."""
    comparison = MatrixComparison()
    old_names = [t["name"] for t in old["targets"]]
    new_names = [t["name"] for t in new["targets"]]
    comparison.targets_added = [n for n in new_names if n not in old_names]
    comparison.targets_gone = [n for n in old_names if n not in new_names]
    labels = {row["id"]: row["label"] for row in [*old["rows"], *new["rows"]]}
    for name in (n for n in new_names if n in old_names):
        before, after = _column_problems(old, name), _column_problems(new, name)
        for key, (problem, rows) in after.items():
            line = _problem_line(problem)
            if key not in before:
                if problem.get("known"):
                    comparison.newly_known.append((name, line, f"breaks {_rows_text(rows)}; known: {problem['known']}"))
                else:
                    comparison.regressions.append((name, line, f"breaks {_rows_text(rows)}"))
                continue
            more = [row for row in rows if row not in before[key][1]]
            if more and not problem.get("known"):
                comparison.regressions.append((name, line, f"now also breaks {_rows_text(more)}"))
        for key, (problem, rows) in before.items():
            if key not in after:
                comparison.fixes.append((name, _problem_line(problem), f"broke {_rows_text(rows)}"))
        for row_id, row_cells in new["cells"].items():
            now = row_cells.get(name)
            was = old["cells"].get(row_id, {}).get(name, {"state": CellState.NOT_COVERED})["state"]
            if now is None:
                continue
            if was == CellState.NOT_COVERED and now["state"] != CellState.NOT_COVERED:
                comparison.newly_covered.append((name, labels.get(row_id, row_id), f"not covered → {now['state']}"))
            if was == CellState.HOLDS and now["state"] in (CellState.NOT_JUDGED, CellState.NOT_COVERED):
                comparison.lost.append((name, labels.get(row_id, row_id), f"holds → {now['state']}"
                                        + (f": {now['reasons'][0]}" if now.get("reasons") else "")))
    return comparison
