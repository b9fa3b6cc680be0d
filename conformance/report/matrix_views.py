"""The matrix for people: the terminal table, Markdown (a README, a pull-request comment) and one HTML page.

Every view reads the matrix's JSON document (``conformance.report.matrix``), so
they cannot tell different stories. A cell shows its state's mark — readable
without colour — and, when broken, the numbers of the problems that break it;
each target's problems follow, numbered, each with its one-line cause and the
interaction to look at. Under the table: each target's score over the fixed
set of behaviours (each state counted apart, the coverage), the interop score,
the failures only one target has (listed first: the ones to fix), and what
each profile's limitations have become (fixed, expired, too broad, unlinked).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from conformance.atomic import atomic_write
from conformance.report.common import md_cell, md_code, md_text, plural
from conformance.report.html import anchor_of
from conformance.report.matrix import MARKS, CellState, summarized
from conformance.report.pages import TEMPLATES
from conformance.report.terminal import escape
from conformance.text import printable, shorten

__all__ = ["print_matrix", "matrix_markdown", "write_matrix_markdown", "render_matrix_html", "write_matrix_html"]

_STYLE = {CellState.HOLDS: "green", CellState.BROKEN: "bold red", CellState.KNOWN: "yellow",
          CellState.NOT_JUDGED: "cyan", CellState.NOT_COVERED: "dim"}
_MESSAGE = 200
LEGEND = "✓ holds · ✗ broken (the problems' numbers) · ≈ known (the target's profile) · ? not judged · – not covered"


SCORE_HELP = ("score: behaviours that hold, of the fixed set (the rules and the route table's routes), in percent "
              "rounded down; coverage: those not 'not covered'; interop: behaviours that hold on every target")


def score_text(score: dict[str, Any]) -> str:
    """``62.5% (15 of 24)``: a score with what it counts."""
    return f"{score['score']:.1f}% ({score['holds']} of {score['behaviours']})"


def score_table(matrix: dict[str, Any]) -> list[list[str]]:
    """Each target's score row, then the interop row (with two targets or more): the cells of every view's table
    of scores, whose head is SCORE_HEAD."""
    rows = []
    for target in matrix["targets"]:
        score = target["score"]
        rows.append([target["name"], score_text(score), *(str(score[str(s)]) for s in CellState),
                     f"{score['coverage']:.1f}%"])
    if len(matrix["targets"]) > 1:
        both = matrix["interop"]
        rows.append(["interop (every target)", score_text(both), str(both["holds"]), "", "", "", "", ""])
    return rows


SCORE_HEAD = ["target", "score", *(str(s) for s in CellState), "coverage"]


def _interop_mark(matrix: dict[str, Any], row: dict[str, Any]) -> str:
    if not row.get("scored", row.get("source") != "the suite"):
        return ""
    return "✓ all" if row["id"] in matrix["interop"]["rows"] else ""


def specific_lines(matrix: dict[str, Any]) -> list[tuple[str, str, str]]:
    """The failures only one target has: (target, behaviour, its problems' numbers)."""
    return [(item["target"], item["label"], ", ".join(str(n) for n in item["problems"]))
            for item in matrix["target_specific"]]


def limitation_notes(target: dict[str, Any]) -> list[tuple[bool, str]]:
    """What became of the target's profile: (fails --strict-profiles, the line) per limitation that is fixed,
    expired, too broad, unlinked or not exercised."""
    notes: list[tuple[bool, str]] = []
    for limitation in target.get("limitations", []):
        notes += [(True, line) for line in limitation["strict"]]
        if limitation["state"] == "not exercised":
            notes.append((False, f"{limitation['place']}: {limitation['said']}: not exercised — the suite never "
                                 "judged what it names"))
    return notes


def _cell_text(cell: dict[str, Any]) -> str:
    state = cell["state"]
    numbers = ", ".join(str(p["number"]) for p in cell.get("problems", []) if state != CellState.BROKEN or not p["known"])
    return f"{MARKS[state]} {numbers}" if numbers else f"{MARKS[state]} {state}"


def _problems(matrix: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """A target's problems, each once, by number."""
    found: dict[int, dict[str, Any]] = {}
    for row in matrix["cells"].values():
        for problem in row[name].get("problems", []):
            found.setdefault(problem["number"], problem)
    return [found[n] for n in sorted(found)]


def _not_judged(matrix: dict[str, Any], name: str) -> list[tuple[str, str]]:
    labels = {row["id"]: row["label"] for row in matrix["rows"]}
    return [(labels[row_id], row[name]["reasons"][0]) for row_id, row in matrix["cells"].items()
            if row[name]["state"] == CellState.NOT_JUDGED]


def _where(problem: dict[str, Any]) -> str:
    found = problem.get("interaction")
    return f"{Path(found['cassette']).name} #{found['index']}" if found else ""


def _counts(target: dict[str, Any]) -> str:
    cells = target["cells"]
    return ", ".join(f"{cells[str(s)]} {s}" for s in CellState)


def _verdict(matrix: dict[str, Any], target: dict[str, Any]) -> str:
    """A column's verdict; a run stopped early says so first (what did not run was not judged)."""
    broken = target["cells"][str(CellState.BROKEN)]
    if target["input_errors"]:
        return "input errors"
    said = f"{broken} broken" if broken else "no broken behaviour" + (" (known ones aside)"
                                                                       if target["known_problems"] else "")
    return f"interrupted: {said} so far" if target.get("interrupted") else said


def _title(matrix: dict[str, Any]) -> str:
    return (f"Compatibility matrix: {plural(len(matrix['suite']), 'cassette')}, "
            f"{plural(len(matrix['targets']), 'target')}")


def print_matrix(console: Console, matrix: dict[str, Any], written: list[Path] | None = None) -> None:
    """The table, then each target's problems (numbered as the cells name them) and what was not judged."""
    matrix = summarized(matrix)
    names = [t["name"] for t in matrix["targets"]]
    several = len(names) > 1
    table = Table(title=_title(matrix), title_justify="left")
    table.add_column("behaviour", overflow="fold", min_width=24, ratio=3)
    for name in names:
        table.add_column(escape(name), overflow="fold", ratio=1)
    if several:
        table.add_column("interop", ratio=1)
    kind = None
    for row in matrix["rows"]:
        if row["kind"] != kind:
            kind = row["kind"]
            table.add_row(f"[bold]{'documented rules' if kind == 'rule' else 'endpoints × routes'}[/bold]",
                          *[""] * (len(names) + several))
        cells = matrix["cells"][row["id"]]
        table.add_row(escape(row["label"]), *[f"[{_STYLE[CellState(cells[n]['state'])]}]{_cell_text(cells[n])}[/]"
                                                  for n in names], *([_interop_mark(matrix, row)] if several else []))
    console.print(table)
    console.print(LEGEND, highlight=False)
    _print_scores(console, matrix)
    for target in matrix["targets"]:
        name = target["name"]
        console.print(f"[bold]{escape(name)}[/bold] ({escape(target['url'])}): {_verdict(matrix, target)} — "
                      f"{_counts(target)}; {plural(target['problems'], 'problem')}"
                      + (f" ({target['known_problems']} known)" if target["known_problems"] else ""), highlight=False)
        for error in target["input_errors"]:
            console.print(f"  [red]{escape(error)}[/red]")
        for problem in _problems(matrix, name):
            known = f" [yellow](known: {escape(problem['known'])})[/yellow]" if problem["known"] else ""
            mark = "≈" if problem["known"] else "[red]✗[/red]"
            console.print(f"  {mark} {problem['number']}. {escape(', '.join(problem['endpoints'][:4]))} — "
                          f"{escape('[' + problem['rule'] + ']')} {escape(shorten(problem['message'], _MESSAGE))} — "
                          f"first: {escape(_where(problem))}{known}", highlight=False)
        for label, reason in _not_judged(matrix, name):
            console.print(f"  ? {printable(label)}: not judged: {printable(shorten(reason, _MESSAGE))}", highlight=False,
                          markup=False)
        for strict, note in limitation_notes(target):
            console.print(f"  [yellow]! {'profile' if strict else 'note'}: {escape(note)}[/yellow]", highlight=False)
    for path in written or []:
        console.print(f"Matrix: {path}", highlight=False)


def _print_scores(console: Console, matrix: dict[str, Any]) -> None:
    """The scores, then the failures only one target has: first, as they are the ones to fix."""
    scores = Table(title="Scores over the fixed set of behaviours", title_justify="left")
    for head in SCORE_HEAD:
        scores.add_column(head, overflow="fold")
    for cells in score_table(matrix):
        scores.add_row(*[escape(cell) for cell in cells])
    console.print(scores)
    console.print(SCORE_HELP, highlight=False, markup=False)
    specific = specific_lines(matrix)
    if specific:
        console.print("[bold]Target-specific failures[/bold] (broken on this target only):", highlight=False)
    for name, label, numbers in specific:
        console.print(f"  [red]✗[/red] {escape(name)} · {escape(label)}" + (f" — problems {numbers}" if numbers else ""),
                      highlight=False)


def matrix_markdown(matrix: dict[str, Any]) -> str:
    matrix = summarized(matrix)
    names = [t["name"] for t in matrix["targets"]]
    several = len(names) > 1
    lines = [f"### {_title(matrix)}", "",
             "| behaviour | " + " | ".join(md_cell(md_text(n)) for n in names) + (" | interop" if several else "")
             + " |", "| --- |" + " :---: |" * (len(names) + several)]
    kind = None
    for row in matrix["rows"]:
        if row["kind"] != kind:
            kind = row["kind"]
            lines.append(f"| **{'documented rules' if kind == 'rule' else 'endpoints × routes'}** |"
                         + " |" * (len(names) + several))
        cells = matrix["cells"][row["id"]]
        lines.append(f"| {md_cell(md_code(row['label']))} | "
                     + " | ".join(md_cell(md_text(_cell_text(cells[n]))) for n in names)
                     + (f" | {_interop_mark(matrix, row)}" if several else "") + " |")
    lines += ["", md_text(LEGEND), ""]
    lines += score_markdown(matrix)
    for target in matrix["targets"]:
        name = target["name"]
        lines += [f"#### {md_text(name)}: {_verdict(matrix, target)}", "",
                  f"{md_code(target['url'])}: {_counts(target)}; {plural(target['problems'], 'problem')}"
                  + (f" ({target['known_problems']} known)" if target["known_problems"] else "") + ".", ""]
        lines += [f"- ⚠️ {md_code(error)}" for error in target["input_errors"]]
        for problem in _problems(matrix, name):
            known = f" — *known: {md_text(problem['known'])}*" if problem["known"] else ""
            lines.append(f"{problem['number']}. {'≈' if problem['known'] else '✗'} "
                         f"{', '.join(md_code(e) for e in problem['endpoints'][:4])} — {md_code(problem['rule'])} "
                         f"{md_text(shorten(problem['message'], _MESSAGE))} (first: {md_code(_where(problem))}){known}")
        notes = _not_judged(matrix, name)
        if notes:
            lines += ["", "<details><summary>Not judged</summary>", ""]
            lines += [f"- {md_code(label)}: {md_text(reason)}" for label, reason in notes]
            lines += ["", "</details>"]
        for strict, note in limitation_notes(target):
            lines.append(f"- {'⚠️ profile' if strict else 'note'}: {md_text(note)}")
        lines.append("")
    return "\n".join(lines)


def score_markdown(matrix: dict[str, Any]) -> list[str]:
    """The table of scores and the target-specific failures, as Markdown lines."""
    lines = ["| " + " | ".join(SCORE_HEAD) + " |", "| --- |" + " ---: |" * (len(SCORE_HEAD) - 1)]
    lines += ["| " + " | ".join(md_cell(md_text(cell)) for cell in cells) + " |" for cells in score_table(matrix)]
    lines += ["", md_text(SCORE_HELP), ""]
    specific = specific_lines(matrix)
    if specific:
        lines += ["**Target-specific failures** (broken on this target only):", ""]
        lines += [f"- ✗ {md_text(name)} · {md_code(label)}" + (f" — problems {numbers}" if numbers else "")
                  for name, label, numbers in specific]
        lines.append("")
    return lines


def write_matrix_markdown(matrix: dict[str, Any], path: Path) -> None:
    atomic_write(path, matrix_markdown(matrix).encode("utf-8"))




def _relative(report: str, page: Path) -> str:
    return Path(os.path.relpath(Path(report).resolve(), page.resolve().parent)).as_posix()


def _link(report: str | None, page: Path, problem: dict[str, Any]) -> str | None:
    """The interaction in the target's own HTML report, relative to the matrix page."""
    found = problem.get("interaction")
    if not report or not found:
        return None
    return f"{_relative(report, page)}#{anchor_of(found['cassette'], found['index'])}"


def render_matrix_html(matrix: dict[str, Any], page: Path) -> str:
    """The page as written at ``page`` (links to each target's report are relative to it)."""
    matrix = summarized(matrix)
    reports = {t["name"]: t.get("report") for t in matrix["targets"]}
    targets = [{**t, "report_link": _relative(t["report"], page) if t.get("report") else None}
               for t in matrix["targets"]]
    rows: list[dict[str, Any]] = []
    kind = None
    for row in matrix["rows"]:
        if row["kind"] != kind:
            kind = row["kind"]
            rows.append({"group": "documented rules" if kind == "rule" else "endpoints × routes"})
        cells = []
        for target in targets:
            cell = matrix["cells"][row["id"]][target["name"]]
            problems = [{**p, "where": _where(p), "link": _link(reports[target["name"]], page, p)}
                        for p in cell.get("problems", [])]
            cells.append({"reasons": [], "warnings": [], **cell, "mark": MARKS[cell["state"]],
                          "cls": cell["state"].replace(" ", "-"), "problems": problems, "text": _cell_text(cell)})
        rows.append({"row": row, "cells": cells, "interop": _interop_mark(matrix, row)})
    return TEMPLATES.get_template("matrix.html.j2").render(
        matrix=matrix, targets=targets, rows=rows, legend=LEGEND, marks=MARKS, several=len(targets) > 1,
        score_head=SCORE_HEAD, score_rows=score_table(matrix), score_help=SCORE_HELP, specific=specific_lines(matrix),
        notes={t["name"]: limitation_notes(t) for t in targets},
        verdicts={t["name"]: _verdict(matrix, t) for t in targets}, counts={t["name"]: _counts(t) for t in targets},
        problems={t["name"]: [{**p, "where": _where(p), "link": _link(reports[t["name"]], page, p)}
                              for p in _problems(matrix, t["name"])] for t in targets},
    )


def write_matrix_html(matrix: dict[str, Any], path: Path) -> None:
    atomic_write(path, render_matrix_html(matrix, path).encode("utf-8"))
