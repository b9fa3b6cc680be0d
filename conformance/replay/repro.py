"""``run --repro-dir``: per root cause, the fewest interactions of its cassette that still show it on the target.

A cause is about one recorded interaction (of those it explains, the earliest in its cassette: the shortest
prefix). Interactions after it cannot change its answer and are left out; those before it are cut down by delta
debugging (Zeller and Hildebrandt's *ddmin*): each candidate subset, with the cause's interaction last, is written
as a cassette and replayed through the run's own engine (ids bound as the run binds them, the same options), one
replay per candidate. A candidate *still shows the cause* when

* its replay has a finding of that very cause (the root-cause key the reports group by: rule, object kind, key
  path, endpoint) at the cause's interaction, as the interaction's own failure (not one that follows from an id an
  earlier failure left unbound), and
* no interaction it keeps fails in a way the run did not see there (a new cause, or blocked where it was not):
  a subset that breaks the recording's story (a list answered without the cards it dropped, a card updated
  that was never attached) shows another failure, and would fail on a faithful target too.

The result is written as an ordinary cassette (its header's ``meta`` says how it was made), redacted as every
cassette a writer writes: ``conformance run THAT.yaml --target URL`` shows the cause, a faithful target passes.
The work is bounded: at most ``ReproLimits.replays`` replays per cause and ``ReproLimits.budget`` seconds for all;
a cap hit writes the smallest subset found so far, and says so.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from conformance.api_profile import IdScheme
from conformance.cassette import CassetteError, Interaction
from conformance.cassette.exchange import redact_interaction
from conformance.cassette.files import CassetteWriter, load
from conformance.findings import CassetteResult, RunResult
from conformance.net import DEFAULT_MAX_BODY
from conformance.replay.engine import ReplayOptions, replay_cassette
from conformance.replay.transport import TargetClient
from conformance.report.causes import CauseKey, RootCause, root_causes
from conformance.report.reproductions import Reproduction
from conformance.rules import Outcome, Severity
from conformance.text import plural

__all__ = ["REPRO_REPLAYS", "REPRO_BUDGET", "ReproLimits", "ddmin", "StopMinimizing", "reproduce", "MADE_BY"]

REPRO_REPLAYS = 64  # candidate replays per cause
REPRO_BUDGET = 120.0  # seconds for every cause of a run together
MADE_BY = "conformance run --repro-dir"

T = TypeVar("T")
_BLOCKED: CauseKey = ("blocked",)


@dataclass(frozen=True)
class ReproLimits:
    """How much cutting down may cost: replays per cause, seconds for all causes."""

    replays: int = REPRO_REPLAYS
    budget: float = REPRO_BUDGET


class StopMinimizing(Exception):
    """A limit was reached before the subset was 1-minimal; the text says which (for the cassette's note)."""


def _chunks(items: list[T], count: int) -> list[list[T]]:
    """``items`` in ``count`` contiguous parts of nearly equal length, in order."""
    size, extra = divmod(len(items), count)
    parts, start = [], 0
    for number in range(count):
        end = start + size + (1 if number < extra else 0)
        parts.append(items[start:end])
        start = end
    return [part for part in parts if part]


def ddmin(items: Sequence[T], shows: Callable[[list[T]], bool]) -> tuple[list[T], str | None]:
    """Zeller and Hildebrandt's ddmin: a 1-minimal subsequence of ``items`` that ``shows`` holds for (it is
    assumed to hold for ``items``), order kept. ``shows`` may raise :class:`StopMinimizing`: then the smallest
    subsequence found so far is returned with the reason (else None)."""
    current, count = list(items), 2
    try:
        while len(current) >= 2:
            parts = _chunks(current, min(count, len(current)))
            smaller = next((part for part in parts if shows(part)), None)
            if smaller is not None:
                current, count = smaller, 2
                continue
            complements = [[item for other in parts if other is not part for item in other] for part in parts]
            smaller = next((rest for rest in complements if len(parts) > 2 and shows(rest)), None)
            if smaller is not None:
                current, count = smaller, max(count - 1, 2)
                continue
            if count >= len(current):
                break
            count = min(len(current), count * 2)
    except StopMinimizing as stop:
        return current, str(stop)
    return current, None


def _signature(result: RunResult) -> dict[tuple[str, int], set[CauseKey]]:
    """Per (cassette, interaction): the failing root causes the reports would list there, and ``blocked``."""
    places: dict[tuple[str, int], set[CauseKey]] = {}
    for cause in root_causes(result):
        if cause.severity == Severity.FAILURE:
            for place in cause.interactions:
                places.setdefault(place, set()).add(cause.key)
    for cassette, interaction in result.interactions():
        if interaction.outcome == Outcome.BLOCKED:
            places.setdefault((cassette.path, interaction.index), set()).add(_BLOCKED)
    return places


def _as_source(result: CassetteResult, source: str, kept: tuple[int, ...]) -> CassetteResult:
    """A candidate's result told in the run's cassette's numbers (its path, its interactions' indices)."""
    number = dict(enumerate(kept, 1))
    for interaction in result.interactions:
        interaction.index = number.get(interaction.index, interaction.index)
        if interaction.blocked_by is not None:
            interaction.blocked_by = number.get(interaction.blocked_by, interaction.blocked_by)
        for finding in interaction.findings:
            if finding.consequence_of is not None:
                finding.consequence_of = number.get(finding.consequence_of, finding.consequence_of)
    result.path = source
    return result


@dataclass
class _Session:
    """What every cause's replays share: the target, the run's options, where candidates are written, the
    limits and the clock."""

    client: TargetClient
    options: ReplayOptions
    target: str
    work: Path
    limits: ReproLimits
    deadline: float
    stop: threading.Event | None = None
    accept: Callable[[RunResult], object] | None = None  # the run's baseline, applied to each candidate's result
    written: int = 0
    last: tuple[int, int, int] | None = None  # the last candidate file's (inode, size, mtime)

    def check(self, replays: int) -> None:
        """:class:`StopMinimizing` when a limit is reached (before a replay, never inside one)."""
        if self.stop is not None and self.stop.is_set():
            raise StopMinimizing("interrupted")
        if replays >= self.limits.replays:
            raise StopMinimizing(f"stopped at the cap of {plural(self.limits.replays, 'replay')} (--repro-replays)")
        if time.monotonic() >= self.deadline:
            raise StopMinimizing(f"stopped when the time budget ran out (--repro-budget {self.limits.budget:g}s)")

    def candidate(self, header: dict[str, Any], interactions: list[Interaction]) -> Path:
        """The candidate written as a cassette; always the same file, seen as changed by the parse cache."""
        path = self.work / "candidate.yaml"
        with CassetteWriter(path, "candidate", header, mode="overwrite") as writer:
            for interaction in interactions:
                writer.append(dataclasses.replace(interaction))  # append numbers its copy
        stat = path.stat()
        if self.last == (stat.st_ino, stat.st_size, stat.st_mtime_ns):  # a coarse clock and a reused inode
            os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
            stat = path.stat()
        self.last = (stat.st_ino, stat.st_size, stat.st_mtime_ns)
        return path


@dataclass
class _Trials:
    """One cause's candidate replays: which subsets of its cassette still show it, each tried once."""

    session: _Session
    source: str  # the run's cassette path, as the run names it
    index: int  # the interaction the cause is about
    key: CauseKey
    header: dict[str, Any]
    interactions: dict[int, Interaction]  # by index, redacted
    seen: dict[tuple[str, int], set[CauseKey]]  # what the run found at each place of the cassette
    replays: int = 0

    def __post_init__(self) -> None:
        self.tried: dict[tuple[int, ...], bool] = {}
        self.needs = dependencies([self.interactions[i] for i in sorted(self.interactions)],
                                  self.session.options.profile.ids)

    def kept(self, setup: Sequence[int]) -> tuple[int, ...]:
        """The interactions a candidate replays: ``setup``, the cause's, and those that mint the ids they use."""
        return closed((*setup, self.index), self.needs)

    def shows(self, setup: Sequence[int]) -> bool:
        """Whether ``setup`` then the cause's interaction still show the cause, and nothing the run did not see."""
        kept = self.kept(setup)
        if kept not in self.tried:
            self.session.check(self.replays)
            self.replays += 1
            self.tried[kept] = self._judge(kept, self._replay(kept))
        return self.tried[kept]

    def _replay(self, kept: tuple[int, ...]) -> RunResult:
        session = self.session
        path = session.candidate(self.header, [self.interactions[index] for index in kept])
        client, options = session.client, dataclasses.replace(session.options, keep_bodies=False)
        result = _as_source(replay_cassette(path, client, options, stop=session.stop), self.source, kept)
        run = RunResult(session.target, [result])
        if session.accept is not None:
            session.accept(run)
        return run

    def _judge(self, kept: tuple[int, ...], run: RunResult) -> bool:
        if run.cassettes[0].error or len(run.cassettes[0].interactions) < len(kept):
            return False  # cut short (a stop), or unreadable: shows nothing
        if self.key[0] == "answers":  # the target answers one same thing to every request: a subset shows it
            # when its interactions are all answered so (fewer than two is no grouping of their own)
            return all(str(interaction.actual_status) == self.key[1] for interaction in run.cassettes[0].interactions)
        found = _signature(run)
        return self.key in found.get((self.source, self.index), set()) and all(
            keys <= self.seen.get(place, set()) for place, keys in found.items())


# An object's own id in an answer (as json.dumps writes it), of a kind the id scheme may not know: a UUID, ``txi_…``.
_OWN_ID = re.compile(r'"id": "([\w.:~-]{8,255})"', re.ASCII)


def _ids_in(text: str, ids: IdScheme, others: set[str]) -> set[str]:
    """The ids of a known kind in ``text``, and those of ``others`` it holds as whole words."""
    found = set(ids.find(text))
    found.update(other for other in others if other in text and re.search(
        rf"(?<![0-9A-Za-z_]){re.escape(other)}(?![0-9A-Za-z])", text))
    return found


def _texts(interaction: Interaction) -> tuple[str, str]:
    """An interaction's request (path, query, body) and answer as text, where its ids are."""
    request, response = interaction.request, interaction.response
    answer = response.json()
    shown = json.dumps(answer, ensure_ascii=False) if answer is not None else \
        response.body.to_bytes().decode("utf-8", "replace") if response.body is not None else ""
    return f"{request.url_path} {request.content().decode('utf-8', 'replace')}", shown


def _shown(data: Any, ids: IdScheme, others: set[str]) -> set[str]:
    """The objects an answer shows the state of: every object's own ``id``, at any depth, and the owner a list's
    ``url`` names (``/v1/customers/cus_…/cards``: the customer's cards)."""
    found: set[str] = set()
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("id"), str):
                found.add(item["id"])
            if item.get("object") == "list" and isinstance(item.get("url"), str):
                found.update(_ids_in(item["url"], ids, others))
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found


