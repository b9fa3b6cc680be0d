"""Drift between two recordings of the same traffic: what a re-recording changed, graded by risk for a consumer.

The older recording plays the part of the recording and the newer one the part
of a target's answers, and ``run``'s own comparison judges them: ids are bound
between the two as a replay binds a target's (the binder is handed in:
``replay/binding.py``'s :class:`IdBindings`, which checks may not import),
minted and volatile values are compared by their shape, lists of objects as
lists. Requests are paired by method and endpoint, the n-th of each in one
recording with the n-th in the other; what is left over was added or removed.

Each difference is graded: **breaking** (a key removed, a type changed, a
status changed: a consumer's code that read the old answer may fail),
**behaviour** (a value compared exactly changed), **additive** (a key added).
A changed ``api_version`` is a behaviour change of the whole cassette;
requests added or removed are what the application asks, not the API, and
are shown without a grade. A path whose value differed in every pair, with
values that also differ from one pair to the next, looks volatile: it is
named with the ``compare:`` entry that would silence it, never silenced.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from conformance.api_profile import ApiProfile
from conformance.cassette import Cassette, Interaction
from conformance.checks.compare import CompareRules
from conformance.checks.exchange import CheckState, Exchange, route_key, run_checks
from conformance.checks.naming import note_minted
from conformance.checks.parameters import without_indexes
from conformance.checks.response import body_is_json, body_matches_recording, status_matches
from conformance.errors import ConformanceError
from conformance.findings import MISSING, Finding
from conformance.text import json_type, value_text

__all__ = ["GRADES", "Binder", "Change", "Volatile", "CassetteDrift", "NothingInCommon", "drift_between",
           "grade_reached", "pair_cassettes", "drifts"]

BREAKING, BEHAVIOUR, ADDITIVE = "breaking", "behaviour", "additive"
GRADES = (ADDITIVE, BEHAVIOUR, BREAKING)  # in rising risk: --fail-on GRADE fails on it and every grade above

# run's rules, as a consumer of the answers meets them
_KINDS: dict[str, tuple[str, str]] = {
    "status": (BREAKING, "status changed"),
    "body.json": (BREAKING, "no longer JSON"),
    "keys.missing": (BREAKING, "key removed"),
    "type": (BREAKING, "type changed"),
    "object": (BREAKING, "object changed"),
    "id.prefix": (BREAKING, "id kind changed"),
    "keys.extra": (ADDITIVE, "key added"),
}
_BEHAVIOUR_KIND = "value changed"


class Binder(Protocol):
    """What a replay's id bindings do (``conformance.replay.binding.IdBindings``)."""

    def learn(self, recorded: Any, actual: Any, key: Any = None, in_list: bool = False,
              never: Any = ()) -> None: ...

    def expected(self, recorded: Any, actual: Any, learn: bool, minted: dict[str, Any], never: Any = ()) -> Any: ...


class NothingInCommon(ConformanceError):
    """Two recordings that share no request: not two recordings of the same traffic."""


@dataclass
class Change:
    """One kind of difference at one place of one endpoint's answers, and every interaction it was seen in."""

    cassette: str
    grade: str  # breaking, behaviour, additive; "" for requests added or removed
    kind: str  # key removed, type changed, value changed, request removed…
    endpoint: str
    path: str  # the JSON path with list positions left out ("" for the whole exchange)
    old: Any = MISSING
    new: Any = MISSING
    interactions: list[int] = field(default_factory=list)  # the old recording's numbers (the new's when added)

    def said(self) -> str:
        """The change in a few words: what it was, what it is."""
        where = f"{self.path}: " if self.path else ""
        if self.kind == "type changed":
            return f"{where}{_type(self.old)} -> {_type(self.new)} ({_text(self.new)})"
        if self.kind == "key added":
            return f"{where}added ({_text(self.new)})"
        if self.kind == "key removed":
            return f"{where}removed (was {_text(self.old)})"
        if self.kind in ("request removed", "request added"):
            return self.path
        return f"{where}{_text(self.old)} -> {_text(self.new)}"

    def to_json(self) -> dict[str, Any]:
        return {"cassette": self.cassette, "grade": self.grade or None, "kind": self.kind, "endpoint": self.endpoint,
                "path": self.path, "old": None if self.old is MISSING else self.old,
                "new": None if self.new is MISSING else self.new, "interactions": self.interactions}


