"""Shared fixtures: real processes on 127.0.0.1, started and stopped by the tests."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import settings

from conformance.suite.localstripe_target import running

from .stripe_fake import FakeStripe

# How hard the property tests search. "ci" (the default): a fixed, derandomized share of examples per property on
# top of each test's explicit examples, the same every run, so the suite stays within its time. "deep"
# (HYPOTHESIS_PROFILE=deep): the thousands an adversarial pass counts, new random ones every run.
HYPOTHESIS_PROFILES = ("ci", "deep")
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")


def pytest_configure(config: pytest.Config) -> None:
    if HYPOTHESIS_PROFILE not in HYPOTHESIS_PROFILES:
        raise pytest.UsageError(f"HYPOTHESIS_PROFILE={HYPOTHESIS_PROFILE!r}: use one of "
                                f"{', '.join(HYPOTHESIS_PROFILES)}")


def examples(ci: int, deep: int, **options: object) -> settings:
    """A property's settings: ``ci`` generated examples, derandomized (every run draws the same ones, so what CI
    proves does not vary with luck), or ``deep`` random ones under HYPOTHESIS_PROFILE=deep. No deadline: a loaded
    machine is slow, not wrong."""
    if HYPOTHESIS_PROFILE == "deep":
        return settings(max_examples=deep, deadline=None, **options)  # type: ignore[arg-type]
    return settings(max_examples=ci, deadline=None, derandomize=True, **options)  # type: ignore[arg-type]


API_KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"  # a documented example key, split so it is not a literal secret


BANNER = b"SENTINEL-UPSTREAM\r\n"


class Sentinel:
    """A listener where requests are addressed: it counts the connections it gets and greets each with a
    banner a relayed client would see."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.connections = 0
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self.server.accept()
            except OSError:
                return
            self.connections += 1
            try:
                connection.sendall(BANNER + b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\nupstream")
            finally:
                connection.close()

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def sentinel() -> Iterator[Sentinel]:
    listener = Sentinel()
    yield listener
    listener.close()


@pytest.fixture
def fake_stripe():
    with FakeStripe() as url:
        yield url


@pytest.fixture(scope="session")
def localstripe_url():
    with running() as url:
        yield url


@dataclass
class CLIProcess:
    """``conformance ...`` as a real process; its output is collected line by line."""

    args: list[str]
    process: subprocess.Popen[str] = field(init=False)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)
    output: list[str] = field(default_factory=list)
    reader: threading.Thread = field(init=False)

    def __post_init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "conformance", *self.args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # so a test can signal the whole group, mitmdump included
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout
        for line in self.process.stdout:
            self.output.append(line)
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line matching {pattern!r} within {timeout}s; output: {''.join(self.output)}") from None
            if line is None:
                raise AssertionError(f"process ended before {pattern!r}; output: {''.join(self.output)}")
            found = re.search(pattern, line)
            if found:
                return found
            if time.monotonic() > deadline:
                raise AssertionError(f"no line matching {pattern!r}; output: {''.join(self.output)}")

    def interrupt(self, timeout: float = 30) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.finish(timeout)

    def kill_group(self) -> None:
        os.killpg(self.process.pid, signal.SIGKILL)
        self.finish(10)

    def finish(self, timeout: float = 30) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            raise
        self.reader.join(timeout=5)
        return code

    @property
    def text(self) -> str:
        return "".join(self.output)

    def close(self) -> None:
        if self.process.poll() is None:
            # SIGTERM first: the command then removes its scratch directory (a CA key) as a user's Ctrl-C would
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)


@pytest.fixture
def cli():
    started: list[CLIProcess] = []

    def start(*args: str | Path) -> CLIProcess:
        process = CLIProcess([str(a) for a in args])
        started.append(process)
        return process

    yield start
    for process in started:
        process.close()


@pytest.fixture(autouse=True, scope="session")
def _private_parse_cache(tmp_path_factory):
    """Tests (and the processes they start) use a cache directory of their own."""
    os.environ["CONFORMANCE_CACHE_DIR"] = str(tmp_path_factory.mktemp("parse-cache"))
    yield
