"""``conformance explore``: generated sequences judged by the documented rules; each problem a minimal cassette."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from conformance.api_profile import TOKEN_MODES, ApiProfile, TokenMode
from conformance.atomic import atomic_write, check_writable
from conformance.cli.main import (
    OPENAPI_HELP,
    InputError,
    api_option,
    api_profile,
    contract_of,
    main,
    timeout_option,
    wait_for_target_option,
)
from conformance.cli.options import (
    check_outputs,
    check_trust,
    chosen_reports,
    command_with_port,
    max_body_option,
    report_options,
    trust_options,
)
from conformance.errors import refuse_live_key
from conformance.report.formats import ReportFormat
from conformance.settings import RunChoices, RunSettings

if TYPE_CHECKING:  # Hypothesis is imported when explore runs, not when the CLI starts
    from conformance.explore import ExploreResult, Failure
    from conformance.explore.runner import Machines
    from conformance.redaction import Redactor

F = TypeVar("F", bound=Callable[..., Any])


def _run_report_help(fmt: ReportFormat) -> str | None:
    """run's report options but its JSON (explore's own ``--json-report`` tells the exploration): each writes
    run's report of the failing cassettes, replayed on the target."""
    return None if fmt.option == "--json-report" else \
        f"Write run's {fmt.label} of the failing cassettes replayed on the target here."


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
@wait_for_target_option
@max_body_option
@click.option("--json-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write what was explored and found (JSON) here.")
@report_options(help_of=_run_report_help)
@trust_options()
def explore_command(target: str | None, target_cmd: str | None, reference: str | None, reference_cmd: str | None,
                    seed: int, max_examples: int, budget: float,
                    max_failures: int, out: Path, api_key: str | None, api_name: str, allow_live: bool,
                    tokens: TokenMode, openapi: Path | None, timeout: float, wait_for_target: float, max_body: int,
                    json_report: Path | None, cacert: Path | None, insecure: bool) -> None:
    """Generate sequences of requests from the API profile and judge every answer by the documented rules.

    Each rule found broken is shrunk to the fewest steps that still break it and written to --out as a cassette
    that `conformance run CASSETTE --target URL` reproduces. Exit code 0: nothing found; 1: deviations found;
    2: usage or input error.
    """
    from conformance.cassette.cache import cache_dir
    from conformance.explore import explore
    from conformance.explore.cut import cut_down
    from conformance.replay import check_target, target_process

    _check_choices(target, target_cmd, reference, reference_cmd, seed, budget, max_examples, max_failures)
    check_trust(cacert, insecure)
    api = api_profile(api_name)
    machines = api.explorer()
    api_key = refuse_live_key(api_key or api.default_api_key, "exploring creates and deletes objects", allow_live,
                              "--allow-live")
    for command in (target_cmd, reference_cmd):
        if command:
            command_with_port(command)
    reports = chosen_reports()
    _check_reports(json_report, reports, [path for path in (openapi, cacert) if path])
    # run's settings, built as every door builds them: explore judges with their contract and reaches the target
    # with their limits (timeout, body cap, certificate check), and the failing cassettes are cut down, replayed
    # and reported with them (the profile's redactor names a test card)
    settings = RunChoices(api, api_key, tokens=tokens, contract=contract_of(openapi, api), timeout=timeout,
                          max_body=max_body, cacert=cacert, insecure=insecure).settings()
    redactor = settings.options.redactor
    cache = cache_dir()
    with contextlib.ExitStack() as stack:
        if target_cmd:
            target = stack.enter_context(target_process(target_cmd))
        if reference_cmd:
            reference = stack.enter_context(target_process(reference_cmd))
        assert target is not None
        check_target(target, wait=wait_for_target)
        if reference:
            check_target(reference, wait=wait_for_target)
        result = explore(settings.explore_options(target, seed=seed, max_examples=max_examples, budget=budget,
                                                  max_failures=max_failures, reference=reference or "",
                                                  database=cache / "explore" if cache is not None else None))
        if result.sequences == 0 and not result.failures:  # nothing checked is never a pass
            raise InputError(f"explored nothing: no sequence ran in {result.seconds:.1f}s; give a larger --budget "
                             "or --max-examples")
        explored = target
        written = _write_failures(result, out, target, reference, api, api_key, redactor, machines,
                                  _reproduce_options(tokens, openapi, settings),
                                  lambda path: cut_down(path, explored, settings, budget=_CUT_BUDGET))
        if reports:  # run's reports of the failing cassettes, replayed
            _run_reports([path for _, path, _ in written], target, settings, reports)
    if json_report:
        _write_json_report(json_report, result, reference, seed, written, redactor)
    raise SystemExit(result.exit_code)


