"""Running a set of cassettes against a target: the engine behind ``conformance run``."""

from __future__ import annotations

import contextlib
import shlex
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

from .errors import InputError
from .findings import CassetteResult, RunResult
from .processes import free_port, stop, wait_until_listening
from .replay import ReplayOptions, replay_cassette
from .transport import TargetClient

__all__ = ["run", "target_process", "check_target", "count_interactions", "LIVE_PREFIXES"]

LIVE_PREFIXES = ("sk_live_", "rk_live_")


def check_target(url: str, timeout: float = 5.0) -> None:
    """One clear error before the first request when the target is not there."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InputError(f"target {url!r} is not an http:// or https:// URL")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        socket.create_connection((parts.hostname, port), timeout=timeout).close()
    except OSError as error:
        raise InputError(f"cannot reach target {url}: {error.strerror or error}; is it running?") from None


@contextlib.contextmanager
def target_process(command: str, timeout: float = 30.0) -> Iterator[str]:
    """Start a target from a command line (``{port}`` becomes a free port); yields its URL."""
    port = free_port()
    argv = shlex.split(command.replace("{port}", str(port)))
    if not argv:
        raise InputError("--target-cmd is empty")
    try:
        process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                                   start_new_session=True)
    except OSError as error:
        raise InputError(f"cannot start target {argv[0]!r}: {error.strerror or error}") from None
    try:
        problem = wait_until_listening(process, "127.0.0.1", port, timeout)
        if problem:
            exited = process.poll() is not None and process.stderr
            tail = (process.stderr.read().strip().splitlines()[-1:] if exited else []) or [""]
            raise InputError(f"target command {problem} before answering{': ' + tail[0] if tail[0] else ''}")
        yield f"http://127.0.0.1:{port}"
    finally:
        stop(process)


def count_interactions(path: Path) -> int:
    """A cheap count (document starts) for progress; the replay validates for real."""
    try:
        with open(path, "rb") as stream:
            return max(0, sum(1 for line in stream if line.startswith(b"---")) - 1)
    except OSError:
        return 0


def run(
    cassettes: Sequence[Path],
    target: str,
    options: ReplayOptions,
    *,
    timeout: float = 10.0,
    workers: int = 1,
    on_interaction: Callable[[], None] | None = None,
) -> RunResult:
    """Replay cassettes (concurrently across cassettes, in order within each) and gather the results."""
    with TargetClient(target, timeout=timeout, connections=max(workers, 1) * 2) as client:
        started = time.perf_counter()  # the replay itself; start-up is reported apart

        def one(path: Path) -> CassetteResult:
            return replay_cassette(path, client, options, on_interaction)

        if workers <= 1:
            results = [one(path) for path in cassettes]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replay") as pool:
                results = list(pool.map(one, cassettes))
    return RunResult(target, results, time.perf_counter() - started)
