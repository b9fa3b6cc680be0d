"""The matrix over time: several matrices' JSON (releases, nightly runs), oldest first, as one page.

Two matrices are what ``compare`` is for; a maintainer also wants the whole
story: each target's score run after run and, per behaviour, when it broke and
when it was fixed. Runs are comparable because a behaviour's id is stable (a
rule id, a route as the API reference writes it) and a score counts the same
fixed set of behaviours every time; a matrix of any readable schema
(``MATRIX_SCHEMAS``) takes part, its scores computed from its cells when it
predates them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance.atomic import atomic_write
from conformance.report.matrix import CellState

__all__ = ["HISTORY_SCHEMA", "build_history", "write_history_json", "FAILING"]

HISTORY_SCHEMA = "card-conformance/matrix-history/1"
FAILING = (CellState.BROKEN, CellState.KNOWN)


def _run(label: str, matrix: dict[str, Any]) -> dict[str, Any]:
    return {"label": label, "created": matrix.get("created"), "schema": matrix["schema"],
            "version": (matrix.get("tool") or {}).get("version"), "cassettes": len(matrix.get("suite") or []),
            "interop": matrix["interop"]["score"] if len(matrix["targets"]) > 1 else None}


def _events(states: list[str | None], labels: list[str]) -> list[dict[str, str]]:
    """When a behaviour broke (it held and now fails; *found broken* when it was not judged before) and when it was
    fixed (it failed and now holds), run by run; a run without the target, or not judging it, is no event."""
    events: list[dict[str, str]] = []
    before: str | None = None
    for state, label in zip(states, labels):
        if state is None:
            continue
        if state in FAILING and before is not None and before not in FAILING:
            event = "broke" if before == CellState.HOLDS else "found broken"  # it held; or it is newly judged
            events.append({"run": label, "event": event + (" (known)" if state == CellState.KNOWN else "")})
        elif state == CellState.HOLDS and before in FAILING:
            events.append({"run": label, "event": "fixed"})
        if state in (CellState.HOLDS, *FAILING) or before is None:
            before = state
    return events


def build_history(matrices: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The history of ``matrices`` ((label, matrix read by ``read_matrix``), oldest first): the runs, each
    target's score per run (null where it was not a target), the interop score, and each behaviour × target
    whose state changed, with its states and its events (broke, fixed)."""
    labels = [label for label, _ in matrices]
    names: list[str] = []
    rows: dict[str, dict[str, Any]] = {}
    for _, matrix in matrices:
        names += [t["name"] for t in matrix["targets"] if t["name"] not in names]
        rows.update({row["id"]: row for row in matrix["rows"]})  # the newest label of a row wins
    targets = []
    for name in names:
        scores = [next((t["score"] for t in matrix["targets"] if t["name"] == name), None) for _, matrix in matrices]
        targets.append({"name": name, "scores": scores})
    behaviours = []
    for name in names:
        for row_id, row in rows.items():
            states: list[str | None] = [matrix["cells"].get(row_id, {}).get(name, {}).get("state")
                                        for _, matrix in matrices]
            events = _events(states, labels)
            if events:
                behaviours.append({"target": name, "row": row_id, "label": row["label"], "states": states,
                                   "events": events})
    return {"schema": HISTORY_SCHEMA, "runs": [_run(label, matrix) for label, matrix in matrices],
            "targets": targets, "behaviours": behaviours}


def write_history_json(history: dict[str, Any], path: Path) -> None:
    atomic_write(path, (json.dumps(history, indent=2, ensure_ascii=False) + "\n").encode())
