"""mitmdump with one of our addons as the command line runs it: around a command or until Ctrl-C, and what an
application needs to use it."""

from __future__ import annotations

import json
import os
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
from conformance.errors import ProxyError
from conformance.mitm import MitmProcess
from conformance.redaction import Redactor, relayed
from conformance.serve.ages import served_age_text
from conformance.serve.session import one_line


@dataclass
class ProxyRun:
    """What became of a proxy run: how it ended, and what the session asked (serve)."""

    stopped_by: int | None  # the signal (SIGINT, SIGTERM) that stopped the run, None when it was not interrupted
    proxy_code: int | None  # mitmdump's exit code
    proxy_died: bool  # mitmdump stopped on its own (a write failure), or ended with a failing code
    command_code: int | None = None  # the wrapped command's, as ``Popen.wait`` gives it (-N: killed by signal N)
    session: dict[str, Any] | None = None  # serve: what the last session asked

    @property
    def interrupted(self) -> bool:
        return self.stopped_by is not None

    def exit_code(self) -> int:
        """What ``record -- CMD``/``serve -- CMD`` exit with: 128 + the signal that stopped the run (130 for
        Ctrl-C, 143 for SIGTERM), whatever the command made of it; else the command's code, a command killed by
        signal N giving 128 + N as a shell does."""
        if self.stopped_by is not None:
            return 128 + self.stopped_by
        code = self.command_code or 0
        return 128 - code if code < 0 else code


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


# What the addons print for this process, not for the user: the serve addon's session summaries, the recorder's
# failure to write (read in full after mitmdump exited, so a failure is never missed, however soon it came).
_SESSION = "session-end "
_FAILURE = "error: "
_SCRATCH_PREFIX = "conformance-mitm-"
# mitmdump's exit codes once stopped: 0, or the signal itself when ours (or the terminal's) arrives as its
# interpreter is already on its way out; anything else is a failure it reported (a cassette it could not write).
_STOPPED_CODES = (0, -signal.SIGTERM, -signal.SIGINT)


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
    """Run mitmdump with an addon until Ctrl-C, or around a command until it exits.

    Ctrl-C in a terminal reaches the whole process group — this process, mitmdump and the command — at once, so
    mitmdump may be shutting down by itself before this process looks: it is never asked for anything then. It is
    stopped (or awaited) and its last session's summary read from what it printed on its way out (the serve
    addon prints it in ``done``), whoever signalled it.
    """
    _remove_stale_scratch()
    with tempfile.TemporaryDirectory(prefix=f"{_SCRATCH_PREFIX}{os.getpid()}-") as scratch, \
            interruptible() as (stop, received):
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
        mitm = MitmProcess(full, listen_host, listen_port, redactor=redactor,
                           echo=lambda line: click.echo(relayed(line, redactor)),
                           ready_line=ready_line, captured_prefix=_SESSION if session else _FAILURE)
        try:
            mitm.start()
        except ProxyError as error:  # it quotes mitmdump's last line, which may quote the upstream URL
            raise ProxyError(relayed(str(error), redactor)) from None
        assert mitm.process is not None
        address = f"http://{listen_host}:{listen_port}"
        environment = _app_environment(mode, address, confdir / "mitmproxy-ca-cert.pem")
        _announce(mode, address, ready, environment, redactor.text(shlex.join(wrapped)) if wrapped else "", session)
        child = _start_command(wrapped, environment, mitm)
        previous = _forward_hangups(mitm) if session else None
        reported = _Reported()
        try:
            # Until Ctrl-C, the proxy's end, or the command's; a session ended meanwhile is printed.
            while not stop.is_set() and mitm.process.poll() is None and (child is None or child.poll() is None):
                stop.wait(0.1)
                _relay_captured(mitm, session, redactor, reported)
        finally:
            if previous is not None:
                signal.signal(signal.SIGHUP, previous)
        died = mitm.process.poll() is not None and not stop.is_set()  # on its own, not of the user's signal
        command_code = _end_command(child)
        proxy_code = mitm.stop()  # SIGTERM, or the shutdown a group's Ctrl-C began: the addons' done() runs
        # every line mitmdump printed has been read now: a failure it reported on its way out is seen, however
        # soon the command ended before it
        _relay_captured(mitm, session, redactor, reported)
        return ProxyRun(received[0] if received else None, proxy_code,
                        died or reported.failed or proxy_code not in _STOPPED_CODES, command_code, reported.session)


