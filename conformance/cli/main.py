"""The ``conformance`` command line: the only place that knows Click and exit codes.

Exit codes: 0 conforms / clean, 1 deviations or problems found, 2 usage or
input error. Every :class:`~conformance.errors.ConformanceError` the core
raises becomes ``Error: <one line>`` and exit 2, here and nowhere else.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import shlex
import signal
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from conformance import __version__
from conformance.atomic import check_writable
from conformance.cassette import load
from conformance.cassette.model import DEFAULT_HOST
from conformance.errors import CassetteError, ConformanceError, refuse_live_key
from conformance.net import check_port_free, check_reachable, free_port
from conformance.record.mitm import MitmProcess, addon_path
from conformance.redaction import Redactor
from conformance.report.baseline import read_report
from conformance.testcards import DEFAULT_API_KEY

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

if TYPE_CHECKING:
    from conformance.contract import Contract

_OPENAPI_HELP = ("Also judge every response by this OpenAPI description (Stripe's spec3.json or spec3.yaml, "
                 "from github.com/stripe/openapi).")


def _contract(openapi: Path | None) -> Contract | None:
    from conformance.contract import load_contract

    return load_contract(openapi) if openapi is not None else None


class InputError(click.ClickException):
    """Bad input or environment: ``Error: <one line>``, exit code 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message


class _Commands(click.Group):
    """Turns the core's errors into :class:`InputError` for every command."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConformanceError as error:
            raise InputError(str(error)) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(130) from None


class _Wrapping(click.Command):
    """A command that can run another one: everything after ``--`` is that command, untouched."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            args, ctx.meta["wrapped"] = args[:at], tuple(args[at + 1:])
            if not ctx.meta["wrapped"]:
                raise click.UsageError("nothing to run after --")
        return super().parse_args(ctx, args)


@click.group(cls=_Commands, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="card-conformance")
def main() -> None:
    """Record, serve and conformance-test Stripe's card endpoints."""


