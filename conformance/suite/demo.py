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
from conformance.errors import CassetteError
from conformance.findings import RunResult
from conformance.report.causes import root_causes
from conformance.report.formats import FORMATS, write_reports
from conformance.report.terminal import print_result
from conformance.settings import RunChoices
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
        settings = RunChoices(STRIPE, "sk_test_" + "demo" * 6, tokens="create").settings()
        result = settings.run(cassettes, target)
    reports = [(fmt, out_dir / fmt.file_name) for fmt in FORMATS]
    causes = root_causes(result)  # once: the terminal and every report tell the same causes
    print_result(console, result, reports=[path for _, path in reports], causes=causes)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_reports(result, reports, causes=causes)
    console.print("\nReports: " + ", ".join(str(path) for _, path in reports))
    console.print("The findings above are where localstripe departs from Stripe's documented card behaviour; "
                  "the demo itself succeeded.")
    return result