@dataclass
class Volatile:
    """A path whose value differed in every pair of an endpoint, and from pair to pair: likely volatile."""

    cassette: str
    endpoint: str
    path: str
    pairs: int
    examples: list[tuple[Any, Any]]

    @property
    def entry(self) -> str:
        """The ``compare:`` entry of the cassette header that would silence it (text: by presence; else ignored)."""
        texts = all(isinstance(old, str) and isinstance(new, str) for old, new in self.examples)
        return f"compare: {{{'loose' if texts else 'ignore'}: [{self.path}]}}"

    def to_json(self) -> dict[str, Any]:
        return {"cassette": self.cassette, "endpoint": self.endpoint, "path": self.path, "pairs": self.pairs,
                "examples": [list(pair) for pair in self.examples], "compare": self.entry}


@dataclass
class CassetteDrift:
    """What changed between two recordings of one cassette."""

    name: str
    old: Path
    new: Path
    paired: int = 0
    changes: list[Change] = field(default_factory=list)
    volatile: list[Volatile] = field(default_factory=list)

    def count(self, grade: str) -> int:
        return sum(1 for change in self.changes if change.grade == grade)


def grade_reached(drifts: Iterable[CassetteDrift], fail_on: str) -> bool:
    """Whether any change is of grade ``fail_on`` or riskier."""
    riskier = set(GRADES[GRADES.index(fail_on):])
    return any(change.grade in riskier for drift in drifts for change in drift.changes)


def _type(value: Any) -> str:
    return "missing" if value is MISSING else json_type(value)


def _text(value: Any, limit: int = 80) -> str:
    """A value as JSON, cut to ``limit`` characters: a removed list of ten cards is named, not printed."""
    text = value_text(value, MISSING)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _pairs(old: list[Interaction], new: list[Interaction]) -> tuple[list[tuple[Interaction, Interaction]],
                                                                     list[Interaction], list[Interaction]]:
    """(old, new) pairs — the n-th request of a method and endpoint in one with the n-th in the other — in the
    old recording's order, and what only the old or only the new holds."""
    waiting: dict[str, list[Interaction]] = defaultdict(list)
    for interaction in reversed(new):
        waiting[route_key(interaction)].append(interaction)
    pairs, removed = [], []
    for interaction in old:
        queue = waiting.get(route_key(interaction))
        if queue:
            pairs.append((interaction, queue.pop()))
        else:
            removed.append(interaction)
    paired = {id(other) for _, other in pairs}
    return pairs, removed, [interaction for interaction in new if id(interaction) not in paired]


def _requested(interaction: Interaction) -> list[Any]:
    """What a request names ids in: its path's segments, its query and body (bound like a target's answers)."""
    body = interaction.request.body
    return [interaction.request.path.split("/"), interaction.request.query,
            body.value if body is not None and body.kind in ("form", "json") else None]


class _Comparison:
    """One cassette's pairs judged in order, with run's checks and state."""

    def __init__(self, profile: ApiProfile, rules: CompareRules, bindings: Binder) -> None:
        self.state = CheckState(profile, rules)
        self.bindings = bindings
        self.counts: dict[str, int] = {}

    def findings(self, old: Interaction, new: Interaction) -> list[Finding]:
        """run's findings for the new answer against the old, ids bound as a replay binds them."""
        bindings = self.bindings
        bindings.learn(_requested(old), _requested(new))  # ids the requests name that no answer minted (fixtures)
        recorded, actual = old.response.json(), new.response.json()
        note_minted(self.state.minted, self.counts, recorded, old.response.status)
        expected = None if recorded is None else bindings.expected(
            recorded, actual, old.response.status == new.response.status, self.state.minted)
        problem = None if actual is not None or new.response.body is None or recorded is None else \
            f"the answer is {new.response.body.kind}, not JSON"
        self.state.request_sent(old, new.request.path)
        exchange = Exchange(old, new.request.path, new.request.query, new.response.status, actual, problem,
                            "", expected)
        return run_checks(exchange, self.state, [status_matches, body_is_json, body_matches_recording])


def _graded(finding: Finding) -> tuple[str, str]:
    return _KINDS.get(finding.rule, (BEHAVIOUR, _BEHAVIOUR_KIND))