def dependencies(interactions: Sequence[Interaction], ids: IdScheme) -> dict[int, set[int]]:
    """For each interaction (by index), the earlier ones a subset must keep with it for the recording to stay true:

    * those that minted an id its request sends or its answer shows (the first answer it appeared in, before any
      request sent it): without them it sends ids no target minted, or expects objects never made;
    * every earlier change (not a GET) to an object its answer shows, or under it (a card attached to or deleted
      from a customer it shows, an update of a card in a list it shows): without them a faithful target answers
      another state than the recorded one, though a target that ignores such changes would not tell;
    * the earlier delete of the object its path ends at (an update of a card deleted before: without the delete a
      faithful target rightly updates it; the object's updates come with an answer that shows it).
    """
    minted_by: dict[str, int] = {}
    others: set[str] = set()
    changes: list[tuple[int, set[str]]] = []  # (index, the ids in the path of a request that changes something)
    deletes: list[tuple[int, set[str]]] = []  # (index, the object a DELETE removed)
    needs: dict[int, set[int]] = {}
    for interaction in interactions:
        request, answer = _texts(interaction)
        others.update(own for own in _OWN_ID.findall(answer) if ids.prefix_of(own) is None)
        sent, shown = _ids_in(request, ids, others), _ids_in(answer, ids, others)
        for known in sent:
            minted_by.setdefault(known, 0)  # sent before any answer showed it: a fixture, minted by no one here
        for new in shown:
            minted_by.setdefault(new, interaction.index)
        objects = _shown(interaction.response.json(), ids, others)
        addressed = set(interaction.request.path.rstrip("/").split("/")[-1:]) & (sent | others)
        needs[interaction.index] = ({minted_by[i] for i in sent | shown} - {0, interaction.index}) | {
            index for index, touched in changes if touched & objects} | {
            index for index, touched in deletes if touched & addressed}
        if interaction.request.method not in ("GET", "HEAD"):
            changes.append((interaction.index, set(interaction.request.path.split("/")) & (sent | others)))
        if interaction.request.method == "DELETE":
            deletes.append((interaction.index, addressed))
    return needs