def _writable_cassette(path: Path) -> None:
    """Fail before starting anything if the cassette cannot be written."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(f"cannot create directory {path.parent} for the cassette: {error.strerror}") from None
    if path.is_dir():
        raise InputError(f"cassette path {path} is a directory; give a file such as {path / 'session.yaml'}")
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write cassette {path}: permission denied")


@main.command(cls=_Wrapping)
@click.option("--upstream", metavar="URL", help="Stripe-compatible server to record (reverse mode), e.g. https://api.stripe.com.")
@click.option("--cassette", "cassette_path", required=True, type=click.Path(dir_okay=True, path_type=Path),
              help="Cassette file to write. One that already holds a recording is refused unless --overwrite or "
                   "--append says what to do with it.")
@click.option("--overwrite", is_flag=True,
              help="Replace an existing cassette (kept as NAME.bak until the first interaction is written).")
@click.option("--host", "hosts", multiple=True, metavar="HOST",
              help="Forward mode: the host to intercept and record (default: api.stripe.com; repeatable). Other "
                   "hosts pass through untouched, neither intercepted nor recorded.")
@click.option("--append", is_flag=True, help="Add to an existing cassette, after its interactions.")
@click.option("--mode", type=click.Choice(["reverse", "forward"]), default="reverse", show_default=True,
              help="reverse: the application uses the proxy as its API base; forward: as its HTTPS proxy.")
@click.option("--listen-host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--listen-port", type=click.IntRange(0, 65535), default=0, help="Port to listen on (default: a free one).")
@click.option("--name", help="Cassette name stored in its header (default: the file name).")
@click.option("--source", metavar="TEXT",
              help="Where the recorded expectations come from, stored in the header (\"api.stripe.com, test mode\").")
@click.option("--api-version", metavar="VERSION",
              help="The Stripe API version the answers follow, stored in the header (default: the first answer's "
                   "Stripe-Version).")
@click.option("--record-paths", default=r"^/v1/", show_default=True, metavar="REGEX",
              help="Only requests whose path matches are recorded.")
@click.option("--redact-field", "redact_fields", multiple=True, metavar="NAME",
              help="Also redact the value of this field or header (repeatable).")
@click.option("--redact-pattern", "redact_patterns", multiple=True, metavar="REGEX",
              help="Also redact text matching this regular expression (repeatable).")
@click.option("--confdir", type=click.Path(file_okay=False, path_type=Path),
              help="mitmproxy configuration directory holding its CA (forward mode default: ~/.mitmproxy).")
@click.option("--set", "mitm_options", multiple=True, metavar="OPTION=VALUE",
              help="Pass an option to mitmproxy, e.g. ssl_verify_upstream_trusted_ca=ca.pem (repeatable).")
def record(
    upstream: str | None,
    cassette_path: Path,
    overwrite: bool,
    hosts: tuple[str, ...],
    append: bool,
    mode: str,
    listen_host: str,
    listen_port: int,
    name: str | None,
    source: str | None,
    api_version: str | None,
    record_paths: str,
    redact_fields: tuple[str, ...],
    redact_patterns: tuple[str, ...],
    confdir: Path | None,
    mitm_options: tuple[str, ...],
) -> None:
    """Record the traffic of an application into a YAML cassette.

    Start it, point the application at the address it prints, exercise the
    application, then press Ctrl-C; or give the application after -- and the
    recording lasts as long as it runs (its exit code is this command's):

        conformance record --upstream URL --cassette c.yaml -- python app.py

    Secrets are redacted before anything is written.
    """
    for option in mitm_options:
        if "=" not in option:
            raise click.UsageError(f"--set {option!r}: expected OPTION=VALUE")
    for pattern in (record_paths, *redact_patterns):
        try:
            re.compile(pattern)
        except re.error as error:
            raise InputError(f"invalid regular expression {pattern!r}: {error}") from None
    if mode == "reverse":
        if not upstream:
            raise click.UsageError("reverse mode needs --upstream URL (the server the application talks to)")
        check_reachable(upstream, "upstream")
    if overwrite and append:
        raise click.UsageError("give --overwrite or --append, not both")
    record_mode = "overwrite" if overwrite else "append" if append else "new"
    _writable_cassette(cassette_path)
    before = cassette_path.read_bytes() if cassette_path.is_file() else None
    if before and record_mode == "new":
        raise InputError(f"{cassette_path} already holds a recording: pass --overwrite to replace it "
                         "or --append to add to it")
    if before and record_mode == "append":
        load(cassette_path)  # a cassette that does not load is not appended to
    if listen_port:
        check_port_free(listen_host, listen_port)
    else:
        listen_port = free_port(listen_host)

    args = [
        "-s", addon_path("recorder"),
        "--set", f"cassette={cassette_path}",
        "--set", f"cassette_mode={record_mode}",
        "--set", f"record_paths={record_paths}",
    ]
    if name:
        args += ["--set", f"cassette_name={name}"]
    if source:
        args += ["--set", f"cassette_source={source}"]
    if api_version:
        args += ["--set", f"cassette_api_version={api_version}"]
    if mode == "forward":
        for host in hosts or (DEFAULT_HOST,):
            args += ["--set", f"allow_hosts=^{re.escape(host)}(:\\d+)?$", "--set", f"record_hosts={host}"]
    for value in redact_fields:
        args += ["--set", f"redact_fields={value}"]
    for value in redact_patterns:
        args += ["--set", f"redact_patterns={value}"]
    redactor = Redactor(redact_fields, redact_patterns)
    if mode == "reverse":
        ready = f"Recording {redactor.text(upstream or '')} into {cassette_path}: point the application's API base at {{address}}"
    else:
        ready = f"Recording into {cassette_path}"
    wrapped: tuple[str, ...] = click.get_current_context().meta.get("wrapped", ())
    run = _run_proxy(args, mode, upstream, listen_host, listen_port, confdir, mitm_options, redactor, ready,
                     ready_line=r"recording into ", wrapped=wrapped)
    _report_written(cassette_path, before)
    if run.proxy_died:
        raise InputError(f"the recording proxy stopped (mitmdump exit code {run.proxy_code}); "
                         f"{cassette_path} holds what was recorded until then")
    if wrapped:
        raise SystemExit(run.command_code)


@dataclass
class _ProxyRun:
    interrupted: bool  # by Ctrl-C or SIGTERM
    proxy_code: int | None  # mitmdump's exit code
    proxy_died: bool  # mitmdump stopped on its own
    command_code: int | None = None  # the wrapped command's
    session: dict[str, Any] | None = None  # serve: what the session asked


# Per official SDK, the one line an application needs to honour the exported variables (docs/recording.md).
SDK_HINTS = {
    "reverse": 'Python: stripe.api_base = os.environ["STRIPE_API_BASE"]; '
               'Node: new Stripe(key, {host, port, protocol} from process.env.STRIPE_API_BASE)',
    "forward": 'Python: stripe.ca_bundle_path = os.environ["SSL_CERT_FILE"] (the SDK pins its own CAs); '
               "Node: NODE_EXTRA_CA_CERTS and an https agent for HTTPS_PROXY",
}


def _app_environment(mode: str, address: str, ca: Path) -> dict[str, str]:
    """What a wrapped command (or the user) exports so that its HTTP clients use the proxy."""
    if mode == "reverse":
        return {"STRIPE_API_BASE": address, "CONFORMANCE_PROXY_URL": address}
    ca_path = str(ca.resolve())
    return {"HTTPS_PROXY": address, "HTTP_PROXY": address, "https_proxy": address, "http_proxy": address,
            "SSL_CERT_FILE": ca_path, "REQUESTS_CA_BUNDLE": ca_path, "CURL_CA_BUNDLE": ca_path,
            "NODE_EXTRA_CA_CERTS": ca_path, "CONFORMANCE_PROXY_URL": address}


def _run_proxy(
    args: list[str], mode: str, upstream: str | None, listen_host: str, listen_port: int, confdir: Path | None,
    mitm_options: tuple[str, ...], redactor: Redactor, ready: str, ready_line: str | None = None,
    wrapped: tuple[str, ...] = (), session: bool = False,
) -> _ProxyRun:
    """Run mitmdump with an addon until Ctrl-C, or around a command until it exits."""
    with tempfile.TemporaryDirectory(prefix="conformance-mitm-") as scratch, _interruptible() as (stop, _):
        if confdir is None:
            confdir = Path(scratch) if mode == "reverse" else Path.home() / ".mitmproxy"
        full = [
            "--mode", f"reverse:{upstream}" if mode == "reverse" else "regular",
            *args,
            "--set", f"confdir={confdir}",
            "--set", "flow_detail=0",
            "--set", "termlog_verbosity=info",
        ]
        for option in mitm_options:
            full += ["--set", option]
        mitm = MitmProcess(full, listen_host, listen_port, redactor=redactor, echo=lambda line: click.echo(line),
                           ready_line=ready_line, captured_prefix="session-end " if session else None)
        mitm.start()
        assert mitm.process is not None
        address = f"http://{listen_host}:{listen_port}"
        environment = _app_environment(mode, address, confdir / "mitmproxy-ca-cert.pem")
        if mode == "reverse":
            click.echo(ready.format(address=address))
        else:
            click.echo(f"{ready}: use {address} as the application's HTTPS proxy, trusting "
                       f"{environment['SSL_CERT_FILE']}")
        run = _ProxyRun(False, None, False)
        child = None
        if wrapped:
            click.echo(f"Running {shlex.join(wrapped)} with {', '.join(sorted(environment))} set")
            try:
                child = subprocess.Popen(list(wrapped), env={**os.environ, **environment})
            except OSError as error:
                mitm.stop()
                raise InputError(f"cannot run {wrapped[0]!r}: {error.strerror or error}") from None
        else:
            click.echo("  export " + " ".join(f"{name}={value}" for name, value in sorted(environment.items())
                                              if name.isupper()))
            click.echo(f"  {SDK_HINTS[mode]}")
            click.echo("Press Ctrl-C to stop." + (" SIGHUP (or POST /__conformance__/reset) ends a session."
                                                 if session else ""))

        def hang_up(signum: int, frame: object) -> None:  # SIGHUP to us ends the addon's session
            if mitm.process is not None:
                mitm.process.send_signal(signal.SIGHUP)

        previous = signal.signal(signal.SIGHUP, hang_up) if session else None
        try:
            # Until Ctrl-C, the proxy's end, or the command's; a session ended meanwhile is printed.
            while not stop.is_set() and mitm.process.poll() is None and (child is None or child.poll() is None):
                stop.wait(0.1)
                while not mitm.captured.empty():
                    _print_session(json.loads(mitm.captured.get()))
        finally:
            if previous is not None:
                signal.signal(signal.SIGHUP, previous)
        if child is not None:
            if child.poll() is None:  # Ctrl-C, or the proxy died under it
                child.terminate()
                try:
                    child.wait(10)
                except subprocess.TimeoutExpired:
                    child.kill()
            run.command_code = child.wait()
        run.interrupted = stop.is_set()
        run.proxy_died = mitm.process.poll() is not None
        if session and not run.proxy_died:
            mitm.process.send_signal(signal.SIGHUP)  # the addon prints the session's summary
            try:
                run.session = json.loads(mitm.captured.get(timeout=15))
            except (queue.Empty, ValueError):
                run.session = None
        run.proxy_code = mitm.stop()
        return run


@main.command(cls=_Wrapping)
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--mode", type=click.Choice(["reverse", "forward"]), default="reverse", show_default=True,
              help="reverse: the application uses the server as its API base; forward: as its HTTPS proxy.")
@click.option("--allow-misses", is_flag=True, help="Exit 0 even when the session asked for something no cassette has.")
@click.option("--listen-host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--listen-port", type=click.IntRange(0, 65535), default=0, help="Port to listen on (default: a free one).")
@click.option("--exhausted", type=click.Choice(["repeat", "miss"]), default="repeat", show_default=True,
              help="When all recorded answers to a request were served: repeat the last one, or miss.")
@click.option("--miss-status", type=click.IntRange(100, 999), default=599, show_default=True,
              help="HTTP status answered to a request no cassette has.")
@click.option("--no-reload", is_flag=True, help="Do not reload cassettes when their files change.")
@click.option("--confdir", type=click.Path(file_okay=False, path_type=Path),
              help="mitmproxy configuration directory holding its CA (forward mode default: ~/.mitmproxy).")
@click.option("--set", "mitm_options", multiple=True, metavar="OPTION=VALUE", help="Pass an option to mitmproxy.")
def serve(
    paths: tuple[Path, ...], mode: str, allow_misses: bool, listen_host: str, listen_port: int, exhausted: str,
    miss_status: int, no_reload: bool, confdir: Path | None, mitm_options: tuple[str, ...],
) -> None:
    """Answer requests from cassettes, offline: never a request goes upstream.

    Identical requests get the recorded answers in recorded order; a request no
    cassette has gets HTTP 599 with the closest recorded candidates. Give an
    application after -- to run it against the cassettes as one session:

        conformance serve cassettes/ -- pytest tests/

    When the session ends (the command exits, Ctrl-C), a summary says what was
    answered, what was missed and what was never asked; a miss makes the exit
    code 1 (--allow-misses: 0), a failing command passes its own code through.
    """
    from conformance.cassette import iter_interactions

    cassettes = _cassettes(paths)
    count = sum(1 for path in cassettes for _ in iter_interactions(path))
    if not count:
        raise InputError(f"no interactions to serve in {', '.join(map(str, paths))}: every cassette is empty")
    if listen_port:
        check_port_free(listen_host, listen_port)
    else:
        listen_port = free_port(listen_host)
    args = ["-s", addon_path("server"), "--set", "connection_strategy=lazy",
            "--set", f"serve_exhausted={exhausted}", "--set", f"serve_miss_status={miss_status}",
            "--set", f"serve_reload={'false' if no_reload else 'true'}"]
    for path in paths:
        args += ["--set", f"serve_cassettes={path}"]
    ready = f"Serving {count} interactions from {len(cassettes)} cassette{'s' if len(cassettes) != 1 else ''}"
    if mode == "reverse":
        ready += ": point the application's API base at {address}"
    wrapped: tuple[str, ...] = click.get_current_context().meta.get("wrapped", ())
    # reverse mode needs an upstream address; nothing is ever sent to it
    run = _run_proxy(args, mode, "http://127.0.0.1:9", listen_host, listen_port, confdir, mitm_options, Redactor(),
                     ready, ready_line=r"serving \d+ interactions", wrapped=wrapped, session=True)
    if run.proxy_died:
        raise InputError(f"the serving proxy stopped (mitmdump exit code {run.proxy_code})")
    misses = _print_session(run.session)
    if wrapped and run.command_code:
        raise SystemExit(run.command_code)
    raise SystemExit(1 if misses and not allow_misses else 0)


def _print_session(session: dict[str, Any] | None) -> int:
    """The session's summary; how many requests it missed."""
    if session is None:
        click.echo("warning: the session's summary could not be read", err=True)
        return 0
    misses, unused = session["misses"], session["unused"]
    click.echo(f"Session: {session['answered']} request{'s' if session['answered'] != 1 else ''} answered, "
               f"{len(misses)} miss{'es' if len(misses) != 1 else ''}, {len(unused)} recorded interaction"
               f"{'s' if len(unused) != 1 else ''} never asked for")
    for miss in misses:
        closest = f"; closest: {miss['closest']} ({'; '.join(miss['why_not'])})" if miss.get("closest") else ""
        click.echo(f"  MISS {miss['request']}{closest}")
    for item in unused[:20]:
        click.echo(f"  unused: {item['cassette']} #{item['interaction']} {item['endpoint']} {item['request']}")
    if len(unused) > 20:
        click.echo(f"  … {len(unused) - 20} more unused")
    return len(misses)


def _with_suite(paths: tuple[Path, ...], with_suite: bool) -> tuple[Path, ...]:
    """PATHS, and the reference suite with --suite; neither is a usage error."""
    if with_suite:
        from conformance.suite.reference import reference_suite

        paths = (*paths, reference_suite())
    if not paths:
        raise click.UsageError("give the cassettes to replay (files or directories), or --suite for the reference "
                               "suite")
    return paths


def _cassettes(paths: tuple[Path, ...]) -> list[Path]:
    """The cassette files of the arguments, or one clear InputError."""
    from conformance.cassette import find_cassettes

    cassettes = find_cassettes(list(paths))
    if not cassettes:
        raise InputError(f"no cassettes (*.yaml, *.yml) in {', '.join(map(str, paths))}")
    return cassettes


def _interactions_to_check(cassettes: list[Path], paths: tuple[Path, ...], verb: str) -> int:
    """How many interactions the cassettes hold; none at all is an input error, never a pass."""
    from conformance.cassette import count_interactions, iter_interactions

    total = sum(count_interactions(path) for path in cassettes)
    if total:
        return total
    for path in cassettes:
        for _ in iter_interactions(path):  # an unreadable cassette raises its own error, which says more
            pass
    raise InputError(f"no interactions to {verb} in {', '.join(map(str, paths))}: every cassette is empty")


def _report_written(path: Path, before: bytes | None) -> None:
    if (path.read_bytes() if path.is_file() else None) == before:
        click.echo(f"Recorded nothing: {path} " + ("left as it was" if before is not None else "not created"))
        return
    cassette = load(path)
    for warning in cassette.warnings:
        click.echo(f"warning: {warning}", err=True)
    count = len(cassette.interactions)
    click.echo(f"Wrote {count} interaction{'s' if count != 1 else ''} to {path}")


@main.command("run")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--suite", "with_suite", is_flag=True,
              help="Replay the reference suite that ships with the package (also with PATHS: both).")
