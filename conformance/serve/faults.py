"""Faults ``serve`` injects, so an application meets offline what the network and the API do to it at times.

``KIND@ENDPOINT[:N]`` injects a fault into the Nth request (the first by default) of an endpoint (a label of
the API profile, or ``*`` for any); ``KIND@ENDPOINT%P`` into each such request with probability P percent,
drawn from a seeded generator so a run is reproduced by its seed. The kinds are what the official SDKs retry:
a 429 (with ``Stripe-Should-Retry: true``), a 500, a 503, a connection dropped before any answer (``drop``),
and one dropped after the answer was given (``drop-after``) — the retry of which must get the replay, never a
second execution.
"""

from __future__ import annotations

import difflib
import random
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Literal

from conformance.errors import ConformanceError

__all__ = ["FAULT_KINDS", "Fault", "FaultError", "FaultKind", "FaultPlan", "parse_fault", "parse_faults", "ANY"]

FaultKind = Literal["429", "500", "503", "drop", "drop-after"]
FAULT_KINDS: tuple[FaultKind, ...] = ("429", "500", "503", "drop", "drop-after")
ANY = "*"

_SPEC = re.compile(r"(?P<kind>[^@]*)@(?P<endpoint>[^:%]*)(?::(?P<nth>[^%]*)|%(?P<percent>.*))?")


class FaultError(ConformanceError):
    """A ``--fault`` that cannot be injected: its kind, endpoint, position or probability, and what to give."""


@dataclass(frozen=True)
class Fault:
    """One ``--fault``: what to inject, into which endpoint's requests, at which one or how often."""

    kind: FaultKind
    endpoint: str  # an endpoint label, or ANY
    nth: int = 1  # the Nth matching request (when percent is None)
    percent: float | None = None  # each matching request with this probability, in percent

    def __str__(self) -> str:
        where = f"%{self.percent:g}" if self.percent is not None else (f":{self.nth}" if self.nth != 1 else "")
        return f"{self.kind}@{self.endpoint}{where}"

    def matches(self, endpoint: str) -> bool:
        return self.endpoint in (ANY, endpoint)


def parse_fault(text: str, endpoints: Collection[str]) -> Fault:
    """``KIND@ENDPOINT[:N]`` or ``KIND@ENDPOINT%P``, checked against the kinds and the profile's endpoint labels."""
    found = _SPEC.fullmatch(text.strip())
    if found is None:
        raise FaultError(f"--fault {text!r}: give KIND@ENDPOINT[:N] or KIND@ENDPOINT%P, e.g. drop-after@sources.create")
    kind, endpoint = found["kind"], found["endpoint"]
    if kind not in FAULT_KINDS:
        raise FaultError(f"--fault {text!r}: unknown kind {kind!r}{_suggest(kind, FAULT_KINDS)} "
                         f"(the kinds: {', '.join(FAULT_KINDS)})")
    if endpoint != ANY and endpoint not in endpoints:
        raise FaultError(f"--fault {text!r}: unknown endpoint {endpoint!r}{_suggest(endpoint, endpoints)} "
                         f"(give * or one of {', '.join(sorted(endpoints))})")
    if found["percent"] is not None:
        return Fault(kind, endpoint, percent=_percent(text, found["percent"]))
    nth = found["nth"]
    if nth is not None and not (nth.isdigit() and int(nth) >= 1):
        raise FaultError(f"--fault {text!r}: :{nth} is no request number (give :1 for the first matching request)")
    return Fault(kind, endpoint, nth=int(nth) if nth else 1)


def _percent(text: str, value: str) -> float:
    try:
        percent = float(value)
    except ValueError:
        percent = -1.0
    if not 0 <= percent <= 100:  # NaN fails this too
        raise FaultError(f"--fault {text!r}: %{value} is no probability (give a percentage from 0 to 100)")
    return percent


def _suggest(word: str, choices: Collection[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def parse_faults(texts: Sequence[str], endpoints: Collection[str]) -> tuple[Fault, ...]:
    return tuple(parse_fault(text, endpoints) for text in texts)


@dataclass
class FaultPlan:
    """Which request gets which fault, in one session: each fault counts the requests of its endpoint (its
    own count, so ``429@*:1`` and ``drop@sources.create`` both fire), and a probability draws from a generator
    seeded by the seed and the fault's place, so one fault's draws never shift another's."""

    faults: tuple[Fault, ...] = ()
    seed: int = 0
    counts: list[int] = field(default_factory=list)
    draws: list[random.Random] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """A new session: the counts and the draws start over."""
        self.counts = [0] * len(self.faults)
        self.draws = [random.Random(f"{self.seed}:{place}:{fault}") for place, fault in enumerate(self.faults)]

    def pick(self, endpoint: str) -> Fault | None:
        """The fault this request of ``endpoint`` gets, if any (the first given wins; every matching fault
        counts the request)."""
        if not self.faults:
            return None
        chosen = None
        for place, fault in enumerate(self.faults):
            if not fault.matches(endpoint):
                continue
            self.counts[place] += 1
            if fault.percent is not None:
                hit = self.draws[place].random() * 100 < fault.percent
            else:
                hit = self.counts[place] == fault.nth
            if hit and chosen is None:
                chosen = fault
        return chosen