def _check_choices(target: str | None, target_cmd: str | None, reference: str | None, reference_cmd: str | None,
                   seed: int, budget: float, max_examples: int, max_failures: int) -> None:
    """Before anything starts: one target, at most one reference, numbers that explore something."""
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


def _check_reports(json_report: Path | None, reports: list[tuple[ReportFormat, Path]], inputs: list[Path]) -> None:
    """Before exploring, as ``run`` checks its reports: no two on one path (the second would replace the first),
    none on an input (the ``--openapi`` description, the ``--cacert`` certificate), each writable — not after a
    budget of exploring."""
    outputs = [*([("--json-report", json_report)] if json_report else []),
               *((fmt.option, path) for fmt, path in reports)]
    check_outputs(outputs, inputs)
    for _, path in outputs:
        check_writable(path)


def _write_json_report(path: Path, result: ExploreResult, reference: str | None, seed: int,
                       written: list[tuple[Failure, Path, int]], redactor: Redactor) -> None:
    """``--json-report``: what was explored and found, redacted, written whole or not at all."""
    data = {"target": redactor.text(result.target), "reference": redactor.text(reference) if reference else None,
            "seed": seed, "sequences": result.sequences, "requests": result.requests,
            "seconds": round(result.seconds, 3), "exit_code": result.exit_code,
            "failures": [{"rule": f.rule, "message": redactor.text(f.message), "steps": steps,
                          "cassette": str(p), "seed": f.seed} for f, p, steps in written],
            "warnings": [{"rule": n.rule, "message": redactor.text(n.message)} for n in result.notices]}
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())


def _reproduce_options(tokens: TokenMode, openapi: Path | None, settings: RunSettings) -> str:
    """What ``run`` needs beside the cassette and the target to judge as explore judged, and to reach the target
    as explore reached it (its certificate check, a body cap other than the default)."""
    from conformance.net import DEFAULT_MAX_BODY

    verify = settings.verify
    return "".join([" --tokens create" if tokens == "create" else "", f" --openapi {openapi}" if openapi else "",
                    f" --max-body {settings.max_body}" if settings.max_body != DEFAULT_MAX_BODY else "",
                    f" --cacert {verify}" if isinstance(verify, str) else " --insecure" if verify is False else ""])


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
                             recorded=machines.recorded)
        steps = cut(path) or len(failure.steps)
        written.append((failure, path, steps))
        click.echo(f"  ✗ [{failure.rule}] {redactor.text(failure.message)}")
        click.echo(f"      {steps} steps: {path} — reproduce: conformance run {path} --target URL"
                   + options)
    for notice in result.notices:  # warnings: listed, never a reason to fail
        click.echo(f"  ! [{notice.rule}] {redactor.text(notice.message)} (a warning)")
    click.echo(_summary(len(result.failures), len({failure.rule for failure in result.failures})))
    return written


def _summary(problems: int, rules: int) -> str:
    """The last line: problems found (a rule told once per route, such as route.missing, counts once a route)
    and the distinct rules they break."""
    if not problems:
        return "0 problems — conforms"
    broken = f"{rules} rule{'s' if rules != 1 else ''}"
    return f"{problems} problem{'s' if problems != 1 else ''} ({broken} broken) — deviations found"


def _run_reports(cassettes: list[Path], target: str, settings: RunSettings,
                 reports: list[tuple[ReportFormat, Path]]) -> None:
    """The failing cassettes replayed on the target as ``run`` replays them (its settings: the profile's redactor
    names a test card as run's reports name it), reported by run's own writers: each finding in them is one
    ``run CASSETTE --target URL`` shows (none found: a report of no cassette)."""
    from conformance.report.formats import write_reports

    write_reports(settings.run(cassettes, target), reports)