def drift_between(old: Cassette, new: Cassette, profile: ApiProfile, rules: CompareRules,
                  bindings: Binder) -> CassetteDrift:
    """What changed from ``old`` to ``new`` (both read with ``profile``); :class:`NothingInCommon` when no request
    of one is in the other. ``rules`` are the run's, the old cassette's ``compare:`` entries added."""
    compare = old.meta.get("compare") or {}
    rules = rules.with_overrides(compare.get("ignore", ()), compare.get("exact", ()), compare.get("loose", ()),
                                 compare.get("nullable", ()))
    drift = CassetteDrift(old.name, old.path, new.path)
    pairs, removed, added = _pairs(old.interactions, new.interactions)
    if not pairs:
        raise NothingInCommon(f"{old.path} and {new.path} share no request (method and endpoint): they are not two "
                              "recordings of the same traffic; give the old and the new recording of one cassette")
    drift.paired = len(pairs)
    grouped: dict[tuple[str, str, str, str], Change] = {}
    seen: Counter[tuple[str, str]] = Counter()  # (endpoint, path) -> pairs whose answers hold it
    differed: dict[tuple[str, str], list[tuple[int, Any, Any]]] = defaultdict(list)
    comparison = _Comparison(profile, rules, bindings)
    for old_one, new_one in pairs:
        findings = comparison.findings(old_one, new_one)
        for path in _leaf_paths(old_one.response.json()):
            seen[(old_one.endpoint, path)] += 1
        for finding in findings:
            grade, kind = _graded(finding)
            path = without_indexes(finding.path)
            key = (grade, kind, old_one.endpoint, path)
            change = grouped.get(key)
            if change is None:
                change = grouped[key] = Change(old.name, grade, kind, old_one.endpoint, path, finding.expected,
                                               finding.actual)
            change.interactions.append(old_one.index)
            if finding.rule == "value":
                differed[(old_one.endpoint, path)].append((old_one.index, finding.expected, finding.actual))
    api_old, api_new = old.meta.get("api_version"), new.meta.get("api_version")
    if api_old != api_new:
        drift.changes.append(Change(old.name, BEHAVIOUR, "api_version changed", "", "api_version",
                                    api_old if api_old is not None else MISSING,
                                    api_new if api_new is not None else MISSING))
    order = {grade: rank for rank, grade in enumerate(reversed(GRADES))}
    drift.changes += sorted(grouped.values(), key=lambda c: (order[c.grade], c.endpoint, c.kind, c.path))
    drift.changes += [_traffic(old.name, "request removed", one) for one in removed]
    drift.changes += [_traffic(old.name, "request added", one) for one in added]
    drift.volatile = _volatile(old.name, seen, differed)
    return drift


def _traffic(name: str, kind: str, interaction: Interaction) -> Change:
    request = interaction.request
    return Change(name, "", kind, interaction.endpoint, f"#{interaction.index} {request.method} {request.url_path}",
                  interactions=[interaction.index])


def _leaf_paths(body: Any) -> set[str]:
    """Every path of a body's values, list positions left out: where a value could have differed."""
    found: set[str] = set()
    stack: list[tuple[str, Any]] = [("", body)]
    while stack:
        prefix, value = stack.pop()
        if isinstance(value, dict):
            stack.extend((f"{prefix}.{key}" if prefix else str(key), child) for key, child in value.items())
        elif isinstance(value, list):
            stack.extend((prefix, child) for child in value)
        elif prefix:
            found.add(prefix)
    return found


def _volatile(name: str, seen: Counter[tuple[str, str]],
              differed: dict[tuple[str, str], list[tuple[int, Any, Any]]]) -> list[Volatile]:
    """Paths that differed in every pair holding them (two pairs at least), with values that change from one
    pair to the next in a recording: a consistent change (every "Visa" now "visa") is drift, not volatility."""
    found = []
    for (endpoint, path), values in sorted(differed.items()):
        holding, differing = seen[(endpoint, path)], len({index for index, _, _ in values})
        if holding < 2 or differing < holding:
            continue
        olds, news = {_hashable(o) for _, o, _ in values}, {_hashable(n) for _, _, n in values}
        if len(olds) > 1 or len(news) > 1:
            found.append(Volatile(name, endpoint, path, differing, [(o, n) for _, o, n in values[:3]]))
    return found


def _hashable(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def pair_cassettes(old: list[Cassette], new: list[Cassette]) -> tuple[list[tuple[Cassette, Cassette]],
                                                                       list[Cassette], list[Cassette]]:
    """Cassettes paired by name: (old, new) pairs, and those only the old or only the new side holds."""
    by_name = {cassette.name: cassette for cassette in new}
    pairs = [(cassette, by_name.pop(cassette.name)) for cassette in old if cassette.name in by_name]
    paired = {one.name for one, _ in pairs}
    return pairs, [c for c in old if c.name not in paired], list(by_name.values())


def drifts(old: list[Cassette], new: list[Cassette], profile: ApiProfile, rules: CompareRules,
           binder: Callable[[], Binder]) -> tuple[list[CassetteDrift], list[Cassette], list[Cassette]]:
    """Every pair of cassettes compared, a fresh binder each; and the cassettes only one side holds."""
    pairs, only_old, only_new = pair_cassettes(old, new)
    return [drift_between(one, other, profile, rules, binder()) for one, other in pairs], only_old, only_new
