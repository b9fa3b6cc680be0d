"""``conformance run``: cassettes replayed against one target, every deviation reported."""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from conformance.api_profile import TOKEN_MODES, TokenMode
from conformance.atomic import check_writable, probe_directory
from conformance.cli.main import (
    OPENAPI_HELP,
    InputError,
    api_option,
    api_profile,
    cassette_files,
    contract_of,
    interactions_to_check,
    interruptible,
    main,
    suite_paths,
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
from conformance.settings import RunChoices, RunSettings, api_key_of

if TYPE_CHECKING:
    import threading

    from rich.console import Console

    from conformance.findings import RunResult
    from conformance.redaction import Redactor
    from conformance.report.causes import RootCause
    from conformance.report.formats import ReportFormat
    from conformance.report.reproductions import Reproductions

# How many candidate replays a root cause's cassette may take to be cut down, and how long all of them together
# (conformance.replay.repro's defaults, here so that --help does not import the replay engine).
REPRO_REPLAYS = 64
REPRO_BUDGET = 120.0


class _ProbeName(click.ParamType):
    """A probe the engine knows (``conformance.replay.probe.PROBES``), read when the option is used or shown: the
    replay package is not imported for every command line."""

    name = "probe"

    def _choice(self) -> click.Choice[str]:
        from conformance.replay.probe import PROBES

        return click.Choice(PROBES)

    def get_metavar(self, param: click.Parameter, ctx: click.Context) -> str | None:
        return self._choice().get_metavar(param, ctx)

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        return str(self._choice().convert(value, param, ctx))


@main.command("run")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--suite", "with_suite", is_flag=True,
              help="Replay the reference suite that ships with the package (also with PATHS: both).")
@click.option("--target", metavar="URL", help="Base URL of the server under test, e.g. http://127.0.0.1:8420.")
@click.option("--target-cmd", metavar="CMD",
              help="Start the target with this command ({port} becomes a free port), run, then stop it.")
@click.option("--api-key", envvar="STRIPE_API_KEY",
              help="API key sent to the target (also from STRIPE_API_KEY); never taken from a cassette. Default: "
                   "the API profile's test key (stripe: sk_test_cardconformance, which every public fake takes).")
@api_option
@click.option("--allow-live", is_flag=True, help="Allow a live key (sk_live_/rk_live_).")
@click.option("--strict", is_flag=True,
              help="Keys not in the recording (or, with --openapi, not in the contract) are failures, not warnings.")
@click.option("--openapi", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC", help=OPENAPI_HELP)
@click.option("--ignore", "ignore", multiple=True, metavar="PATH",
              help="Do not compare this key or path (data[*].fingerprint, **.wallet), and drop any finding there; "
                   "RULE or RULE:PATH drops a rule's findings (invariant.card:wallet); repeatable.")
@click.option("--exact", "exact", multiple=True, metavar="PATH",
              help="Compare this key or path exactly, e.g. error.message or created; repeatable.")
@timeout_option
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cassettes replayed at once (interactions of a cassette stay in order).")
@wait_for_target_option
@max_body_option
@report_options()
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="A JSON report of known deviations: only findings not in it fail the run.")
@click.option("--shard", metavar="I/N", help="Run the I-th of N deterministic slices of the cassettes (CI matrix).")
@click.option("--stripe-version", metavar="VERSION",
              help="Send this Stripe-Version instead of the recorded one (default: each request's recorded "
                   "Stripe-Version, else its cassette's api_version).")
@click.option("--tokens", type=click.Choice(TOKEN_MODES), default="magic", show_default=True,
              help="magic: send the API's test tokens (tok_visa…) as recorded; create: first make a token at the "
                   "target from the test card each stands for (targets that do not know the magic tokens).")
@click.option("--probe", "probes", type=_ProbeName(), multiple=True,
              help="Also send the extra requests of this probe after the recorded ones and judge the answers "
                   "(idempotency: each recorded POST with an Idempotency-Key sent again with the same key, and once "
                   "with a changed parameter); repeatable.")
@click.option("--repro-dir", type=click.Path(path_type=Path), metavar="DIR",
              help="Write here, per failing root cause, the fewest interactions of its cassette that still show it "
                   "on the target (delta debugging, one replay per candidate), as a cassette `conformance run` "
                   "replays; the reports name each one.")
@click.option("--repro-replays", type=click.IntRange(min=1), default=REPRO_REPLAYS, show_default=True, metavar="N",
              help="With --repro-dir: the most candidate replays per root cause (then the smallest found so far is "
                   "written, and said to be).")