@click.option("--target", metavar="URL", help="Base URL of the server under test, e.g. http://127.0.0.1:8420.")
@click.option("--target-cmd", metavar="CMD",
              help="Start the target with this command ({port} becomes a free port), run, then stop it.")
@click.option("--api-key", envvar="STRIPE_API_KEY", default=DEFAULT_API_KEY, show_default=True,
              help="API key sent to the target (also from STRIPE_API_KEY); never taken from a cassette.")
@click.option("--allow-live", is_flag=True, help="Allow a live key (sk_live_/rk_live_).")
@click.option("--strict", is_flag=True,
              help="Keys not in the recording (or, with --openapi, not in the contract) are failures, not warnings.")
@click.option("--openapi", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC", help=_OPENAPI_HELP)
@click.option("--ignore", "ignore", multiple=True, metavar="PATH",
              help="Do not compare this key or path (data[*].fingerprint, **.wallet), and drop any finding there; "
                   "RULE or RULE:PATH drops a rule's findings (invariant.card:wallet); repeatable.")
@click.option("--exact", "exact", multiple=True, metavar="PATH",
              help="Compare this key or path exactly, e.g. error.message or created; repeatable.")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
              help="Seconds to wait for each answer.")
@click.option("--workers", type=click.IntRange(min=1), default=1, show_default=True,
              help="Cassettes replayed at once (interactions of a cassette stay in order).")