def _announce(mode: ProxyMode, address: str, ready: str, environment: dict[str, str], command: str,
              session: bool) -> None:
    """The ready line, and what the application needs: the command it runs (redacted: a key may be one of its
    arguments), or what to export."""
    if mode == "reverse":
        click.echo(ready.format(address=address))
    else:
        click.echo(f"{ready}: use {address} as the application's HTTPS proxy, trusting "
                   f"{environment['SSL_CERT_FILE']}")
    if command:
        click.echo(f"Running {command} with {', '.join(sorted(environment))} set")
        return
    click.echo("  export " + " ".join(f"{name}={value}" for name, value in sorted(environment.items())
                                      if name.isupper()))
    click.echo(f"  {SDK_HINTS[mode]}")
    click.echo("Press Ctrl-C to stop." + (" SIGHUP (or POST /__conformance__/reset) ends a session."
                                         if session else ""))


def _start_command(wrapped: tuple[str, ...], environment: dict[str, str],
                   mitm: MitmProcess) -> subprocess.Popen[bytes] | None:
    """The wrapped command, started with the proxy's environment (in this process group: a terminal's Ctrl-C
    reaches it as it would without us)."""
    if not wrapped:
        return None
    try:
        return subprocess.Popen(list(wrapped), env={**os.environ, **environment})
    except OSError as error:
        mitm.stop()
        raise InputError(f"cannot run {wrapped[0]!r}: {error.strerror or error}") from None


def _forward_hangups(mitm: MitmProcess) -> Any:
    """SIGHUP to us ends the addon's session; the handler it replaces."""
    def hang_up(signum: int, frame: object) -> None:
        if mitm.process is not None:
            mitm.process.send_signal(signal.SIGHUP)

    return signal.signal(signal.SIGHUP, hang_up)


def _end_command(child: subprocess.Popen[bytes] | None) -> int | None:
    """The command's exit code: it ended, or (Ctrl-C, or the proxy died under it) it is stopped."""
    if child is None:
        return None
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(10)
        except subprocess.TimeoutExpired:
            child.kill()
    return child.wait()


@dataclass
class _Reported:
    """What the addon reported for this process: the recorder's failure to write; the serve addon's last
    session, which it prints on its way out marked ``final``."""

    failed: bool = False
    session: dict[str, Any] | None = None


def _relay_captured(mitm: MitmProcess, session: bool, redactor: Redactor, reported: _Reported) -> None:
    """Print what the addon reported so far: a session ended meanwhile (SIGHUP, a reset), or the recorder's
    failure; the last session is kept for the caller, whenever it was read — before or after mitmdump exited."""
    while not mitm.captured.empty():
        line = mitm.captured.get()
        if not session:
            click.echo(relayed(_FAILURE + line, redactor))
            reported.failed = True
            continue
        summary = _session_of(line)
        if summary is not None and summary.pop("final", False):
            reported.session = summary
        else:
            print_session(summary)


def _session_of(line: str) -> dict[str, Any] | None:
    try:
        session = json.loads(line)
    except ValueError:
        return None
    return session if isinstance(session, dict) else None


def print_session(session: dict[str, Any] | None) -> int:
    """The session's summary; how many requests it missed. What it quotes of requests and cassettes is printed
    as one line each, escaped: a request's ``%0a`` must not print a line of its own (a forged summary line)."""
    if session is None:
        click.echo("warning: the session's summary could not be read", err=True)
        return 0
    misses, unused = session["misses"], session["unused"]
    replayed = session.get("replayed", 0)
    replays = f" (and {replayed} replayed for a repeated idempotency key)" if replayed else ""
    answered = session["answered"]
    click.echo(one_line(f"Session: {answered} request{'s' if answered != 1 else ''} answered{replays}, "
                        f"{len(misses)} miss{'es' if len(misses) != 1 else ''}, {len(unused)} recorded interaction"
                        f"{'s' if len(unused) != 1 else ''} never asked for"
                        f"{served_age_text(session.get('oldest_served'))}"))
    for fault in session.get("faults", []):
        click.echo(one_line(f"  FAULT {fault['fault']} on {fault['request']}: {fault['then']}"))
    for refused in session.get("idempotency_errors", []):
        click.echo(one_line(f"  IDEMPOTENCY-ERROR {refused['request']}: key {refused['key']} reused with other "
                            f"parameters ({refused['why']}): answered 400 idempotency_error"))
    for miss in misses:
        closest = f"; closest: {miss['closest']} ({'; '.join(miss['why_not'])})" if miss.get("closest") else ""
        click.echo(one_line(f"  MISS {miss['request']}{closest}"))
    for item in unused[:20]:
        click.echo(one_line(f"  unused: {item['cassette']} #{item['interaction']} {item['endpoint']} {item['request']}"))
    if len(unused) > 20:
        click.echo(f"  … {len(unused) - 20} more unused")
    return len(misses)


def retry_bugs(session: dict[str, Any] | None) -> int:
    """How many faults the application retried under a new idempotency key (or none, for a POST): a retry that
    can execute twice, the bug faults are injected to find."""
    return sum(1 for fault in (session or {}).get("faults", []) if fault.get("bug"))
