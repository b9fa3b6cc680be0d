"""``conformance matrix``: one suite, several targets, one table of behaviours × targets."""

from __future__ import annotations

import contextlib
import dataclasses
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
from conformance.cli.options import check_outputs, command_with_port, max_body_option
from conformance.errors import refuse_live_key

if TYPE_CHECKING:
    from conformance.replay.targets import Target


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
@click.option("--json-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the matrix as JSON (what `compare` reads) here.")
@click.option("--markdown-report", type=click.Path(dir_okay=False, path_type=Path), help="Write it as Markdown here.")
@click.option("--html-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write it as one self-contained HTML page here.")
@click.option("--reports-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Also write each target's full reports into DIR/NAME/ (report.json, junit.xml, report.html, "
                   "summary.md); the matrix links each problem to its interaction there.")
@click.option("--cacert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Trust this CA certificate (PEM) for https:// targets.")
@click.option("--insecure", is_flag=True, help="Do not verify https:// targets' certificates.")
def matrix_command(
    paths: tuple[Path, ...], with_suite: bool, targets: tuple[str, ...], target_cmds: tuple[str, ...], profiles: tuple[Path, ...],
    strict_profiles: bool, api_key: str | None, api_name: str, allow_live: bool, tokens: tuple[str, ...], strict: bool,
    openapi: Path | None, ignore: tuple[str, ...], exact: tuple[str, ...], stripe_version: str | None, timeout: float,
    start_timeout: float, workers: int, wait_for_target: float, max_body: int, json_report: Path | None, markdown_report: Path | None,
    html_report: Path | None, reports_dir: Path | None, cacert: Path | None, insecure: bool,
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
    from rich.console import Console

    from conformance.checks import CompareRules
    from conformance.redaction import Redactor
    from conformance.replay import ReplayOptions
    from conformance.replay.targets import check_names, run_targets, started_targets
    from conformance.report import WRITERS
    from conformance.report.matrix import build_matrix, matrix_exit_code, write_matrix_json
    from conformance.report.matrix_views import print_matrix, write_matrix_html, write_matrix_markdown
    from conformance.report.profile import read_profiles
    from conformance.report.terminal import progress

    paths = suite_paths(paths, with_suite)
    chosen = _targets_in_order(targets, target_cmds)
    if not chosen:
        raise click.UsageError("give the targets: --target NAME=URL or --target-cmd NAME=CMD, repeatable")
    check_names(chosen)  # before anything is read or started
    names = [t.name for t in chosen]
    if cacert and insecure:
        raise click.UsageError("give --cacert FILE or --insecure, not both")
    api = api_profile(api_name)
    api_key = api_key or api.default_api_key
    api_key = refuse_live_key(api_key, "a run creates and deletes objects", allow_live, "--allow-live")
    modes = _token_modes(tokens, names)
    known = read_profiles(profiles)
    for name, profile in known.items():
        if name not in names:
            raise InputError(f"{profile.place}: the profile names target {name!r}, which is not one of the targets "
                             f"({', '.join(names)}); name it as --target or --target-cmd does")
    outputs = [(path, writer) for path, writer in ((json_report, write_matrix_json), (markdown_report, write_matrix_markdown),
                                                   (html_report, write_matrix_html)) if path]
    cassettes = cassette_files(paths)
    written = [(option, path) for option, path in (("--json-report", json_report), ("--markdown-report", markdown_report),
                                                   ("--html-report", html_report)) if path]
    if reports_dir is not None:
        written += [(f"--reports-dir {name}", reports_dir / name / file_name) for name in names
                    for file_name in ("report.json", "junit.xml", "report.html", "summary.md")]
    check_outputs(written, [*cassettes, *profiles, *(p for p in (openapi, cacert) if p)])
    for path, _ in outputs:
        check_writable(path)
    if reports_dir is not None:
        for name in names:
            check_writable(reports_dir / name / "report.json")
    total = interactions_to_check(cassettes, paths, "replay")
    contract = contract_of(openapi, api)
    base = ReplayOptions(api_key=api_key, profile=api, rules=CompareRules(strict=strict, ignore=ignore, exact=exact),
                         redactor=Redactor(cards=api.cards), contract=contract, stripe_version=stripe_version)
    options = {name: dataclasses.replace(base, tokens=modes[name]) for name in names}
    console = Console(highlight=False, soft_wrap=True)
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        urls = stack.enter_context(started_targets(chosen, start_timeout, wait_for_target))
        advance = stack.enter_context(progress(console, total * len(chosen)))
        stop, signals = stack.enter_context(interruptible())
        verify: bool | str = False if insecure else str(cacert) if cacert else True
        results = run_targets(cassettes, urls, options, timeout=timeout, workers=workers, on_interaction=advance,
                              verify=verify, stop=stop, max_body=max_body)
        interrupted = signals[0] if signals else None
    for result in results.values():
        result.interrupted_by = interrupted
    reports: dict[str, str] = {}
    if reports_dir is not None:
        for name, result in results.items():
            for file_name, write_report, _ in WRITERS:
                write_report(result, reports_dir / name / file_name)
            reports[name] = str(reports_dir / name / "report.html")
    matrix = build_matrix(results, known, [str(c) for c in cassettes], reports, time.perf_counter() - started,
                          api=api)
    print_matrix(console, matrix)
    for path, writer in outputs:
        writer(matrix, path)
        console.print(f"Matrix: {path}")
    if reports_dir is not None:
        console.print(f"Each target's reports: {reports_dir}/NAME/")
    raise SystemExit(matrix_exit_code(matrix, interrupted, strict_profiles=strict_profiles))