@click.option("--wait-for-target", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
              help="Wait up to this long for a target that is still starting before giving up (exit 2).")
@click.option("--json-report", type=click.Path(dir_okay=False, path_type=Path), help="Write the JSON report here.")
@click.option("--junit-xml", type=click.Path(dir_okay=False, path_type=Path), help="Write JUnit XML here.")
@click.option("--html-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a self-contained HTML report here.")
@click.option("--markdown-report", type=click.Path(dir_okay=False, path_type=Path),
              help="Write a Markdown summary (for a pull-request comment) here.")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path),
              help="A JSON report of known deviations: only findings not in it fail the run.")
@click.option("--shard", metavar="I/N", help="Run the I-th of N deterministic slices of the cassettes (CI matrix).")
@click.option("--stripe-version", metavar="VERSION",
              help="Send this Stripe-Version instead of the recorded one (default: each request's recorded "
                   "Stripe-Version, else its cassette's api_version).")
@click.option("--tokens", type=click.Choice(["magic", "create"]), default="magic", show_default=True,
              help="magic: send Stripe's test tokens (tok_visa…) as recorded; create: first make a token at the "
                   "target from the test card each stands for (targets that do not know the magic tokens).")
@click.option("--show-all", is_flag=True, help="Print every root cause, deviating and blocked interaction and finding.")
@click.option("--cacert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Trust this CA certificate (PEM) for an https:// target with a certificate of its own.")
@click.option("--insecure", is_flag=True, help="Do not verify an https:// target's certificate at all.")
def run_command(
    paths: tuple[Path, ...],
    with_suite: bool,
    target: str | None,
    target_cmd: str | None,
    api_key: str,
    allow_live: bool,
    strict: bool,
    openapi: Path | None,
    ignore: tuple[str, ...],
    exact: tuple[str, ...],
    timeout: float,
    workers: int,
    wait_for_target: float,
    json_report: Path | None,
    junit_xml: Path | None,
    html_report: Path | None,
    markdown_report: Path | None,
    baseline: Path | None,
    shard: str | None,
    stripe_version: str | None,
    tokens: str,
    show_all: bool,
    cacert: Path | None,
    insecure: bool,
) -> None:
    """Replay cassettes against a target and report every deviation.

    Exit code 0: everything conforms; 1: deviations found; 2: usage or input error.
    """

    from rich.console import Console

    from conformance.checks import CompareRules
    from conformance.replay import ReplayOptions, check_target, run, target_process
    from conformance.report import write_html, write_json, write_junit, write_markdown
    from conformance.report.baseline import accept_baseline
    from conformance.report.terminal import print_result, progress

    if bool(target) == bool(target_cmd):
        raise click.UsageError("give exactly one of --target URL and --target-cmd CMD")
    paths = _with_suite(paths, with_suite)
    if cacert and insecure:
        raise click.UsageError("give --cacert FILE or --insecure, not both")
    refuse_live_key(api_key, "a run creates and deletes objects", allow_live, "--allow-live")
    reports = [(path, writer, label) for path, writer, label in (
        (json_report, write_json, "JSON report"), (junit_xml, write_junit, "JUnit XML"),
        (html_report, write_html, "HTML report"), (markdown_report, write_markdown, "Markdown")) if path]
    for path, _, _ in reports:
        check_writable(path)  # before the run, not after minutes of it
    cassettes = _cassettes(paths)
    if shard:
        cassettes = _shard(cassettes, shard)
    known = read_report(baseline) if baseline else None
    contract = _contract(openapi)
    total = _interactions_to_check(cassettes, paths, "replay")
    redactor = Redactor()
    options = ReplayOptions(api_key=api_key, rules=CompareRules(strict=strict, ignore=ignore, exact=exact),
                            redactor=redactor, tokens=tokens, contract=contract, stripe_version=stripe_version)
    console = Console(highlight=False, soft_wrap=True)
    with contextlib.ExitStack() as stack:
        if target_cmd:
            target = stack.enter_context(target_process(target_cmd))
        assert target is not None
        check_target(target, wait=wait_for_target)
        advance = stack.enter_context(progress(console, total))
        verify: bool | str = False if insecure else str(cacert) if cacert else True
        stop, signals = stack.enter_context(_interruptible())
        result = run(cassettes, target.rstrip("/"), options, timeout=timeout, workers=workers,
                     on_interaction=advance, verify=verify, stop=stop)
        if signals:
            result.interrupted_by = signals[0]
    if known is not None:
        accept_baseline(result, known)
    print_result(console, result, show_all=show_all, reports=[path for path, _, _ in reports])
    for path, writer, label in reports:
        writer(result, path)  # a ReportError here is one line and exit 2, like any input error
        console.print(f"{label}: {path}")
    raise SystemExit(result.exit_code)