def closed(kept: Sequence[int], needs: dict[int, set[int]]) -> tuple[int, ...]:
    """``kept`` with every interaction it needs, and what those need, in order."""
    result, pending = set(kept), list(kept)
    while pending:
        for needed in needs.get(pending.pop(), set()) - result:
            result.add(needed)
            pending.append(needed)
    return tuple(sorted(result))


def _shared_name(source: str) -> str:
    """The source cassette as a file others can read it under: relative to the working folder when inside it,
    else its name (an installed suite's absolute path is this machine's, not the reader's)."""
    path = Path(source)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return path.name


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-.") or "x"


def _header(meta: dict[str, Any]) -> dict[str, Any]:
    """The source cassette's header fields a replay reads (host, api_version, fixtures, compare, source)."""
    return {key: value for key, value in meta.items() if key not in ("name", "meta", "warnings")}


@dataclass(frozen=True)
class _Cause:
    """A cause to reproduce: its rank among the run's failing causes and where it is reproduced from."""

    rank: int
    cause: RootCause
    source: str
    index: int


def _minimal(trials: _Trials) -> tuple[tuple[int, ...] | None, str]:
    """The fewest interactions up to the cause's that still show it (None: not even all of them did), and why
    they may not be the fewest ("" when they are 1-minimal)."""
    setup = list(range(1, trials.index))
    try:
        if trials.shows([]):
            return trials.kept([]), ""
        if not trials.shows(setup):
            return None, (f"the cause did not show again when {Path(trials.source).name} #1–#{trials.index} was "
                          "replayed alone: it may need what other cassettes left on the target, or the target "
                          "answers differently from one time to the next")
    except StopMinimizing as stop:
        return None, f"{stop} before a subset was seen to show the cause again"
    kept, stopped = ddmin(setup, trials.shows)
    return trials.kept(kept), f"{stopped}: the smallest found so far, maybe not the smallest" if stopped else ""


