"""Running mitmdump with one of our addons as a child process.

``conformance record`` (and ``serve``) check what a user can get wrong before
starting anything, start mitmdump bound to loopback, wait until it accepts
connections, pass its output through redaction, and stop it cleanly.
"""

from __future__ import annotations

import importlib
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from conformance.errors import ProxyError
from conformance.processes import dies_with_parent, wait_until_listening
from conformance.redaction import Redactor
from conformance.text import printable

__all__ = ["MitmProcess", "addon_path"]

READY_TIMEOUT = 20.0
# Per-connection bookkeeping mitmproxy logs at info level; our addons' own lines stay.
_CHATTER = re.compile(r"\] (client|server) (connect|disconnect)( |$)")


# Our addons' own lines, still shown while mitmdump stops: what the drain recorded, what it cut off.
_ADDON_LINES = ("error: ", "recorded #", "recorded nothing")
_OPTIONS_ERROR = re.compile(r"OptionsError: (.+)")
_BOILERPLATE = ("Error logged during startup, exiting...",)


def _startup_problem(lines: list[str]) -> str:
    """Why mitmdump stopped at start-up, from its last lines: an addon's refusal of an option (the line after
    its traceback says it), else the last line that is not mitmproxy's own 'exiting...'."""
    for line in reversed(lines):
        found = _OPTIONS_ERROR.search(line)
        if found:
            return found.group(1)
    return next((text for text in reversed(lines) if text.strip() and text.strip() not in _BOILERPLATE),
                "no output")


def addon_path(name: str) -> str:
    """File of an addon (``recorder``, ``server``) for ``mitmdump -s``.

    The checkout's ``proxy/`` folder, installed as the package ``conformance_proxy``
    (a name of ours: other distributions install a top-level ``proxy``).
    """
    addons = importlib.import_module("conformance_proxy")
    return str(Path(str(addons.__file__)).with_name(f"{name}.py"))


@dataclass
class MitmProcess:
    """mitmdump with our addon, bound to ``host:port``."""

    args: Sequence[str]
    host: str
    port: int
    redactor: Redactor = field(default_factory=Redactor)
    echo: Callable[[str], None] = print
    process: subprocess.Popen[str] | None = None
    _pump: threading.Thread | None = None
    _last_lines: list[str] = field(default_factory=list)
    _ready: threading.Event = field(default_factory=threading.Event)
    # A line the addon logs once it is configured: mitmproxy may accept connections before
    # a script's configure() ran (seen with mitmproxy 12), and a request then would find no cassette.
    ready_line: str | None = None
    _addon_ready: threading.Event = field(default_factory=threading.Event)
    # Lines the addon prints for this process, not for the user: kept in a queue, never echoed.
    captured_prefix: str | None = None
    captured: queue.Queue[str] = field(default_factory=queue.Queue)
    _stopping: bool = False

    def start(self) -> None:
        command = [
            sys.executable,
            "-c",
            "from mitmproxy.tools.main import mitmdump; mitmdump()",
            "--listen-host", self.host,
            "--listen-port", str(self.port),
            *self.args,
        ]
        self.process = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            bufsize=1,
            preexec_fn=dies_with_parent(),
        )
        self._pump = threading.Thread(target=self._pump_output, daemon=True)
        self._pump.start()
        self._wait_ready()

    def _pump_output(self) -> None:
        assert self.process and self.process.stdout
        for line in self.process.stdout:
            line = printable(self.redactor.text(line.rstrip("\n")))
            self._last_lines = (self._last_lines + [line])[-20:]
            if self.ready_line and not self._addon_ready.is_set() and re.search(self.ready_line, line):
                self._addon_ready.set()
            if self.captured_prefix and line.startswith(self.captured_prefix):
                self.captured.put(line[len(self.captured_prefix):])
                continue
            # Start-up chatter is kept for error messages (the caller prints its own ready line);
            # shutdown chatter (connections cancelled mid-flight) is not the user's business.
            if (self._ready.is_set() and (not self._stopping or line.startswith(_ADDON_LINES)) and line.strip()
                    and not _CHATTER.search(line) and " listening at " not in line):
                self.echo(line)

    def _wait_ready(self) -> None:
        assert self.process
        started = time.monotonic()
        problem = wait_until_listening(self.process, self.host, self.port, READY_TIMEOUT)
        if problem is None and self.ready_line:
            while not self._addon_ready.wait(0.05) and self.process.poll() is None:
                if time.monotonic() - started > READY_TIMEOUT:
                    problem = f"did not load its addon within {READY_TIMEOUT:.0f}s"
                    break
            if self.process.poll() is not None:
                problem = "exited"
        if problem is None:
            self._ready.set()
            return
        if self.process.poll() is not None:
            self._join_pump()
            detail = _startup_problem(self._last_lines)
            raise ProxyError(f"mitmdump exited at start-up (code {self.process.returncode}): {detail}")
        self.stop()
        raise ProxyError(f"mitmdump {problem}")

    def _join_pump(self) -> None:
        if self._pump is not None:
            self._pump.join(timeout=5)

    def stop(self, timeout: float = 10.0) -> int | None:
        """SIGTERM (mitmproxy shuts down and runs its addons' ``done``), then SIGKILL if it hangs."""
        if self.process is None:
            return None
        self._stopping = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._join_pump()
        return self.process.returncode
