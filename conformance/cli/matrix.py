"""``conformance matrix``: one suite, several targets, one table of behaviours × targets."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import TYPE_CHECKING

import click

from conformance.api_profile import TOKEN_MODES, TokenMode
from conformance.atomic import check_writable
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
from conformance.cli.option_order import RecordsArguments, in_command_line_order
from conformance.cli.options import (
    check_outputs,
    check_trust,
    chosen_reports,
    command_with_port,
    max_body_option,
    report_options,
    trust_options,
)
from conformance.report.formats import FORMATS
from conformance.settings import RunChoices, RunSettings, api_key_of

if TYPE_CHECKING:
    from conformance.findings import RunResult
    from conformance.replay.targets import Target
    from conformance.report.formats import ReportFormat
    from conformance.report.profile import Profile


def _named(values: tuple[str, ...], option: str, example: str) -> list[tuple[str, str]]:
    """``NAME=VALUE`` pairs of a repeatable option."""
    pairs = []
    for text in values:
        name, equals, value = text.partition("=")
        if not equals or not name.strip() or not value.strip():
            raise click.UsageError(f"{option} {text!r}: expected NAME=VALUE, such as {example}")
        pairs.append((name.strip(), value.strip()))
    return pairs


def _token_modes(values: tuple[str, ...], names: list[str]) -> dict[str, TokenMode]:
    """--tokens MODE for every target, --tokens NAME=MODE for one (whatever the order)."""
    default: TokenMode = "magic"
    chosen: dict[str, TokenMode] = {}
    for text in values:
        name, equals, given = text.rpartition("=")
        mode = next((known for known in TOKEN_MODES if known == given), None)
        if mode is None:
            raise click.UsageError(f"--tokens {text!r}: expected magic, create, or NAME=magic|create")
        if not equals:
            default = mode
        elif name not in names:
            raise click.UsageError(f"--tokens {text!r}: no target named {name!r} (targets: {', '.join(names)})")
        else:
            chosen[name] = mode
    return {name: chosen.get(name, default) for name in names}


def _targets_in_order(targets: tuple[str, ...], target_cmds: tuple[str, ...]) -> list[Target]:
    """The targets as the command line named them, ``--target`` and ``--target-cmd`` mixed: the matrix's columns."""
    from conformance.replay.targets import Target

    given = in_command_line_order(click.get_current_context(), ("--target", "--target-cmd"))
    if sorted(value for option, value in given if option == "--target") != sorted(targets) or \
            sorted(value for option, value in given if option == "--target-cmd") != sorted(target_cmds):
        given = [("--target", text) for text in targets] + [("--target-cmd", text) for text in target_cmds]
    chosen = []
    for option, text in given:
        if option == "--target":
            [(name, url)] = _named((text,), "--target", "localstripe=http://127.0.0.1:8420")
            chosen.append(Target(name, url=url))
        else:
            [(name, cmd)] = _named((text,), "--target-cmd", "mine=\"./server --port {port}\"")
            chosen.append(Target(name, command=command_with_port(cmd, f"--target-cmd {name}")))
    return chosen


@main.command("matrix", cls=RecordsArguments)
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--suite", "with_suite", is_flag=True,
              help="Replay the reference suite that ships with the package (also with PATHS: both).")
@click.option("--target", "targets", multiple=True, metavar="NAME=URL",
              help="A target under its column name, e.g. localstripe=http://127.0.0.1:8420 (repeatable).")
@click.option("--target-cmd", "target_cmds", multiple=True, metavar="NAME=CMD",
              help="A target started with this command ({port} becomes a free port) and stopped afterwards "
                   "(repeatable).")
@click.option("--profile", "profiles", multiple=True, type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Known limitations per target (YAML; docs/matrix-format.md): what they break is shown as known, "
                   "not failing (repeatable).")
@click.option("--strict-profiles", is_flag=True,
              help="Exit 1 when a profile's limitation is fixed, shadowed, expired, too broad or has no issue: link.")
@click.option("--api-key", envvar="STRIPE_API_KEY",
              help="API key sent to every target (also from STRIPE_API_KEY; default: the API profile's test key).")
@api_option
@click.option("--allow-live", is_flag=True, help="Allow a live key (sk_live_/rk_live_).")
@click.option("--tokens", "tokens", multiple=True, metavar="[NAME=]MODE",
              help="magic (default) or create, for every target, or NAME=create for one (targets that do not know "
                   "the API's magic test tokens, such as localstripe); repeatable.")
@click.option("--strict", is_flag=True, help="Keys not in the recording (or the contract) are failures, not warnings.")
@click.option("--openapi", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC", help=OPENAPI_HELP)
@click.option("--ignore", "ignore", multiple=True, metavar="PATH", help="As for run: do not compare this path or rule.")
@click.option("--exact", "exact", multiple=True, metavar="PATH", help="As for run: compare this path exactly.")
@click.option("--stripe-version", metavar="VERSION", help="Send this Stripe-Version instead of the recorded one.")
@timeout_option
@click.option("--start-timeout", type=click.FloatRange(min=0.1), default=30.0, show_default=True,
              help="Seconds a --target-cmd target has to start listening.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Targets replayed at once (and, beyond one per target, cassettes of each at once).")
@wait_for_target_option
@max_body_option
@report_options(matrix=True)
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path),
              help=f"Also write each target's full reports into DIR/NAME/ ({', '.join(f.file_name for f in FORMATS)}"
                   "); the matrix links each problem to its interaction there.")
