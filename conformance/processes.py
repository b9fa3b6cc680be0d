"""Child processes that listen on a loopback port: starting them, waiting until they answer, stopping them."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from typing import IO

from conformance.errors import TargetError
from conformance.redaction import redact_message

__all__ = ["wait_until_listening", "stop", "listening", "dies_with_parent"]

_PR_SET_PDEATHSIG = 1
_GROUP_GRACE = 2.0  # seconds the rest of a process group has to end after its leader, before SIGKILL


def _prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # only where a child is started

    try:
        function: Callable[..., int] = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    return function


def dies_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGTERM when this process dies, even by SIGKILL (Linux).

    A child left behind would keep its port, and a recorder its cassette, with no
    one to stop it. ``prctl`` is looked up here, in the parent: the child only calls it.
    """
    prctl = _prctl()
    if prctl is None:
        return None
    parent = os.getpid()

    def in_child() -> None:
        prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # the parent died before the request took effect
            os._exit(1)

    return in_child


def wait_until_listening(process: subprocess.Popen[str], host: str, port: int, timeout: float) -> str | None:
    """None once ``host:port`` accepts connections; else why not (the process exited, or the time ran out)."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            return f"exited with code {process.returncode}"
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return None
        except OSError:
            if time.monotonic() > deadline:
                return f"did not listen on {host}:{port} within {timeout:.0f}s"
            time.sleep(0.05)


def _signal(process: subprocess.Popen[str], group: bool, signum: int) -> None:
    """``signum`` to the process, or to every process of its group (it leads one: ``start_new_session``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        if group:
            os.killpg(process.pid, signum)
        elif process.poll() is None:
            process.send_signal(signum)


def _group_alive(leader: int) -> bool:
    try:
        os.killpg(leader, 0)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def stop(process: subprocess.Popen[str], timeout: float = 10.0, *, group: bool = False) -> int:
    """SIGTERM, then SIGKILL if it does not end in time; the exit code.

    ``group``: the process leads a process group of its own (started with ``start_new_session``) and the whole
    group is stopped: a target command that forks (a shell running a server, a server with workers) leaves no
    process behind, even one that outlived its parent or ignores SIGTERM.
    """
    if process.poll() is None or (group and _group_alive(process.pid)):
        _signal(process, group, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            _signal(process, group, signal.SIGKILL)
            process.wait()
        deadline = min(deadline, time.monotonic() + _GROUP_GRACE)
        while group and _group_alive(process.pid):  # the rest of the group, after its leader
            if time.monotonic() > deadline:
                _signal(process, group, signal.SIGKILL)
                break
            time.sleep(0.05)
    return process.returncode


def _drain(stream: IO[str], tail: deque[str]) -> None:
    """Read a child's stderr to its end, keeping its last lines: a pipe nobody reads fills up and blocks the
    child at its next write (a target that logs every request would hang mid-run)."""
    with contextlib.suppress(OSError, ValueError):
        for line in stream:
            if line.strip():
                tail.append(line.strip())


@contextlib.contextmanager
def listening(argv: Sequence[str], port: int, name: str, timeout: float = 30.0) -> Iterator[subprocess.Popen[str]]:
    """Start ``argv``, wait until it listens on 127.0.0.1:``port``, stop it afterwards.

    A process that cannot start, exits or never listens is a TargetError naming
    ``name`` and quoting the last line it wrote to stderr (which is read all along).
    """
    try:
        process = subprocess.Popen(list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   errors="replace", start_new_session=True, preexec_fn=dies_with_parent())
    except OSError as error:
        raise TargetError(f"cannot start {name} {argv[0]!r}: {error.strerror or error}") from None
    tail: deque[str] = deque(maxlen=5)
    assert process.stderr is not None
    reader = threading.Thread(target=_drain, args=(process.stderr, tail), daemon=True, name=f"{name} stderr")
    reader.start()
    try:
        problem = wait_until_listening(process, "127.0.0.1", port, timeout)
        if problem:
            if process.poll() is not None:
                reader.join(2)  # what it wrote before it exited
            last = redact_message(tail[-1]) if tail else ""  # a target may echo the key it was given
            raise TargetError(f"{name} {problem} before answering{': ' + last if last else ''}")
        yield process
    finally:
        stop(process, group=True)
        reader.join(2)
