"""``conformance serve``: cassettes answer an application offline."""

from __future__ import annotations

from pathlib import Path

import click

from conformance.api_profile import ApiProfile
from conformance.cli.main import (
    InputError,
    WrappingCommand,
    api_option,
    api_profile,
    cassette_files,
    main,
)
from conformance.cli.proxy import PROXY_MODES, ProxyMode, print_session, retry_bugs, run_proxy
from conformance.errors import ConformanceError
from conformance.mitm import addon_path
from conformance.net import check_port_free, free_port
from conformance.redaction import Redactor
from conformance.serve.faults import parse_faults
from conformance.serve.matching import EXHAUSTED_MODES, Exhausted


@main.command(cls=WrappingCommand)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(PROXY_MODES), default="reverse", show_default=True,
              help="reverse: the application uses the server as its API base; forward: as its HTTPS proxy.")
@click.option("--allow-misses", is_flag=True, help="Exit 0 even when the session asked for something no cassette has.")
@click.option("--listen-host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--listen-port", type=click.IntRange(0, 65535), default=0, help="Port to listen on (default: a free one).")
@click.option("--exhausted", type=click.Choice(EXHAUSTED_MODES), default="repeat", show_default=True,
              help="When all recorded answers to a request were served: repeat the last one, or miss.")
@click.option("--miss-status", type=click.IntRange(100, 999), default=599, show_default=True,
              help="HTTP status answered to a request no cassette has.")
@click.option("--fault", "faults", multiple=True, metavar="KIND@ENDPOINT[:N|%P]",
              help="Inject a fault (429, 500, 503, drop, drop-after) into the Nth request of an endpoint (a label, "
                   "or *; the first by default), or into each with probability P percent. Repeatable.")
@click.option("--fault-seed", type=int, default=0, show_default=True, help="Seed of the draws of --fault …%P.")
@click.option("--max-age", type=click.FloatRange(min=0, min_open=True), metavar="DAYS",
              help="Warn, per cassette, of answers recorded more than DAYS days ago (recorded_at) or of no known "
                   "age, as check --max-age does; a warning only, the exit code stays the session's.")
@click.option("--no-reload", is_flag=True, help="Do not reload cassettes when their files change.")
@click.option("--confdir", type=click.Path(file_okay=False, path_type=Path),
              help="mitmproxy configuration directory holding its CA (forward mode default: ~/.mitmproxy).")
@click.option("--set", "mitm_options", multiple=True, metavar="OPTION=VALUE", help="Pass an option to mitmproxy.")
@api_option
def serve(
    paths: tuple[Path, ...], mode: ProxyMode, allow_misses: bool, listen_host: str, listen_port: int, exhausted: Exhausted,
    miss_status: int, faults: tuple[str, ...], fault_seed: int, max_age: float | None, no_reload: bool,
    confdir: Path | None,
    mitm_options: tuple[str, ...], api_name: str,
) -> None:
    """Answer requests from cassettes, offline: never a request goes upstream.

    Identical requests get the recorded answers in recorded order; a request no
    cassette has gets HTTP 599 with the closest recorded candidates. Give an
    application after -- to run it against the cassettes as one session:

        conformance serve cassettes/ -- pytest tests/

    A POST repeating an idempotency key the session answered gets that answer
    again (Idempotent-Replayed: true); the key with other parameters gets an
    idempotency_error. --fault drop-after@sources.create drops the connection
    after the answer was given: the retry must get the replay.

    When the session ends (the command exits, Ctrl-C), a summary says what was
    answered, what was missed and what was never asked, and what the client
    did after each fault, and how old the oldest answer served was (--max-age
    warns at start of each cassette holding older ones, and changes no exit
    code); a miss or a retry under a new key makes the exit code 1
    (--allow-misses: a miss 0), a failing command passes its own code through,
    and Ctrl-C (SIGTERM) stops the session with its summary and exit 130 (143).
    """
    api = api_profile(api_name)  # here, not first in mitmdump: a wrong --api is one line and exit 2
    try:
        parse_faults(faults, {route.name for route in api.routes})
    except ConformanceError as error:
        raise InputError(str(error)) from None
    cassettes = cassette_files(paths)
    count = _count_and_warn(cassettes, max_age, api)
    if not count:
        raise InputError(f"no interactions to serve in {', '.join(map(str, paths))}: every cassette is empty")
    if listen_port:
        check_port_free(listen_host, listen_port)
    else:
        listen_port = free_port(listen_host)
    args = ["-s", addon_path("server"), "--set", "connection_strategy=lazy", "--set", f"api_profile={api_name}",
            "--set", f"serve_exhausted={exhausted}", "--set", f"serve_miss_status={miss_status}",
            "--set", f"serve_reload={'false' if no_reload else 'true'}"]
    for path in paths:
        args += ["--set", f"serve_cassettes={path}"]
    for fault in faults:
        args += ["--set", f"serve_faults={fault}"]
    if faults:
        args += ["--set", f"serve_fault_seed={fault_seed}"]
    if max_age is not None:  # the addon warns again of a cassette that changes while served
        args += ["--set", f"serve_max_age={max_age!r}"]
    ready = f"Serving {count} interactions from {len(cassettes)} cassette{'s' if len(cassettes) != 1 else ''}"
    if mode == "reverse":
        ready += ": point the application's API base at {address}"
    wrapped: tuple[str, ...] = click.get_current_context().meta.get("wrapped", ())
    # reverse mode needs an upstream address; nothing is ever sent to it
    run = run_proxy(args, mode, "http://127.0.0.1:9", listen_host, listen_port, confdir, mitm_options, Redactor(cards=api.cards),
                     ready, ready_line=r"serving \d+ interactions", wrapped=wrapped, session=True)
    if run.proxy_died:
        raise InputError(f"the serving proxy stopped (mitmdump exit code {run.proxy_code})")
    misses = print_session(run.session)
    if wrapped and (run.interrupted or run.command_code):
        raise SystemExit(run.exit_code())
    raise SystemExit(1 if (misses and not allow_misses) or retry_bugs(run.session) else 0)


def _count_and_warn(cassettes: list[Path], max_age: float | None, api: ApiProfile) -> int:
    """How many interactions the cassettes hold; with ``max_age``, each cassette's warnings on answers older than
    it or of no known age, printed here — the addon's own at load come before the proxy is ready, and are not."""
    from conformance.cassette import iter_interactions
    from conformance.cassette.age import judge_ages
    from conformance.serve.ages import stale_warnings

    count = 0
    for path in cassettes:
        if max_age is None:
            count += sum(1 for _ in iter_interactions(path))
            continue
        ages = judge_ages(iter_interactions(path, None, api), max_age)  # streamed: it keeps only the old and the undated
        count += ages.total
        for line in stale_warnings(str(path), ages):
            click.echo(line)
    return count