@trust_options(targets=True)
def matrix_command(
    paths: tuple[Path, ...], with_suite: bool, targets: tuple[str, ...], target_cmds: tuple[str, ...], profiles: tuple[Path, ...],
    strict_profiles: bool, api_key: str | None, api_name: str, allow_live: bool, tokens: tuple[str, ...], strict: bool,
    openapi: Path | None, ignore: tuple[str, ...], exact: tuple[str, ...], stripe_version: str | None, timeout: float,
    start_timeout: float, workers: int, wait_for_target: float, max_body: int, reports_dir: Path | None,
    cacert: Path | None, insecure: bool,
) -> None:
    """Replay the suite against several targets and judge each documented behaviour and route per target:
    holds, broken (its problems), known (its profile), not judged (why) or not covered.

    \b
        conformance matrix --suite --target mine=http://127.0.0.1:8420 \\
          --target-cmd "localstripe=python -m conformance.suite.localstripe_target --port {port}" \\
          --tokens localstripe=create --html-report m.html

    Exit code 0: no behaviour broken but as the profiles expect; 1: a behaviour broken (or, with --strict-profiles,
    a profile's limitation to fix); 2: usage or input error.
    """
    from conformance.replay.targets import check_names
    from conformance.report.profile import read_profiles

    paths = suite_paths(paths, with_suite)
    chosen = _targets_in_order(targets, target_cmds)
    if not chosen:
        raise click.UsageError("give the targets: --target NAME=URL or --target-cmd NAME=CMD, repeatable")
    check_names(chosen)  # before anything is read or started
    names = [t.name for t in chosen]
    check_trust(cacert, insecure)
    api = api_profile(api_name)
    api_key = api_key_of(api, api_key, allow_live, "--allow-live")
    modes = _token_modes(tokens, names)
    known = read_profiles(profiles)
    for name, profile in known.items():
        if name not in names:
            raise InputError(f"{profile.place}: the profile names target {name!r}, which is not one of the targets "
                             f"({', '.join(names)}); name it as --target or --target-cmd does")
    outputs = chosen_reports(matrix=True)
    cassettes = cassette_files(paths)
    _check_outputs(outputs, reports_dir, names, [*cassettes, *profiles, *(p for p in (openapi, cacert) if p)])
    total = interactions_to_check(cassettes, paths, "replay")
    choices = RunChoices(api, api_key, strict=strict, ignore=ignore, exact=exact, contract=contract_of(openapi, api),
                         stripe_version=stripe_version, timeout=timeout, max_body=max_body, cacert=cacert,
                         insecure=insecure)
    _replay_and_judge(cassettes, chosen, choices.settings(), modes, known, total, outputs, reports_dir,
                      start_timeout=start_timeout, wait_for_target=wait_for_target, workers=workers,
                      strict_profiles=strict_profiles)


def _check_outputs(outputs: list[tuple[ReportFormat, Path]], reports_dir: Path | None, names: list[str],
                   inputs: list[Path]) -> None:
    """Before anything is started: no output on an input or on another output, each one writable — the matrix's
    and, with ``--reports-dir``, every target's reports."""
    written = [(fmt.option, path) for fmt, path in outputs]
    if reports_dir is not None:
        written += [(f"--reports-dir {name}", reports_dir / name / fmt.file_name) for name in names for fmt in FORMATS]
    check_outputs(written, inputs)
    for _, path in outputs:
        check_writable(path)
    if reports_dir is not None:
        for name in names:
            check_writable(reports_dir / name / FORMATS[0].file_name)


def _replay_and_judge(cassettes: list[Path], chosen: list[Target], settings: RunSettings, modes: dict[str, TokenMode],
                      known: dict[str, Profile], total: int, outputs: list[tuple[ReportFormat, Path]],
                      reports_dir: Path | None, *, start_timeout: float, wait_for_target: float, workers: int,
                      strict_profiles: bool) -> None:
    """The targets started, the suite replayed against each, the matrix built, printed and written (each target's
    reports too, with ``--reports-dir``), and the exit code."""
    from rich.console import Console

    from conformance.replay.targets import started_targets
    from conformance.report.matrix import build_matrix, matrix_exit_code
    from conformance.report.matrix_views import print_matrix
    from conformance.report.terminal import progress

    console = Console(highlight=False, soft_wrap=True)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        urls = stack.enter_context(started_targets(chosen, start_timeout, wait_for_target))
        advance = stack.enter_context(progress(console, total * len(chosen)))
        stop, signals = stack.enter_context(interruptible())
        results = settings.run_targets(cassettes, urls, modes, workers=workers, on_interaction=advance, stop=stop)
        interrupted = signals[0] if signals else None
    for result in results.values():
        result.interrupted_by = interrupted
    reports = _write_target_reports(results, reports_dir) if reports_dir is not None else {}
    matrix = build_matrix(results, known, [str(c) for c in cassettes], reports, time.perf_counter() - started,
                          api=settings.options.profile)
    print_matrix(console, matrix)
    for fmt, path in outputs:
        assert fmt.matrix_writer is not None
        fmt.matrix_writer(matrix, path)
        console.print(f"Matrix: {path}")
    if reports_dir is not None:
        console.print(f"Each target's reports: {reports_dir}/NAME/")
    raise SystemExit(matrix_exit_code(matrix, interrupted, strict_profiles=strict_profiles))


def _write_target_reports(results: dict[str, RunResult], reports_dir: Path) -> dict[str, str]:
    """``--reports-dir``: every format of each target's run into DIR/NAME/ (its root causes computed once);
    returns each target's HTML report, which the matrix links."""
    from conformance.report.formats import write_reports

    pages: dict[str, str] = {}
    for name, result in results.items():
        write_reports(result, [(fmt, reports_dir / name / fmt.file_name) for fmt in FORMATS])
        pages[name] = str(reports_dir / name / next(f.file_name for f in FORMATS if f.name == "html"))
    return pages