@contextlib.contextmanager
def _interruptible() -> Iterator[tuple[threading.Event, list[int]]]:
    """Ctrl-C and SIGTERM set the event (and say which signal came) instead of raising, from the moment this is
    entered, so what runs stops cleanly: a run after the requests in flight, a proxy even while it starts. A
    second Ctrl-C stops at once."""
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if received:  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        received.append(signum)
        stop.set()
        click.echo(f"{signal.Signals(signum).name}: stopping (again to stop at once)", err=True)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _shard(cassettes: list[Path], shard: str) -> list[Path]:
    """The I-th of N slices: every N-th cassette in path order, so slices are disjoint, stable and even."""
    try:
        index, count = (int(part) for part in shard.split("/"))
    except ValueError:
        raise click.UsageError(f"--shard {shard!r}: expected I/N, such as 1/4") from None
    if not 1 <= index <= count:
        raise click.UsageError(f"--shard {shard!r}: I must be between 1 and N")
    return sorted(cassettes)[index - 1 :: count]


@main.command("compare")
@click.argument("baseline", type=click.Path(dir_okay=False, path_type=Path))
@click.argument("current", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--markdown", "markdown_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as Markdown.")
@click.option("--json", "json_out", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the comparison as JSON.")
@click.option("--allow-missing", is_flag=True,
              help="Cassettes or interactions of the baseline that the current run did not check do not fail it.")
def compare_command(baseline: Path, current: Path, markdown_out: Path | None, json_out: Path | None,
                    allow_missing: bool) -> None:
    """Compare two JSON reports: regressions (new failures), fixes (gone) and unchanged ones. Given two matrices
    (`conformance matrix --json-report`), per target: what newly broke, what got fixed, what is newly covered.

    Exit code 1 when there is a regression, or when the current run left out cassettes or interactions the
    baseline checked (unless --allow-missing).
    """
    import json

    from conformance.report.baseline import compare_reports
    from conformance.report.matrix import MATRIX_SCHEMA

    kinds = [_schema_of(baseline) == MATRIX_SCHEMA, _schema_of(current) == MATRIX_SCHEMA]
    if any(kinds):
        if not all(kinds):
            matrix, other = (baseline, current) if kinds[0] else (current, baseline)
            raise InputError(f"{matrix} is a matrix and {other} is not: compare a matrix with a matrix, a report "
                             "with a report")
        _compare_matrices(baseline, current, markdown_out, json_out)

    comparison = compare_reports(read_report(baseline), read_report(current))
    for title, causes, colour in (("new root cause", comparison.new_causes, "red"),
                                  ("fixed root cause", comparison.fixed_causes, "green")):
        for _, cause in causes:
            click.secho(f"{title}: {', '.join(cause.endpoints)} [{cause.rule}] {cause.message} "
                        f"({cause.count} interaction{'s' if cause.count != 1 else ''})", fg=colour)
    for title, items, colour in (("regression", comparison.regressions, "red"), ("fixed", comparison.fixes, "green")):
        for key, finding in items:
            click.secho(f"{title}: {key[0]} #{key[1]} {finding.get('endpoint') or ''} "
                        f"{key[2] or '(response)'} [{key[3]}]", fg=colour)
    for cassette, index in comparison.not_run:
        click.secho(f"not run: {cassette}" + (f" #{index}" if index is not None else " (the whole cassette)"),
                    fg="yellow")
    click.echo(f"{len(comparison.regressions)} regressions ({len(comparison.new_causes)} new root causes), "
               f"{len(comparison.fixes)} fixed ({len(comparison.fixed_causes)} root causes), "
               f"{len(comparison.unchanged)} unchanged" + (f", {len(comparison.not_run)} not run" if comparison.not_run
                                                           else ""))
    if markdown_out:
        markdown_out.write_text(comparison.markdown(), encoding="utf-8")
    if json_out:
        json_out.write_text(json.dumps(comparison.to_json(), indent=2) + "\n", encoding="utf-8")
    raise SystemExit(1 if comparison.regressions or (comparison.not_run and not allow_missing) else 0)


def _schema_of(path: Path) -> object:
    """A JSON document's ``schema``, or None (the reader of its kind then says what is wrong with it)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data.get("schema") if isinstance(data, dict) else None


def _compare_matrices(baseline: Path, current: Path, markdown_out: Path | None, json_out: Path | None) -> None:
    from conformance.report.matrix import compare_matrices, read_matrix

    comparison = compare_matrices(read_matrix(baseline), read_matrix(current))
    colours = {"newly broken": "red", "fixed": "green", "newly covered": "cyan", "newly known": "yellow",
               "no longer judged": "yellow"}
    for title, items in comparison.sections():
        for target, row, detail in items:
            click.secho(f"{title}: {target} · {row} — {detail}", fg=colours[title])
    for title, names in (("target added", comparison.targets_added), ("target gone", comparison.targets_gone)):
        for name in names:
            click.secho(f"{title}: {name}", fg="yellow")
    click.echo(", ".join(f"{len(items)} {title}" for title, items in comparison.sections()))
    if markdown_out:
        markdown_out.write_text(comparison.markdown(), encoding="utf-8")
    if json_out:
        json_out.write_text(json.dumps(comparison.to_json(), indent=2) + "\n", encoding="utf-8")
    raise SystemExit(comparison.exit_code)


@main.command()
@click.option("--upstream", metavar="URL", default="https://api.stripe.com", show_default=True,
              help="Stripe, or any Stripe-compatible server, to record the suite from.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("cassettes"),
              show_default=True, help="Directory of the suite's cassettes (same file names each time).")
@click.option("--api-key", envvar="STRIPE_API_KEY", required=True,
              help="A test-mode secret key (also from STRIPE_API_KEY); live keys are refused.")
@click.option("--tokens", type=click.Choice(["magic", "create"]), default="magic", show_default=True,
              help="magic: Stripe's test tokens (tok_visa…); create: make tokens from test card numbers first.")
@click.option("--only", multiple=True, metavar="SCENARIO", help="Record only this scenario (repeatable).")
@click.option("--source", metavar="TEXT",
              help="Where the answers come from, for each header's source note (default: \"Captured with "
                   "`conformance capture` from URL.\").")
@click.option("--api-version", metavar="VERSION", default="2023-08-16", show_default=True,
              help="The Stripe API version the SDK is pinned to and each header states (the suite's answers "
                   "follow it).")
@click.option("--set", "mitm_options", multiple=True, metavar="OPTION=VALUE", help="Pass an option to mitmproxy.")
def capture(upstream: str, out_dir: Path, api_key: str, tokens: str, only: tuple[str, ...], source: str | None,
            api_version: str, mitm_options: tuple[str, ...]) -> None:
    """Re-record the reference suite: drive the stripe SDK through every scenario while recording."""
    from conformance.suite.capture import capture_suite
    from conformance.suite.scenarios import SUITE

    refuse_live_key(api_key, "capture creates and deletes customers and cards")
    unknown = sorted(set(only) - set(SUITE))
    if unknown:
        raise click.UsageError(f"unknown scenario {', '.join(unknown)} (known: {', '.join(SUITE)})")
    check_reachable(upstream, "upstream")
    failed = 0
    for captured in capture_suite(upstream, out_dir, api_key, tokens=tokens, only=only, mitm_options=mitm_options,
                                  echo=click.echo, source=source, api_version=api_version):
        count = len(load(captured.path).interactions)
        if captured.error:
            failed += 1
            click.echo(f"✗ {captured.name}: {captured.error} ({count} interactions in {captured.path})")
        else:
            click.echo(f"✓ {captured.name}: {count} interactions in {captured.path}")
    if failed:
        raise click.ClickException(f"{failed} scenario{'s' if failed > 1 else ''} could not be recorded")


@main.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Directory of the cassettes written, one per file, named after it.")
@click.option("--record-paths", default=r"^/v1/", show_default=True, metavar="REGEX",
              help="Only exchanges whose path matches are imported.")
@click.option("--all-paths", is_flag=True, help="Import every exchange, whatever its path.")
@click.option("--overwrite", is_flag=True, help="Replace cassettes that already exist in --out.")
def import_command(files: tuple[Path, ...], out_dir: Path, record_paths: str, all_paths: bool,
                   overwrite: bool) -> None:
    """Convert recordings of other tools into cassettes: VCR.py / pytest-recording (YAML or JSON), Ruby VCR,
    HAR 1.2 (browsers, mitmproxy's hardump, Schemathesis), mitmproxy flow files (mitmdump -w).

    Secrets are redacted as the recorder redacts them; only /v1/ traffic is kept unless told otherwise.
    """
    from conformance.record.importing import cassette_names, import_recording

    try:
        re.compile(record_paths)
    except re.error as error:
        raise InputError(f"invalid regular expression {record_paths!r}: {error}") from None
    if len(set(files)) != len(files):
        raise click.UsageError("a file is given twice")
    names = cassette_names(list(files))
    if not overwrite:
        for file in files:
            target = out_dir / f"{names[file]}.yaml"
            if target.is_file() and target.stat().st_size:
                raise InputError(f"{target} exists; pass --overwrite to replace it")
    redactor = Redactor()
    total = 0
    for file in files:
        result = import_recording(file, out_dir, paths=".*" if all_paths else record_paths,
                                  mode="overwrite" if overwrite else "new", redactor=redactor, name=names[file])
        total += result.imported
        skipped = f"; {len(result.skipped)} left out (not matching {record_paths!r})" if result.skipped else ""
        written = f"into {result.cassette}" if result.imported else "(nothing written)"
        click.echo(f"{file} ({result.format}): {result.imported} interaction{'s' if result.imported != 1 else ''} "
                   f"{written}{skipped}")
    if not total:
        raise InputError("nothing was imported: no exchange matched; pass --all-paths to import every path")


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--openapi", type=click.Path(dir_okay=False, path_type=Path), metavar="SPEC", help=_OPENAPI_HELP)
@click.option("--strict", is_flag=True, help="Keys the OpenAPI description does not list are problems, not warnings.")
def check(paths: tuple[Path, ...], openapi: Path | None, strict: bool) -> None:
    """Lint cassettes: format, no secret, every request replayable, and with --openapi every recorded
    response as the published contract describes it.

    Exit code 0: clean (warnings allowed); 1: problems found; 2: a cassette or the spec could not be read.
    """
    from conformance.cassette import count_interactions
    from conformance.checks.lint import check_cassette

    cassettes = _cassettes(paths)
    contract = _contract(openapi)
    problems = warnings = unreadable = interactions = 0
    redactor = Redactor()
    for path in cassettes:
        try:
            found = check_cassette(path, redactor, contract, strict)
        except CassetteError as error:
            unreadable += 1
            click.echo(str(error))
            continue
        count = count_interactions(path)
        interactions += count
        if not count:
            click.echo(f"warning: {path}: holds no interaction: nothing in it was checked")
        warnings += sum(problem.warning for problem in found)
        problems += sum(not problem.warning for problem in found)
        for problem in found:
            click.echo(str(problem))
    against = f" against {contract.name}" if contract is not None else ""
    click.echo(f"{len(cassettes)} cassette{'s' if len(cassettes) != 1 else ''} checked{against}: "
               f"{problems} problem{'s' if problems != 1 else ''}, "
               + (f"{warnings} warning{'s' if warnings != 1 else ''}, " if warnings else "")
               + f"{unreadable} unreadable")
    if not unreadable and not interactions:
        raise InputError(f"no interactions to check in {', '.join(map(str, paths))}: every cassette is empty")
    raise SystemExit(2 if unreadable else 1 if problems else 0)


@main.command()
@click.option("--suite", type=click.Path(path_type=Path),
              help="The cassettes to replay (default: the reference suite that ships with the package).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("reports/demo"),
              show_default=True, help="Where the reports are written.")
def demo(suite: Path | None, out_dir: Path) -> None:
    """Replay the reference suite against a local localstripe and write the reports (needs the 'demo' extra)."""
    from rich.console import Console

    from conformance.suite.demo import run_demo
    from conformance.suite.reference import reference_suite

    result = run_demo(suite or reference_suite(), out_dir, Console(highlight=False, soft_wrap=True))
    if result.input_errors:
        raise click.ClickException("some cassettes of the suite could not be read")


@main.command("docs")
@click.argument("page", required=False)
@click.option("--path", "show_path", is_flag=True, help="Print where the page (or the folder) is, not the page.")
def docs_command(page: str | None, show_path: bool) -> None:
    """The documentation that ships with the package: the cassette format, the JSON report, the matrix.

    Without PAGE, the pages there are listed.
    """
    from conformance.suite.reference import doc_page, docs_folder

    if page is None:
        folder = docs_folder()
        click.echo(str(folder) if show_path else "\n".join(sorted(p.stem for p in folder.glob("*.md"))))
        return
    found = doc_page(page)
    click.echo(str(found) if show_path else found.read_text(encoding="utf-8"), nl=show_path)


@main.command("addon-path")
@click.argument("addon", type=click.Choice(["recorder", "server"]))
def addon_path_command(addon: str) -> None:
    """Where an addon is, for a mitmproxy of your own: mitmdump -s "$(conformance addon-path recorder)"."""
    click.echo(addon_path(addon))
