"""The HTML report: one self-contained file (no network, no external assets).

A summary per endpoint and per rule, a filter by outcome, and for each deviating
interaction its findings and a side-by-side view of the recorded and the actual
JSON with the lines of the differing paths highlighted. The filter can be set
from the address too: ``report.html#failed``.
"""

from __future__ import annotations

import json
from collections import Counter
from html import escape
from pathlib import Path
from typing import Any

from .findings import FAILURE, MISSING, InteractionResult, RunResult
from .reports import _atomic_write, _value, endpoint_table

__all__ = ["render", "write_html"]

_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,sans-serif;margin:24px;color:#1d2330;background:#fff}
h1{font-size:20px;margin:0 0 4px} h2{font-size:16px;margin:24px 0 8px}
.verdict{font-weight:600} .ok{color:#1a7f37} .bad{color:#cf222e} .warn{color:#9a6700}
table{border-collapse:collapse;margin:8px 0} td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left}
th{background:#f6f8fa} td.n{text-align:right;font-variant-numeric:tabular-nums}
.filters button{margin-right:6px;padding:4px 12px;border:1px solid #d0d7de;background:#f6f8fa;border-radius:6px;cursor:pointer}
.filters button.on{background:#0969da;color:#fff;border-color:#0969da}
.interaction{border:1px solid #d0d7de;border-radius:6px;margin:10px 0;padding:8px 12px}
.interaction.failed{border-left:6px solid #cf222e} .interaction.warning{border-left:6px solid #bf8700}
.interaction.passed{border-left:6px solid #1a7f37}
.hidden{display:none}
.title{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:13px}
ul.findings{margin:6px 0;padding-left:18px} ul.findings code{background:#f6f8fa;padding:0 3px}
.sides{display:grid;grid-template-columns:1fr 1fr;gap:10px}
.sides pre{margin:0;padding:8px;background:#f6f8fa;border-radius:6px;overflow:auto;max-height:420px;font-size:12px}
.sides pre span.diff{background:#ffebe9;display:block} .sides pre span.line{display:block}
.muted{color:#57606a}
"""

_SCRIPT = """
function show(outcome){
  document.querySelectorAll('.filters button').forEach(b=>b.classList.toggle('on',b.dataset.outcome===outcome));
  document.querySelectorAll('.interaction').forEach(el=>{
    el.classList.toggle('hidden', outcome!=='all' && el.dataset.outcome!==outcome);
  });
  document.body.dataset.filter=outcome;
}
document.querySelectorAll('.filters button').forEach(b=>b.addEventListener('click',()=>{
  history.replaceState(null,'','#'+b.dataset.outcome); show(b.dataset.outcome);}));
show((location.hash||'#all').slice(1)||'all');
"""


def _json_lines(value: Any, path: str = "", indent: int = 0, key: str | None = None, last: bool = True) -> list[tuple[str, str]]:
    """Pretty JSON as (line, JSON path of the value on it)."""
    pad = "  " * indent
    prefix = f"{pad}{json.dumps(key)}: " if key is not None else pad
    comma = "" if last else ","
    if isinstance(value, dict) and value:
        lines = [(prefix + "{", path)]
        items = list(value.items())
        for number, (child, item) in enumerate(items):
            child_path = f"{path}.{child}" if path else str(child)
            lines += _json_lines(item, child_path, indent + 1, str(child), number == len(items) - 1)
        return lines + [(pad + "}" + comma, path)]
    if isinstance(value, list) and value:
        lines = [(prefix + "[", path)]
        for number, item in enumerate(value):
            lines += _json_lines(item, f"{path}[{number}]", indent + 1, None, number == len(value) - 1)
        return lines + [(pad + "]" + comma, path)]
    return [(prefix + json.dumps(value, ensure_ascii=False) + comma, path)]


def _highlighted(value: Any, paths: set[str]) -> str:
    if value is None:
        return '<span class="muted">(no JSON body)</span>'
    if isinstance(value, str):
        return escape(value)
    out = []
    for line, path in _json_lines(value):
        differs = any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in paths if p) or (
            "" in paths and path == "")
        out.append(f'<span class="{"diff" if differs else "line"}">{escape(line)}</span>')
    return "".join(out)


def _interaction(cassette: str, interaction: InteractionResult) -> str:
    outcome = interaction.outcome
    status = str(interaction.status) if interaction.actual_status in (None, interaction.status) else (
        f"{interaction.status} → {interaction.actual_status}")
    parts = [f'<div class="interaction {outcome}" data-outcome="{outcome}">',
             f'<div class="title">{escape(Path(cassette).name)} #{interaction.index} <b>{escape(interaction.endpoint)}</b> '
             f'{escape(interaction.method)} {escape(interaction.path)} ({escape(status)})</div>']
    if interaction.findings:
        parts.append('<ul class="findings">')
        for finding in interaction.findings:
            cls = "muted" if finding.accepted else "bad" if finding.severity == FAILURE else "warn"
            expected = "" if finding.expected is MISSING else f" expected <code>{escape(_value(finding.expected))[:300]}</code>"
            actual = "" if finding.actual is MISSING else f" got <code>{escape(_value(finding.actual))[:300]}</code>"
            accepted = " (accepted by the baseline)" if finding.accepted else ""
            parts.append(f'<li class="{cls}"><b>{escape(finding.rule)}</b> <code>{escape(finding.path or "(response)")}'
                         f'</code>:{expected}{actual}{accepted}</li>')
        parts.append("</ul>")
        if interaction.recorded_body is not None or interaction.actual_body is not None:
            paths = {f.path for f in interaction.findings}
            parts.append('<div class="sides"><div><div class="muted">recorded (target ids bound)</div><pre>'
                         + _highlighted(interaction.recorded_body, paths) + '</pre></div><div><div class="muted">actual'
                         '</div><pre>' + _highlighted(interaction.actual_body, paths) + "</pre></div></div>")
    parts.append("</div>")
    return "".join(parts)


def render(result: RunResult) -> str:
    counts = result.counts()
    total = sum(counts.values())
    verdict = {0: ("ok", "conforms"), 1: ("bad", "deviations found"), 2: ("bad", "input errors")}[result.exit_code]
    rules = Counter(f.rule for _, i in result.interactions() for f in i.findings if not f.accepted)
    rows = "".join(f"<tr><td>{escape(e)}</td><td class=n>{p}</td><td class=n>{f}</td><td class=n>{w}</td></tr>"
                   for e, p, f, w in endpoint_table(result))
    rule_rows = "".join(f"<tr><td>{escape(rule)}</td><td class=n>{count}</td></tr>" for rule, count in sorted(rules.items()))
    errors = "".join(f'<p class="bad">{escape(c.error or "")}</p>' for c in result.input_errors)
    interactions = "".join(_interaction(c.path, i) for c, i in result.interactions())
    buttons = "".join(f'<button data-outcome="{o}">{label} ({n})</button>' for o, label, n in (
        ("all", "all", total), ("failed", "failed", counts["failed"]), ("warning", "warnings", counts["warning"]),
        ("passed", "passed", counts["passed"])))
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Card conformance of {escape(result.target)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_STYLE}</style></head>
<body data-filter="all">
<h1>Card conformance of <code>{escape(result.target)}</code></h1>
<p class="verdict {verdict[0]}">{verdict[1]}: {total} interactions in {len(result.cassettes)} cassettes —
{counts['passed']} passed, {counts['failed']} failed, {counts['warning']} with warnings ({result.seconds:.2f}s)</p>
{errors}
<div style="display:flex;gap:32px;flex-wrap:wrap">
<div><h2>Per endpoint</h2><table id="endpoints"><tr><th>endpoint</th><th>passed</th><th>failed</th><th>warnings</th></tr>{rows}</table></div>
<div><h2>Per rule</h2><table id="rules"><tr><th>rule</th><th>findings</th></tr>{rule_rows or '<tr><td colspan=2>none</td></tr>'}</table></div>
</div>
<h2>Interactions</h2>
<div class="filters">{buttons}</div>
<div id="interactions">{interactions}</div>
<script>{_SCRIPT}</script>
</body></html>
"""


def write_html(result: RunResult, path: Path) -> None:
    _atomic_write(path, render(result).encode("utf-8"))
