"""The HTML report: one self-contained file (no network, no external assets).

A summary per endpoint and per rule, a filter by outcome, and for each deviating
interaction its findings and a side-by-side view of the recorded and the actual
JSON with the lines of the differing paths highlighted. The filter can be set
from the address too: ``report.html#failed``. Rendered by Jinja2 with
autoescaping from ``templates/report.html.j2``: values are cut before they are
escaped, never an escape sequence in half.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import quote

from markupsafe import Markup, escape

from conformance.atomic import atomic_write
from conformance.findings import MISSING, InteractionResult, RunResult, Verdict
from conformance.report.causes import RootCause, root_causes
from conformance.report.common import value, verdict_text
from conformance.report.pages import TEMPLATES
from conformance.report.reproductions import Reproduction, Reproductions, relative_link
from conformance.rules import Outcome, Severity
from conformance.text import printable, shorten

__all__ = ["render", "write_html", "anchor_of"]

_VALUE_LIMIT = 300


def _json_lines(data: Any, path: str = "", indent: int = 0, key: str | None = None,
                last: bool = True) -> list[tuple[str, str]]:
    """Pretty JSON as (line, JSON path of the value on it)."""
    pad = "  " * indent
    prefix = f"{pad}{json.dumps(key)}: " if key is not None else pad
    comma = "" if last else ","
    if isinstance(data, dict) and data:
        lines = [(prefix + "{", path)]
        items = list(data.items())
        for number, (child, item) in enumerate(items):
            child_path = f"{path}.{child}" if path else str(child)
            lines += _json_lines(item, child_path, indent + 1, str(child), number == len(items) - 1)
        return [*lines, (pad + "}" + comma, path)]
    if isinstance(data, list) and data:
        lines = [(prefix + "[", path)]
        for number, item in enumerate(data):
            lines += _json_lines(item, f"{path}[{number}]", indent + 1, None, number == len(data) - 1)
        return [*lines, (pad + "]" + comma, path)]
    return [(prefix + json.dumps(data, ensure_ascii=False) + comma, path)]


def _highlighted(data: Any, paths: set[str]) -> Markup:
    if data is None:
        return Markup('<span class="muted">(no JSON body)</span>')
    if isinstance(data, str):
        return escape(printable(data))
    out = []
    for line, path in _json_lines(data):
        differs = any(path == p or path.startswith((p + ".", p + "[")) for p in paths if p) or (
            "" in paths and path == "")
        out.append(Markup('<span class="{}">{}</span>').format("diff" if differs else "line", printable(line)))
    return Markup("").join(out)


def anchor_of(cassette: str, index: int) -> str:
    """An interaction's element id: a cause links to each interaction it explains."""
    return "i-" + "".join(c if c.isalnum() else "-" for c in Path(cassette).stem) + f"-{index}"


def _interaction(cassette: str, interaction: InteractionResult) -> dict[str, Any]:
    status = str(interaction.status) if interaction.actual_status in (None, interaction.status) else (
        f"{interaction.status} → {interaction.actual_status}")
    findings = [
        {
            "cls": "muted" if f.accepted or f.consequence_of is not None else
            "bad" if f.severity == Severity.FAILURE else "warn",
            "follows": f.consequence_of,
            "rule": f.rule,
            "path": f.path or "(response)",
            "expected": None if f.expected is MISSING else shorten(value(f.expected), _VALUE_LIMIT),
            "actual": None if f.actual is MISSING else shorten(value(f.actual), _VALUE_LIMIT),
            "accepted": f.accepted,
        }
        for f in interaction.findings
    ]
    paths = {f.path for f in interaction.findings}
    sides = bool(findings) and (interaction.recorded_body is not None or interaction.actual_body is not None)
    return {
        "outcome": str(interaction.outcome), "cassette": Path(cassette).name, "index": interaction.index,
        "anchor": anchor_of(cassette, interaction.index), "blocked_id": interaction.blocked_id,
        "not_judged": interaction.not_judged,
        "endpoint": interaction.endpoint, "method": interaction.method, "path": interaction.path, "status": status,
        "findings": findings, "sides": sides,
        "blocked_by": interaction.blocked_by, "curl": interaction.curl,
        "recorded": _highlighted(interaction.recorded_body, paths) if sides else "",
        "actual": _highlighted(interaction.actual_body, paths) if sides else "",
    }


_LINKS = 4  # interactions linked from a cause; the rest are counted


def _repro(repro: Reproduction | None, at: Path | None) -> dict[str, str] | None:
    """A cause's repro cassette (``--repro-dir``) for the page: its link from where the page is, its command."""
    if repro is None:
        return None
    if repro.path is None:
        return {"note": repro.note}
    return {"href": quote(relative_link(repro.path, at) if at is not None else repro.path.as_posix()),
            "name": repro.path.name, "command": repro.command, "summary": repro.summary()}


def render(result: RunResult, repros: Reproductions | None = None, at: Path | None = None,
           causes: list[RootCause] | None = None) -> str:
    """The page; ``repros``: the causes' repro cassettes (``--repro-dir``), linked from a page written ``at``;
    ``causes``: the run's root causes when the caller has them (computed otherwise)."""
    counts = result.counts()
    total = sum(counts.values())
    rules = Counter(f.rule for _, i in result.interactions() for f in i.findings if not f.accepted)
    return TEMPLATES.get_template("report.html.j2").render(
        target=result.target,
        contract=result.contract,
        verdict=verdict_text(result),
        verdict_class="ok" if result.verdict is Verdict.CONFORMS and result.interrupted_by is None else "bad",
        total=total, cassette_count=len(result.cassettes), seconds=result.seconds,
        passed=counts[Outcome.PASSED], failed=counts[Outcome.FAILED], warnings=counts[Outcome.WARNING],
        blocked=counts[Outcome.BLOCKED],
        causes=[{"endpoints": ", ".join(c.endpoints), "rule": c.rule, "message": c.message, "count": c.count,
                 "cassettes": c.cassettes, "blocked": c.blocked, "symptoms": c.symptoms,
                 "failure": c.severity == Severity.FAILURE,
                 "links": [(anchor_of(cassette, index), f"{Path(cassette).stem} #{index}")
                           for cassette, index in c.interactions[:_LINKS]], "more": max(0, c.count - _LINKS),
                 "repro": _repro((repros or {}).get(c.key), at)}
                for c in (root_causes(result) if causes is None else causes)],
        not_judged=[(anchor_of(c.path, i.index), f"{Path(c.path).stem} #{i.index}", rule, why)
                    for c, i in result.interactions() for rule, why in i.not_judged],
        errors=[c.error for c in result.input_errors] + ([result.setup_error] if result.setup_error else [])
        + (["interrupted: the run was stopped early; this is what ran so far"] if result.interrupted_by else []),
        endpoints=[(e, row[Outcome.PASSED], row[Outcome.FAILED], row[Outcome.BLOCKED], row[Outcome.WARNING])
                   for e, row in result.per_endpoint()],
        rules=sorted(rules.items()),
        buttons=[("all", "all", total), ("failed", "failed", counts[Outcome.FAILED]),
                 ("blocked", "blocked", counts[Outcome.BLOCKED]), ("warning", "warnings only", counts[Outcome.WARNING]),
                 ("passed", "passed", counts[Outcome.PASSED])],
        interactions=[_interaction(c.path, i) for c, i in result.interactions()],
    )


def write_html(result: RunResult, path: Path, repros: Reproductions | None = None,
               causes: list[RootCause] | None = None) -> None:
    atomic_write(path, render(result, repros, path, causes).encode("utf-8"))
