"""``conformance explore``: generated sequences judged by the documented rules; each problem a minimal cassette."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import click

from conformance.api_profile import TOKEN_MODES, ApiProfile, TokenMode
from conformance.atomic import check_writable
from conformance.cli.main import OPENAPI_HELP, api_option, api_profile, contract_of, main, timeout_option
from conformance.cli.options import command_with_port
from conformance.errors import refuse_live_key
from conformance.redaction import Redactor

if TYPE_CHECKING:  # Hypothesis is imported when explore runs, not when the CLI starts
    from conformance.contract import Contract
    from conformance.explore import ExploreResult, Failure
    from conformance.explore.runner import Machines


@main.command("explore")
@click.option("--target", metavar="URL", help="Base URL of the server under test, e.g. http://127.0.0.1:8420.")
@click.option("--target-cmd", metavar="CMD",
              help="Start the target with this command ({port} becomes a free port), explore, then stop it.")
@click.option("--reference", metavar="URL",
              help="Send each request to this reference too and compare the target's answers with its answers "
                   "(run's comparison, ids bound per target); failing cassettes are recorded from the reference.")
@click.option("--reference-cmd", metavar="CMD",
              help="Start the reference with this command ({port} becomes a free port), then stop it.")
@click.option("--seed", type=int, default=0, show_default=True,
              help="The same seed generates the same sequences (a failing one kept from before is tried first).")
@click.option("--max-examples", type=int, default=100_000, show_default=True,
              help="Generate at most this many sequences.")
@click.option("--budget", type=float, default=60.0, show_default=True, metavar="SECONDS",
              help="Stop generating after this long (shrinking a failure included).")
@click.option("--max-failures", type=int, default=0, metavar="N",
              help="Stop once N distinct rules are found broken (each shrunk). Default: explore the whole budget.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("explore-failures"),
              show_default=True, help="Write each failing sequence, shrunk, here as a cassette.")
@click.option("--api-key", envvar="STRIPE_API_KEY",
              help="API key sent to the target (also from STRIPE_API_KEY). Default: the API profile's test key.")
@api_option
@click.option("--allow-live", is_flag=True, help="Allow a live key (sk_live_/rk_live_).")
@click.option("--tokens", type=click.Choice(TOKEN_MODES), default="magic", show_default=True,
              help="magic: attach the API's test tokens (tok_visa…); create: attach a token the target makes from "
                   "the test card first (for targets that refuse the magic tokens, e.g. localstripe).")
@click.option("--openapi", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC", help=OPENAPI_HELP)
@timeout_option
@click.option("--json-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write what was explored and found (JSON) here.")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path),
              help="Write run's JUnit XML of the failing cassettes replayed on the target here.")
@click.option("--html-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write run's HTML report of the failing cassettes replayed on the target here.")
@click.option("--markdown-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write run's Markdown report of the failing cassettes replayed on the target here.")
def explore_command(target: str | None, target_cmd: str | None, reference: str | None, reference_cmd: str | None,
                    seed: int, max_examples: int, budget: float,
                    max_failures: int, out: Path, api_key: str | None, api_name: str, allow_live: bool,
                    tokens: TokenMode, openapi: Path | None, timeout: float, json_report: Path | None,
                    junit_xml: Path | None, html_report: Path | None,
                    markdown_report: Path | None) -> None:
    """Generate sequences of requests from the API profile and judge every answer by the documented rules.

    Each rule found broken is shrunk to the fewest steps that still break it and written to --out as a cassette
    that `conformance run CASSETTE --target URL` reproduces. Exit code 0: nothing found; 1: deviations found;
    2: usage or input error.
    """
    from conformance.cassette.cache import cache_dir
    from conformance.checks.compare import CompareRules
    from conformance.explore import ExploreOptions, explore
    from conformance.explore.cut import cut_down
    from conformance.explore.reference import reference_rules
    from conformance.explore.session import TokenPlan
    from conformance.replay import ReplayOptions, check_target, target_process

    if bool(target) == bool(target_cmd):
        raise click.UsageError("give exactly one of --target URL and --target-cmd CMD")
    if reference and reference_cmd:
        raise click.UsageError("give at most one of --reference URL and --reference-cmd CMD")
    if seed < 0:
        raise click.BadParameter(f"{seed} is negative: give a seed of 0 or more", param_hint="--seed")
    if budget <= 0:
        raise click.BadParameter(f"{budget:g} seconds explores nothing: give more than 0", param_hint="--budget")
    if max_examples < 1:
        raise click.BadParameter(f"{max_examples} explores nothing: give 1 or more", param_hint="--max-examples")
    if max_failures < 0:
        raise click.BadParameter(f"{max_failures} is negative: give 1 or more (0: no limit)",
                                 param_hint="--max-failures")
    api = api_profile(api_name)
    contract = contract_of(openapi, api)
    machines = api.explorer()
    api_key = api_key or api.default_api_key
    refuse_live_key(api_key, "exploring creates and deletes objects", allow_live, "--allow-live")
    for command in (target_cmd, reference_cmd):
        if command:
            command_with_port(command)
    for report in (json_report, junit_xml, html_report, markdown_report):
        if report:
            check_writable(report)
    cache = cache_dir()
    redactor = Redactor(cards=api.cards)
    with contextlib.ExitStack() as stack:
        if target_cmd:
            target = stack.enter_context(target_process(target_cmd))
        if reference_cmd:
            reference = stack.enter_context(target_process(reference_cmd))
        assert target is not None
        check_target(target)
        if reference:
            check_target(reference)
        options = ExploreOptions(target.rstrip("/"), api_key, machines, seed=seed, max_examples=max_examples,
                                 budget=budget, database=cache / "explore" if cache is not None else None,
                                 database_key=f"conformance-explore:{api.name}".encode(), timeout=timeout,
                                 version_header=api.headers.version, max_failures=max_failures,
                                 reference=(reference or "").rstrip("/"), rules=reference_rules(api),
                                 idempotency_header=api.headers.idempotency, contract=contract,
                                 tokens=TokenPlan(api.token_path, api.cards, api.token_parameters)
                                 if tokens == "create" else None)
        result = explore(options)
        replay = ReplayOptions(api_key=api_key, profile=api, rules=CompareRules(), tokens=tokens, contract=contract)
        written = _write_failures(result, out, target, reference, api, api_key, redactor, machines,
                                  _reproduce_options(tokens, openapi),
                                  lambda path: cut_down(path, target, replay, timeout=timeout, budget=_CUT_BUDGET))
        if junit_xml or html_report or markdown_report:  # run's reports of the failing cassettes, replayed
            _run_reports([path for _, path, _ in written], target, api, api_key, timeout,
                         {"junit": junit_xml, "html": html_report, "markdown": markdown_report}, tokens, contract)
    if json_report:
        shown = redactor.text(result.target)
        data = {"target": shown, "reference": redactor.text(reference) if reference else None, "seed": seed,
                "sequences": result.sequences, "requests": result.requests,
                "seconds": round(result.seconds, 3), "exit_code": result.exit_code,
                "failures": [{"rule": f.rule, "message": redactor.text(f.message), "steps": steps,
                              "cassette": str(p), "seed": f.seed} for f, p, steps in written],
                "warnings": [{"rule": n.rule, "message": redactor.text(n.message)} for n in result.notices]}
        json_report.write_text(json.dumps(data, indent=2) + "\n")
    raise SystemExit(result.exit_code)


def _reproduce_options(tokens: TokenMode, openapi: Path | None) -> str:
    """What ``run`` needs beside the cassette and the target to judge as explore judged."""
    return (" --tokens create" if tokens == "create" else "") + (f" --openapi {openapi}" if openapi else "")


# the most seconds cutting one failing cassette down may take (run --repro-dir's ddmin, one replay a candidate)
_CUT_BUDGET = 20.0


def _write_failures(result: ExploreResult, out: Path, target: str, reference: str | None, api: ApiProfile,
                    api_key: str, redactor: Redactor, machines: Machines, options: str,
                    cut: Callable[[Path], int]) -> list[tuple[Failure, Path, int]]:
    """Say what was explored and found; write each failure's cassette."""
    from conformance.explore import write_failure

    shown = redactor.text(result.target) if target else ""
    rate = result.requests / result.seconds if result.seconds else 0.0
    click.echo(f"explored {shown}: {result.sequences} sequences, {result.requests} requests in "
               f"{result.seconds:.1f}s ({rate:.0f} requests/s), seed {result.seed}")
    written: list[tuple[Failure, Path, int]] = []
    for failure in result.failures:
        path = write_failure(failure, out, target=shown, api_key=api_key, profile=api, redactor=redactor,
                             reference=redactor.text(reference) if reference else "",
                             recorded=getattr(machines, "recorded", None))
        steps = cut(path) or len(failure.steps)
        written.append((failure, path, steps))
        click.echo(f"  ✗ [{failure.rule}] {redactor.text(failure.message)}")
        click.echo(f"      {steps} steps: {path} — reproduce: conformance run {path} --target URL"
                   + options)
    for notice in result.notices:  # warnings: listed, never a reason to fail
        click.echo(f"  ! [{notice.rule}] {redactor.text(notice.message)} (a warning)")
    click.echo(f"{len(result.failures)} rule{'s' if len(result.failures) != 1 else ''} broken — "
               + ("deviations found" if result.failures else "conforms"))
    return written


def _run_reports(cassettes: list[Path], target: str, api: ApiProfile, api_key: str, timeout: float,
                 paths: dict[str, Path | None], tokens: TokenMode, contract: Contract | None) -> None:
    """The failing cassettes replayed on the target by ``run``, reported by run's own writers: each finding in
    them is one ``run CASSETTE --target URL`` shows (none found: a report of no cassette)."""
    from conformance.checks.compare import CompareRules
    from conformance.replay import ReplayOptions, run
    from conformance.report.html import write_html
    from conformance.report.junit import write_junit
    from conformance.report.markdown import write_markdown

    replayed = run(cassettes, target, ReplayOptions(api_key=api_key, profile=api, rules=CompareRules(),
                                                    tokens=tokens, contract=contract), timeout=timeout)
    writers = {"junit": write_junit, "html": write_html, "markdown": write_markdown}
    for kind, path in paths.items():
        if path is not None:
            writers[kind](replayed, path)
