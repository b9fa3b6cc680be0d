"""The matrix's history for people: the terminal, Markdown and one self-contained HTML page.

Every view reads the history's document (``conformance.report.history``): the
score of each target run after run (and the interop score), then each
behaviour whose state changed, its mark in every run and when it broke and
when it was fixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from conformance.atomic import atomic_write
from conformance.report.common import md_cell, md_code, md_text, plural
from conformance.report.matrix import MARKS
from conformance.report.matrix_views import LEGEND
from conformance.report.pages import TEMPLATES
from conformance.report.terminal import escape

__all__ = ["print_history", "history_markdown", "write_history_markdown", "render_history_html",
           "write_history_html"]

# Okabe-Ito, colour-blind safe: one per target's line, each also named in the legend
_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
_WIDTH, _HEIGHT, _PAD = 560, 180, 36


def _score(score: dict[str, Any] | None) -> str:
    return "—" if score is None else f"{score['score']:.1f}%"


def _mark(state: str | None) -> str:
    return "" if state is None else f"{MARKS[state]} {state}"


def _events(behaviour: dict[str, Any]) -> str:
    return "; ".join(f"{e['event']} in {e['run']}" for e in behaviour["events"])


def _title(history: dict[str, Any]) -> str:
    return (f"Compatibility matrix over {plural(len(history['runs']), 'run')}, "
            f"{plural(len(history['targets']), 'target')}")


def _score_rows(history: dict[str, Any]) -> list[list[str]]:
    rows = [[t["name"], *(_score(s) for s in t["scores"])] for t in history["targets"]]
    if any(run["interop"] is not None for run in history["runs"]):
        rows.append(["interop (every target)",
                     *("—" if run["interop"] is None else f"{run['interop']:.1f}%" for run in history["runs"])])
    return rows


def print_history(console: Console, history: dict[str, Any]) -> None:
    """Scores per run, then each behaviour that broke or was fixed."""
    labels = [run["label"] for run in history["runs"]]
    scores = Table(title=_title(history) + ": scores", title_justify="left")
    scores.add_column("target", overflow="fold")
    for label in labels:
        scores.add_column(escape(label), justify="right")
    for cells in _score_rows(history):
        scores.add_row(*[escape(cell) for cell in cells])
    console.print(scores)
    changes = Table(title="Behaviours that broke or were fixed", title_justify="left")
    changes.add_column("target · behaviour", overflow="fold", ratio=3)
    for label in labels:
        changes.add_column(escape(label), overflow="fold", ratio=1)
    changes.add_column("when", overflow="fold", ratio=2)
    for behaviour in history["behaviours"]:
        changes.add_row(f"{escape(behaviour['target'])} · {escape(behaviour['label'])}",
                        *[_mark(state) for state in behaviour["states"]], escape(_events(behaviour)))
    if history["behaviours"]:
        console.print(changes)
    else:
        console.print("No behaviour broke or was fixed between these runs.", highlight=False)
    console.print(LEGEND, highlight=False)


def history_markdown(history: dict[str, Any]) -> str:
    labels = [run["label"] for run in history["runs"]]
    lines = [f"### {_title(history)}", "", "| target | " + " | ".join(md_cell(md_text(x)) for x in labels) + " |",
             "| --- |" + " ---: |" * len(labels)]
    lines += ["| " + " | ".join(md_cell(md_text(cell)) for cell in cells) + " |" for cells in _score_rows(history)]
    lines.append("")
    if history["behaviours"]:
        lines += ["| target · behaviour | " + " | ".join(md_cell(md_text(x)) for x in labels) + " | when |",
                  "| --- |" + " :---: |" * len(labels) + " --- |"]
        lines += [f"| {md_cell(md_text(b['target']))} · {md_cell(md_code(b['label']))} | "
                  + " | ".join(md_cell(md_text(_mark(state))) for state in b["states"])
                  + f" | {md_cell(md_text(_events(b)))} |" for b in history["behaviours"]]
    else:
        lines.append("No behaviour broke or was fixed between these runs.")
    lines += ["", md_text(LEGEND), ""]
    return "\n".join(lines)


def write_history_markdown(history: dict[str, Any], path: Path) -> None:
    atomic_write(path, history_markdown(history).encode("utf-8"))


def _chart(history: dict[str, Any]) -> dict[str, Any]:
    """The score lines as SVG coordinates: x a run, y 0–100 %; a run without the target breaks its line."""
    runs = len(history["runs"])
    step = (_WIDTH - 2 * _PAD) / max(runs - 1, 1)

    def x(i: int) -> float:
        return round(_PAD + i * step, 1)

    def y(score: float) -> float:
        return round(_HEIGHT - _PAD + (score / 100) * (2 * _PAD - _HEIGHT), 1)

    lines = []
    for n, target in enumerate(history["targets"]):
        points = [(x(i), y(s["score"]), f"{s['score']:.1f}%") for i, s in enumerate(target["scores"]) if s]
        lines.append({"name": target["name"], "colour": _COLOURS[n % len(_COLOURS)], "points": points,
                      "path": " ".join(f"{px},{py}" for px, py, _ in points)})
    return {"width": _WIDTH, "height": _HEIGHT, "lines": lines,
            "ticks": [(x(i), run["label"]) for i, run in enumerate(history["runs"])],
            "grid": [(y(v), v) for v in (0, 50, 100)], "left": _PAD, "right": _WIDTH - _PAD}


def render_history_html(history: dict[str, Any]) -> str:
    return TEMPLATES.get_template("matrix_history.html.j2").render(
        history=history, title=_title(history), score_rows=_score_rows(history), chart=_chart(history),
        behaviours=[{**b, "marks": [_mark(s) for s in b["states"]],
                     "classes": [(s or "absent").replace(" ", "-") for s in b["states"]], "when": _events(b)}
                    for b in history["behaviours"]],
        legend=LEGEND)


def write_history_html(history: dict[str, Any], path: Path) -> None:
    atomic_write(path, render_history_html(history).encode("utf-8"))
