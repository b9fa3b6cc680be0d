"""Rounds of recording under load, stopped by a signal: shared by tests/integration/test_graceful_stop.py and
bench/graceful_stop.py (the long variant).

One round: an upstream on 127.0.0.1 answering after a random delay, mitmdump
with the recorder addon in front of it, concurrent httpx clients each sending
requests named by a unique marker, a signal to mitmdump at a chosen moment.
What a client received (status 200 carrying its marker) must be in the cassette.
"""

from __future__ import annotations

import contextlib
import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx

from conformance.cassette import CassetteError, load
from conformance.mitm import addon_path
from conformance.net import free_port
from conformance.processes import wait_until_listening

__all__ = ["Upstream", "Round", "RecorderProcess", "mitmdump_recorder", "run_round", "run_rounds"]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    max_delay = 0.0
    slow_path = ""
    slow = 0.0
    slow_arrived = threading.Event()

    def log_message(self, *args: object) -> None:
        pass

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        path = self.path.split("?", 1)[0]
        if path == self.slow_path:
            self.slow_arrived.set()
        time.sleep(self.slow if path == self.slow_path else random.uniform(0, self.max_delay))
        body = json.dumps({"id": path.rsplit("/", 1)[-1], "object": "thing"}).encode()
        try:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the proxy went away meanwhile

    do_GET = do_POST = do_DELETE = answer


class _Server(ThreadingHTTPServer):
    request_queue_size = 128  # 20 clients connect at once; the default backlog of 5 stalls them for seconds
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a connection the stopped proxy reset: expected here, not worth a traceback


class Upstream:
    """A threaded JSON server on 127.0.0.1 answering ``{"id": <last path segment>}`` after a random delay."""

    def __init__(self, max_delay: float, slow_path: str = "", slow: float = 0.0) -> None:
        self.slow_arrived = threading.Event()  # set when the slow request reached the upstream
        handler = type("Handler", (_Handler,), {"max_delay": max_delay, "slow_path": slow_path, "slow": slow,
                                                "slow_arrived": self.slow_arrived})
        self.server = _Server(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class RecorderProcess:
    """mitmdump with the recorder in reverse mode in front of ``upstream``, started at once; :meth:`ready` waits
    for it. ``preamble`` is Python run in the process first (a resource limit)."""

    def __init__(self, upstream: str, cassette: Path, preamble: str = "", options: tuple[str, ...] = ()) -> None:
        self.port = free_port("127.0.0.1")
        self.address = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, "-c", preamble + "from mitmproxy.tools.main import mitmdump; mitmdump()",
                   "-s", addon_path("recorder"), "--mode", f"reverse:{upstream}",
                   "--listen-host", "127.0.0.1", "--listen-port", str(self.port),
                   "--set", f"cassette={cassette}", "--set", f"confdir={cassette.parent / '.mitm'}",
                   "--set", "flow_detail=0", *options]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, text=True, errors="replace")
        self.output: list[str] = []
        self._loaded = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.output.append(line)
            if line.startswith("recording into "):
                self._loaded.set()

    def ready(self) -> str:
        """Its address, once it listens with the recorder loaded."""
        problem = wait_until_listening(self.process, "127.0.0.1", self.port, 60)
        if problem is None and not self._loaded.wait(30):
            problem = "did not load the recorder"
        if problem is not None:
            self.close()
            raise AssertionError(f"mitmdump {problem}: {''.join(self.output)}")
        return self.address

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(30)
        self._reader.join(10)


@contextlib.contextmanager
def mitmdump_recorder(upstream: str, cassette: Path, preamble: str = "",
                      options: tuple[str, ...] = ()) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """A ready :class:`RecorderProcess`: (process, its address, its output lines so far)."""
    recorder = RecorderProcess(upstream, cassette, preamble, options)
    try:
        yield recorder.process, recorder.ready(), recorder.output
    finally:
        recorder.close()


@dataclass
class Round:
    """What one round saw: answers received, those missing from the cassette, requests cut off, the exit code."""

    signal: str
    delay: float
    answered: int = 0
    recorded: int = 0
    missing: list[str] = field(default_factory=list)
    refused: int = 0
    code: int | None = None
    output: str = ""


def _client(address: str, number: int, stop: threading.Event, received: set[str], lock: threading.Lock,
            refused: list[int]) -> None:
    """One client: requests one after another on one connection (GET and POST), until stopped or refused."""
    # verify=False: plain HTTP on loopback, and loading the CA bundle costs 0.1 s of CPU per client
    with httpx.Client(base_url=address, timeout=15, verify=False) as client:
        sequence = 0
        while not stop.is_set():
            marker = f"c{number}_{sequence}"
            sequence += 1
            try:
                if sequence % 2:
                    response = client.get(f"/v1/things/{marker}")
                else:
                    response = client.post(f"/v1/things/{marker}", data={"name": "Jenny Rosen"})
            except httpx.HTTPError:
                with lock:
                    refused.append(number)
                return
            if response.status_code == 200 and response.json().get("id") == marker:
                with lock:
                    received.add(marker)


def run_round(recorder: RecorderProcess, cassette: Path, sig: signal.Signals, delay: float,
              clients: int = 20) -> Round:
    """One round: ``clients`` clients through the recorder, ``sig`` to mitmdump ``delay`` seconds after each
    client had about one answer."""
    result = Round(sig.name, round(delay, 3))
    received: set[str] = set()
    refused: list[int] = []
    lock = threading.Lock()
    stop = threading.Event()
    address = recorder.ready()
    try:
        threads = [threading.Thread(target=_client, args=(address, n, stop, received, lock, refused), daemon=True)
                   for n in range(clients)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 20
        while len(received) < clients and time.monotonic() < deadline:
            time.sleep(0.01)  # under way: the moment counts from the first answers
        time.sleep(delay)
        recorder.process.send_signal(sig)
        try:
            result.code = recorder.process.wait(30)
        finally:
            stop.set()
            for thread in threads:
                thread.join(30)
    finally:
        recorder.close()
    result.output = "".join(recorder.output)
    try:
        recorded = {i.request.path.rsplit("/", 1)[-1] for i in load(cassette).interactions}
    except CassetteError:
        recorded = set()
        if cassette.exists():
            raise
    result.answered, result.recorded, result.refused = len(received), len(recorded), len(refused)
    result.missing = sorted(received - recorded)
    return result


def run_rounds(upstream: str, directory: Path, rounds: int, chooser: random.Random,
               max_delay: float = 0.5) -> Iterator[Round]:
    """``rounds`` rounds, SIGINT and SIGTERM in turn at a random moment; the next round's mitmdump starts while
    this one's clients run (its start-up, ~2 s, would otherwise be most of the time)."""
    upcoming: RecorderProcess | None = None
    try:
        for number in range(rounds):
            cassette = directory / f"round{number}.yaml"
            current = upcoming or RecorderProcess(upstream, cassette)
            upcoming = RecorderProcess(upstream, directory / f"round{number + 1}.yaml") \
                if number + 1 < rounds else None
            sig = (signal.SIGINT, signal.SIGTERM)[number % 2]
            yield run_round(current, cassette, sig, chooser.uniform(0.0, max_delay))
    finally:
        if upcoming is not None:
            upcoming.close()
