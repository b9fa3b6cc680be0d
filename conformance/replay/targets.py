"""Several targets, one suite: the runs behind ``conformance matrix``.

Every target is started (``--target-cmd``) and found listening before the first
request to any of them, so a target that never starts costs seconds, not a
finished run of the others. The runs then go concurrently — a target a thread,
up to ``workers`` at once — each exactly the run ``conformance run`` makes, so
a matrix column says what a single run says.
"""

from __future__ import annotations

import contextlib
import re
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from conformance.errors import TargetError
from conformance.findings import RunResult
from conformance.net import DEFAULT_MAX_BODY
from conformance.replay.engine import ReplayOptions
from conformance.replay.runner import check_target, run, target_process

__all__ = ["Target", "TARGET_NAME", "check_names", "started_targets", "run_targets"]

TARGET_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


@dataclass(frozen=True)
class Target:
    """A named target: a URL, or a command that starts one (``{port}`` becomes a free port)."""

    name: str
    url: str | None = None
    command: str | None = None

    def __post_init__(self) -> None:
        if not TARGET_NAME.fullmatch(self.name):
            raise TargetError(f"target name {self.name!r}: use letters, digits, '.', '_' or '-' (at most 40), "
                              "such as localstripe or stripe-mock")
        if (self.url is None) == (self.command is None):
            raise TargetError(f"target {self.name}: give a URL or a command, not both")


def check_names(targets: Sequence[Target]) -> None:
    """Each target a column of its own: a name given twice is one TargetError."""
    names = [t.name for t in targets]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise TargetError(f"target name {', '.join(twice)} given twice: each target needs a name of its own")


@contextlib.contextmanager
def started_targets(targets: Sequence[Target], start_timeout: float = 30.0, wait: float = 0.0) -> Iterator[dict[str, str]]:
    """Start every target that is a command, check every one answers (a URL: within ``wait`` seconds); yields
    name -> base URL, stops them after."""
    check_names(targets)
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for target in targets:
            if target.command is not None:
                try:
                    urls[target.name] = stack.enter_context(target_process(target.command, start_timeout))
                except TargetError as error:
                    raise TargetError(f"target {target.name}: {error}") from None
            else:
                assert target.url is not None
                urls[target.name] = target.url.rstrip("/")
        for target in targets:
            try:
                check_target(urls[target.name], wait=wait)
            except TargetError as error:
                raise TargetError(f"target {target.name}: {error}") from None
        yield urls


def run_targets(
    cassettes: Sequence[Path],
    urls: dict[str, str],
    options: Mapping[str, ReplayOptions],
    *,
    timeout: float = 10.0,
    workers: int = 1,
    on_interaction: Callable[[], None] | None = None,
    verify: bool | str = True,
    stop: threading.Event | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> dict[str, RunResult]:
    """Replay the suite against every target (with its own options: a target may need ``--tokens create``): up to
    ``workers`` targets at once, the workers left over shared among each target's cassettes. The results come
    back in the order of ``urls``."""
    at_once = max(1, min(workers, len(urls)))
    per_target = max(1, workers // at_once)

    def one(name: str) -> RunResult:
        return run(cassettes, urls[name], options[name], timeout=timeout, workers=per_target, on_interaction=on_interaction,
                   verify=verify, stop=stop, max_body=max_body)

    if at_once == 1:
        return {name: one(name) for name in urls}
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="target") as pool:
        done = dict(zip(urls, pool.map(one, urls)))
    return done