@click.option("--repro-budget", type=click.FloatRange(min=0, min_open=True), default=REPRO_BUDGET,
              show_default=True, metavar="SECONDS", help="With --repro-dir: the most seconds all root causes' "
                                                         "replays may take together.")
@click.option("--show-all", is_flag=True, help="Print every root cause, deviating and blocked interaction and finding.")
@trust_options()
def run_command(
    paths: tuple[Path, ...],
    with_suite: bool,
    target: str | None,
    target_cmd: str | None,
    api_key: str | None,
    api_name: str,
    allow_live: bool,
    strict: bool,
    openapi: Path | None,
    ignore: tuple[str, ...],
    exact: tuple[str, ...],
    timeout: float,
    workers: int,
    wait_for_target: float,
    max_body: int,
    baseline: Path | None,
    shard: str | None,
    stripe_version: str | None,
    tokens: TokenMode,
    probes: tuple[str, ...],
    repro_dir: Path | None,
    repro_replays: int,
    repro_budget: float,
    show_all: bool,
    cacert: Path | None,
    insecure: bool,
) -> None:
    """Replay cassettes against a target and report every deviation.

    Exit code 0: everything conforms; 1: deviations found; 2: usage or input error.
    """
    if bool(target) == bool(target_cmd):
        raise click.UsageError("give exactly one of --target URL and --target-cmd CMD")
    paths = suite_paths(paths, with_suite)
    check_trust(cacert, insecure)
    api = api_profile(api_name)
    api_key = api_key_of(api, api_key, allow_live, "--allow-live")
    if target_cmd:
        command_with_port(target_cmd)
    cassettes = cassette_files(paths)
    reports = chosen_reports()
    check_outputs([(fmt.option, path) for fmt, path in reports],
                  [*cassettes, *(p for p in (baseline, openapi, cacert) if p)])
    for _, path in reports:
        check_writable(path)  # before the run, not after minutes of it
    if repro_dir is not None:
        _check_repro_dir(repro_dir, paths)
    if shard:
        cassettes = _shard(cassettes, shard)
    known = _known(baseline) if baseline else None
    choices = RunChoices(api, api_key, strict=strict, ignore=ignore, exact=exact, tokens=tokens,
                         contract=contract_of(openapi, api), stripe_version=stripe_version, probes=probes,
                         timeout=timeout, max_body=max_body, cacert=cacert, insecure=insecure)
    total = interactions_to_check(cassettes, paths, "replay")
    _replay_and_report(cassettes, target, target_cmd, choices.settings(), total, known,
                       _Repro(repro_dir, repro_replays, repro_budget), workers=workers,
                       wait_for_target=wait_for_target, show_all=show_all, reports=reports)


def _known(baseline: Path) -> RunResult:
    """``--baseline``: the run its JSON report tells (the baselines' module imported only when one is given)."""
    from conformance.report.baseline import read_report

    return read_report(baseline)


@dataclass(frozen=True)
class _Repro:
    """``--repro-dir`` and its limits: where repro cassettes go (None: none), how many replays and seconds."""

    directory: Path | None
    replays: int
    budget: float


def _replay_and_report(cassettes: list[Path], target: str | None, target_cmd: str | None, settings: RunSettings,
                       total: int, known: RunResult | None, repro: _Repro, *, workers: int, wait_for_target: float,
                       show_all: bool, reports: list[tuple[ReportFormat, Path]]) -> None:
    """The run itself (the target started when given as a command), then what it found: printed, written in
    every report asked for from one computation of its root causes, and the exit code."""
    from rich.console import Console

    from conformance.replay import check_target, target_process
    from conformance.report.causes import root_causes
    from conformance.report.formats import write_reports
    from conformance.report.terminal import print_result, progress

    console = Console(highlight=False, soft_wrap=True)
    repros: Reproductions = {}
    with contextlib.ExitStack() as stack:
        if target_cmd:
            target = stack.enter_context(target_process(target_cmd))
        assert target is not None
        check_target(target, wait=wait_for_target)
        stop, signals = stack.enter_context(interruptible())
        with progress(console, total) as advance:
            result = settings.run(cassettes, target.rstrip("/"), workers=workers, on_interaction=advance, stop=stop)
        if signals:
            result.interrupted_by = signals[0]
        if known is not None:
            from conformance.report.baseline import accept_baseline

            accept_baseline(result, known)
        causes = root_causes(result)  # once: the terminal and every report tell the same causes
        if repro.directory is not None and not signals and not result.setup_error:
            repros = _cut_down(console, result, causes, repro, settings, known, stop)
            if signals:  # interrupted while cutting down: the run says so (its reports too), whatever it found
                result.interrupted_by = signals[0]
    print_result(console, result, show_all=show_all, reports=[path for _, path in reports], repros=repros,
                 causes=causes)
    write_reports(result, reports, repros=repros, causes=causes)  # a ReportError: one line and exit 2
    for fmt, path in reports:
        console.print(f"{fmt.label}: {path}")
    raise SystemExit(result.exit_code)


