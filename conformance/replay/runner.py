"""Running a set of cassettes against a target: the engine behind ``conformance run``."""

from __future__ import annotations

import contextlib
import shlex
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from conformance.errors import TargetError
from conformance.findings import CassetteResult, RunResult
from conformance.net import DEFAULT_MAX_BODY, check_reachable, free_port
from conformance.processes import listening
from conformance.replay.engine import replay_cassette
from conformance.replay.options import ReplayOptions
from conformance.replay.transport import TargetClient

__all__ = ["run", "target_process", "check_target"]


def check_target(url: str, timeout: float = 5.0, wait: float = 0.0) -> None:
    """One clear error before the first request when the target is not there (after ``wait`` seconds)."""
    check_reachable(url, "target", timeout, wait)


@contextlib.contextmanager
def target_process(command: str, timeout: float = 30.0) -> Iterator[str]:
    """Start a target from a command line (``{port}`` becomes a free port); yields its URL."""
    port = free_port()
    argv = shlex.split(command.replace("{port}", str(port)))
    if not argv:
        raise TargetError("--target-cmd is empty")
    with listening(argv, port, "target command", timeout):
        yield f"http://127.0.0.1:{port}"


def run(
    cassettes: Sequence[Path],
    target: str,
    options: ReplayOptions,
    *,
    timeout: float = 10.0,
    workers: int = 1,
    on_interaction: Callable[[], None] | None = None,
    verify: bool | str = True,
    stop: threading.Event | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> RunResult:
    """Replay cassettes (concurrently across cassettes, in order within each) and gather the results.

    ``verify``: for an https:// target, True (the system's CAs), a CA file, or False. ``stop``, once set,
    ends the run after the interactions in flight; cassettes not started are left out. ``max_body``: the most
    bytes an answer may have (a larger one is a finding of its exchange).
    """
    with TargetClient(target, timeout=timeout, connections=max(workers, 1) * 2, verify=verify,
                      max_body=max_body) as client:
        started = time.perf_counter()  # the replay itself; start-up is reported apart

        def one(path: Path) -> CassetteResult | None:
            if stop is not None and stop.is_set():
                return None
            return replay_cassette(path, client, options, on_interaction, stop)

        if workers <= 1:
            done = [one(path) for path in cassettes]
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="replay") as pool:
                done = list(pool.map(one, cassettes))
    return RunResult(target, [r for r in done if r is not None], time.perf_counter() - started,
                     contract=options.contract.name if options.contract is not None else None)