def _write(path: Path, trials: _Trials, item: _Cause, kept: tuple[int, ...], note: str, total: int) -> None:
    """The repro cassette: the kept interactions as recorded, redacted like any cassette, the header saying how it
    was made."""
    redactor = trials.session.options.redactor
    meta: dict[str, Any] = {
        "made_by": MADE_BY, "cassette": redactor.text(_shared_name(item.source)), "interactions": list(kept), "of": total,
        "rule": item.cause.rule, "cause": redactor.text(item.cause.message),
        "target": redactor.text(trials.session.target), "replays": trials.replays}
    if note:
        meta["note"] = note
    with CassetteWriter(path, path.stem, {**trials.header, "meta": meta}, mode="overwrite") as writer:
        for index in kept:
            writer.append(dataclasses.replace(trials.interactions[index]))


def _reproduce_one(session: _Session, item: _Cause, run: RunResult, out: Path,
                   command: Callable[[Path], str]) -> Reproduction:
    """One cause's repro cassette, written to ``out`` (or a note saying why there is none)."""
    cassette = next(c for c in run.cassettes if c.path == item.source)
    total = len(cassette.interactions)
    nothing = Reproduction(None, "", item.source, (), total, 0)
    try:
        loaded = load(Path(item.source), session.options.profile)
    except CassetteError as error:
        return dataclasses.replace(nothing, note=f"its cassette could not be read again: {error}")
    redactor = session.options.redactor
    trials = _Trials(session, item.source, item.index, item.cause.key, _header(dict(loaded.meta)),
                     {i.index: redact_interaction(i, redactor) for i in loaded.interactions},
                     _signature(RunResult(run.target, [cassette])))
    kept, note = _minimal(trials)
    if kept is None:
        return dataclasses.replace(nothing, replays=trials.replays, note=note)
    path = out / f"repro-{item.rank:02d}-{_slug(item.cause.rule)}-{_slug(Path(item.source).stem)}-{item.index}.yaml"
    try:
        _write(path, trials, item, kept, note, total)
    except (OSError, CassetteError) as error:
        return dataclasses.replace(nothing, replays=trials.replays, note=f"could not write {path}: {error}")
    return Reproduction(path, command(path), item.source, kept, total, trials.replays, note)


def reproduce(result: RunResult, out: Path, options: ReplayOptions, command: Callable[[Path], str], *,
              limits: ReproLimits = ReproLimits(), timeout: float = 10.0, verify: bool | str = True,
              max_body: int = DEFAULT_MAX_BODY, stop: threading.Event | None = None,
              accept: Callable[[RunResult], object] | None = None) -> dict[CauseKey, Reproduction]:
    """A repro cassette in ``out`` for each failing root cause of ``result``, replayed on ``result.target``.

    ``command(path)`` is the command line that replays a written cassette (the reports print it); ``accept`` marks
    what the run's baseline accepts in a candidate's result, as it did in the run's.
    """
    causes = [c for c in root_causes(result) if c.severity == Severity.FAILURE]
    made: dict[CauseKey, Reproduction] = {}
    if not causes:
        return made
    out.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + limits.budget
    with TargetClient(result.target, timeout=timeout, connections=2, verify=verify, max_body=max_body) as client, \
            tempfile.TemporaryDirectory(dir=out, prefix=".repro-candidates-") as work:
        session = _Session(client, options, result.target, Path(work), limits, deadline, stop, accept)
        for rank, cause in enumerate(causes, 1):
            source, index = min(cause.interactions, key=lambda place: place[1])
            made[cause.key] = _reproduce_one(session, _Cause(rank, cause, source, index), result, out, command)
    return made