def _check_repro_dir(directory: Path, inputs: tuple[Path, ...]) -> None:
    """Before the run: ``--repro-dir`` is a directory this process can write (or can be made in one), and not one
    the run reads cassettes from (the next run would replay the repro cassettes as its own)."""
    if directory.exists() and not directory.is_dir():
        raise InputError(f"--repro-dir {directory}: a file, not a directory; give a directory for the repro cassettes")
    if any(given.is_dir() and directory.resolve().is_relative_to(given.resolve()) for given in inputs):
        raise InputError(f"--repro-dir {directory} is in a directory of cassettes this run replays: the repro "
                         "cassettes would be replayed as its own next time; give a directory outside it")
    existing = directory
    while not existing.exists():
        existing = existing.parent  # the directory that would be made is made inside this one
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise InputError(f"--repro-dir {directory}: {existing} is not a writable directory")
    try:
        probe_directory(existing)
    except OSError as error:
        raise InputError(f"--repro-dir {directory}: cannot write in {existing}: {error.strerror or error}") from None


# The options that change how a run judges, repeated in the command that replays a repro cassette (when given).
_JUDGING = (("--api", "api_name"), ("--tokens", "tokens"), ("--strict", "strict"), ("--openapi", "openapi"),
            ("--ignore", "ignore"), ("--exact", "exact"), ("--stripe-version", "stripe_version"),
            ("--probe", "probes"), ("--cacert", "cacert"), ("--insecure", "insecure"))


def _replay_command(redactor: Redactor) -> Callable[[Path], str]:
    """``conformance run PATH --target URL`` (or ``--target-cmd CMD``) with the judging options this run was given:
    what replays a repro cassette as this run replayed it. Redacted as every output."""
    context = click.get_current_context()
    params = context.params
    words = ["--target-cmd", params["target_cmd"]] if params["target_cmd"] else ["--target", params["target"]]
    for option, name in _JUDGING:
        value = params[name]
        if context.get_parameter_source(name) in (ParameterSource.DEFAULT, None) or value in (None, False, ()):
            continue
        values = value if isinstance(value, tuple) else (value,)
        words += [option] if value is True else [word for item in values for word in (option, str(item))]
    return lambda path: redactor.text(shlex.join(["conformance", "run", str(path), *words]))


def _cut_down(console: Console, result: RunResult, causes: list[RootCause], repro: _Repro, settings: RunSettings,
              known: RunResult | None, stop: threading.Event) -> Reproductions:
    """``--repro-dir``: a repro cassette per failing root cause, replayed as the run replayed, the run's baseline
    applied to each candidate."""
    from conformance.replay.repro import ReproLimits, reproduce
    from conformance.report.baseline import accept_baseline
    from conformance.rules import Severity

    assert repro.directory is not None
    accept = (lambda candidate: accept_baseline(candidate, known)) if known is not None else None
    failing = sum(1 for cause in causes if cause.severity == Severity.FAILURE)
    if failing:  # one line before the cutting down starts: it takes replays, and how many at most
        console.print(f"Cutting down a repro cassette for {failing} root cause{'s' if failing != 1 else ''} into "
                      f"{repro.directory} (at most {repro.replays} replays each, {repro.budget:g}s in all)…")
    return reproduce(result, repro.directory, settings.options, _replay_command(settings.options.redactor),
                     limits=ReproLimits(repro.replays, repro.budget), accept=accept, timeout=settings.timeout,
                     verify=settings.verify, max_body=settings.max_body, stop=stop)


def _shard(cassettes: list[Path], shard: str) -> list[Path]:
    """The I-th of N slices: every N-th cassette in path order, so slices are disjoint, stable and even."""
    try:
        index, count = (int(part) for part in shard.split("/"))
    except ValueError:
        raise click.UsageError(f"--shard {shard!r}: expected I/N, such as 1/4") from None
    if not 1 <= index <= count:
        raise click.UsageError(f"--shard {shard!r}: I must be between 1 and N")
    return sorted(cassettes)[index - 1 :: count]
