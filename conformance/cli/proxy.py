"""mitmdump with one of our addons as the command line runs it: around a command or until Ctrl-C, and what an
application needs to use it."""

from __future__ import annotations

import json
import os
import queue
import shlex
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import click

from conformance.cli.main import InputError, interruptible
from conformance.record.mitm import MitmProcess
from conformance.redaction import Redactor


@dataclass
class ProxyRun:
    """What became of a proxy run: how it ended, and what the session asked (serve)."""

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


ProxyMode = Literal["reverse", "forward"]
PROXY_MODES: tuple[ProxyMode, ...] = ("reverse", "forward")


def _app_environment(mode: ProxyMode, address: str, ca: Path) -> dict[str, str]:
    """What a wrapped command (or the user) exports so that its HTTP clients use the proxy."""
    if mode == "reverse":
        return {"STRIPE_API_BASE": address, "CONFORMANCE_PROXY_URL": address}
    ca_path = str(ca.resolve())
    return {"HTTPS_PROXY": address, "HTTP_PROXY": address, "https_proxy": address, "http_proxy": address,
            "SSL_CERT_FILE": ca_path, "REQUESTS_CA_BUNDLE": ca_path, "CURL_CA_BUNDLE": ca_path,
            "NODE_EXTRA_CA_CERTS": ca_path, "CONFORMANCE_PROXY_URL": address}


_SCRATCH_PREFIX = "conformance-mitm-"


def _remove_stale_scratch() -> None:
    """The scratch directories (each holds a generated CA key) of runs that were killed before they could remove
    their own: named after the process that made it, removed once that process is gone."""
    for path in Path(tempfile.gettempdir()).glob(f"{_SCRATCH_PREFIX}*-*"):
        pid = path.name[len(_SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or not path.is_dir() or path.stat().st_uid != os.getuid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:  # another user's process of that number: alive
            continue


def run_proxy(
    args: list[str], mode: ProxyMode, upstream: str | None, listen_host: str, listen_port: int, confdir: Path | None,
    mitm_options: tuple[str, ...], redactor: Redactor, ready: str, ready_line: str | None = None,
    wrapped: tuple[str, ...] = (), session: bool = False,
) -> ProxyRun:
    """Run mitmdump with an addon until Ctrl-C, or around a command until it exits."""
    _remove_stale_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-") as scratch, \
            interruptible() as (stop, _):
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
        run = ProxyRun(False, None, False)
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
                    print_session(json.loads(mitm.captured.get()))
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


def print_session(session: dict[str, Any] | None) -> int:
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
