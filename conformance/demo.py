"""The quickstart's main job: the reference suite against localstripe, end to end on this machine.

Starts localstripe (from PyPI) on 127.0.0.1 as the target, replays the
reference suite in ``cassettes/``, writes the reports under ``reports/demo``
and prints a summary. localstripe's deviations from Stripe's documented
behaviour are the demo's findings, not a failure of the demo.
"""

from __future__ import annotations

from pathlib import Path

import click
from rich.console import Console

from .cassette import find_cassettes
from .compare import CompareRules
from .errors import InputError
from .localstripe_target import running
from .replay import ReplayOptions
from .html_report import write_html
from .reports import write_json, write_junit, write_markdown
from .runner import run
from .terminal import print_result


def run_demo(suite: Path, out_dir: Path) -> int:
    cassettes = find_cassettes([suite]) if suite.exists() else []
    if not cassettes:
        raise InputError(f"no reference suite in {suite} (run the demo from the project's directory)")
    console = Console(highlight=False, soft_wrap=True)
    with running() as target:
        console.print(f"localstripe is listening on {target}; replaying {len(cassettes)} cassettes from {suite}")
        result = run(cassettes, target, ReplayOptions(api_key="sk_test_" + "demo" * 6, rules=CompareRules()))
    print_result(console, result)
    out_dir.mkdir(parents=True, exist_ok=True)
    reports = {"report.json": write_json, "junit.xml": write_junit, "report.html": write_html,
               "summary.md": write_markdown}
    for name, writer in reports.items():
        writer(result, out_dir / name)
    console.print("\nReports: " + ", ".join(str(out_dir / name) for name in reports))
    console.print("The findings above are where localstripe departs from Stripe's documented card behaviour; "
                  "the demo itself succeeded.")
    return len(result.input_errors)


def demo_command(suite: Path, out_dir: Path) -> None:
    if run_demo(suite, out_dir):
        raise click.ClickException("some cassettes of the suite could not be read")
