"""The quickstart's main job: the reference suite against localstripe, end to end on this machine.

Starts localstripe (from PyPI) on 127.0.0.1 as the target, replays the
reference suite (shipped with the package; the checkout's ``cassettes/``), writes the reports under ``reports/demo``
and prints a summary. localstripe's deviations from Stripe's documented
behaviour are the demo's findings, not a failure of the demo.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from conformance.cassette import find_cassettes
from conformance.checks import CompareRules
from conformance.errors import CassetteError
from conformance.findings import RunResult
from conformance.redaction import Redactor
from conformance.replay import ReplayOptions, run
from conformance.report import WRITERS
from conformance.report.terminal import print_result
from conformance.stripe import STRIPE
from conformance.suite.localstripe_target import running
from conformance.text import plural


def run_demo(suite: Path, out_dir: Path, console: Console) -> RunResult:
    """Replay ``suite`` against a fresh localstripe, print the result, write every report under ``out_dir``."""
    cassettes = find_cassettes([suite]) if suite.exists() else []
    if not cassettes:
        raise CassetteError(suite, None, "no cassettes here to replay")
    with running() as target:
        console.print(f"localstripe is listening on {target}; replaying {plural(len(cassettes), 'cassette')} from {suite}")
        # localstripe does not know the magic test tokens: cards are attached from tokens made at it
        options = ReplayOptions(api_key="sk_test_" + "demo" * 6, profile=STRIPE, rules=CompareRules(),
                                redactor=Redactor(cards=STRIPE.cards), tokens="create")
        result = run(cassettes, target, options)
    print_result(console, result, reports=[out_dir / name for name, _, _ in WRITERS])
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, writer, _ in WRITERS:
        writer(result, out_dir / name)
    console.print("\nReports: " + ", ".join(str(out_dir / name) for name, _, _ in WRITERS))
    console.print("The findings above are where localstripe departs from Stripe's documented card behaviour; "
                  "the demo itself succeeded.")
    return result
