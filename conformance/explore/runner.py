"""Exploring a target: a profile's state machine run by Hypothesis, within a budget, from a seed.

Hypothesis generates each sequence from the machine's rules, keeps a failing one in its example database (tried
first next time) and shrinks it to the fewest steps that still fail. Sequences run in rounds of a few dozen, each
round seeded from ``seed`` and its number, until the budget (seconds) or ``max_examples`` is spent; a rule found
broken is then known, and the rounds go on to find the others. The last share of the budget is kept for
shrinking (``SHRINK_SHARE``): no round starts then.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from hypothesis import HealthCheck, Phase, reject, settings
from hypothesis.control import current_build_context
from hypothesis.database import DirectoryBasedExampleDatabase
from hypothesis.errors import Flaky, InvalidArgument
from hypothesis.stateful import RuleBasedStateMachine, get_state_machine_test

from conformance.checks.compare import CompareRules
from conformance.contract import Contract
from conformance.explore.reference import PairedSession
from conformance.explore.session import Deviation, ExploreInputError, Notice, Session, Step, TokenPlan, Wire
from conformance.net import DEFAULT_MAX_BODY
from conformance.redaction import without_credentials
from conformance.replay.binding import IdBindings
from conformance.replay.tokens import make_token
from conformance.replay.transport import TargetClient

__all__ = ["ExploreOptions", "ExploreResult", "Failure", "Machines", "Recorder", "explore"]

ROUND = 40  # sequences per round: small enough that a budget ends within a round's time
PATIENCE = 30  # shrinking attempts without a shorter failing sequence before shrinking stops
# the share of the budget kept for shrinking: no new round starts once less is left, so a failure found by the
# last round is shrunk with at least that much time (one found as the budget ended was written as it stood)
SHRINK_SHARE = 0.15


@dataclass
class Failure:
    """A rule a shrunk sequence breaks: the steps up to the breaking answer, and the seed of its round."""

    rule: str
    message: str
    steps: list[Step]
    seed: int
    key: str = ""  # what is then known: the rule, or the rule and where (a missing route, route by route)


@dataclass
class Recorder:
    """What the machines of one run share: the sessions they open, the rules already found broken."""

    new_session: Callable[[], Session]
    known: set[str] = field(default_factory=set)  # rules found broken: not raised again
    sequences: int = 0
    requests: int = 0
    failing: Session | None = None  # the shortest failing sequence of this round
    failing_rule: Deviation | None = None
    last: Session | None = None
    notices: dict[str, Notice] = field(default_factory=dict)  # warning rules broken: the first notice of each
    deadline: float = math.inf  # time.monotonic() when the budget is spent: shrinking stops there too
    patience: int = PATIENCE
    searching_since: int = 0  # sequences when the search for the next broken rule began
    found_after: int = 0  # sequences the search took to find this failure
    shrunk_at: int = 0  # sequences when the shrinker last found a smaller failing sequence

    def session(self) -> Session:
        """A new sequence's session (the requests of the one before counted).

        While a failure is shrunk, a sequence is refused before its first request (``reject``: Hypothesis counts
        it as not run) once the budget is spent or shrinking has stopped shortening it: the shrinker's later
        passes mostly polish values, at the cost of a whole sequence of requests each."""
        if self.failing is not None and self._shrunk_enough() and not _final_replay():
            reject()
        self.sequences += 1
        self.count_last()
        self.last = self.new_session()
        return self.last

    def count_last(self) -> None:
        """The last session's requests and notices, counted once."""
        if self.last is not None:
            self.requests += len(self.last.steps) + self.last.setup_requests
            for notice in self.last.notices:
                self.notices.setdefault(notice.rule, notice)
            self.last = None

    def failed(self, session: Session, deviation: Deviation) -> None:
        if self.failing is None:
            self.found_after = self.sequences - self.searching_since
        self.shrunk_at = self.sequences  # each failing attempt while shrinking is one the shrinker accepted
        if self.failing is None or len(session.steps) <= len(self.failing.steps):  # the shortest kept
            self.failing, self.failing_rule = session, deviation

    def start_round(self) -> None:
        if self.failing is not None:  # the last round found one: the search for the next begins
            self.searching_since = self.sequences
        self.failing = self.failing_rule = None

    def _shrunk_enough(self) -> bool:
        """The budget is spent, or the last ``patience`` attempts (at least as many as finding it took) found no
        smaller failing sequence."""
        stalled = self.sequences - self.shrunk_at > max(self.patience, self.found_after // 2)
        return stalled or time.monotonic() > self.deadline


def _final_replay() -> bool:
    """Whether Hypothesis is replaying the shrunk failure one last time (it must fail again, never be refused)."""
    try:
        return bool(getattr(current_build_context(), "is_final", False))
    except InvalidArgument:  # outside a test: not a replay
        return False


class Machines(Protocol):
    """What a profile hands the engine: a state machine class bound to a recorder, and a preflight."""

    def machine(self, recorder: Recorder) -> type[RuleBasedStateMachine]: ...

    def preflight(self, session: Session) -> None:
        """Raise ExploreInputError when the target cannot be explored (it forgets what it makes)."""

    def recorded(self, body: Any, path: str) -> Any:
        """What a failing sequence's cassette records of an answer to ``path`` (what the model relied on)."""

    def route(self, method: str, path: str) -> str:
        """The route a request belongs to, as the model keys a ``status`` it tells (``--reference``: a status
        difference is known route by route alike)."""


@dataclass(frozen=True)
class ExploreOptions:
    target: str
    api_key: str
    machines: Machines
    seed: int = 0
    max_examples: int = 100_000
    budget: float = 60.0
    database: Path | None = None  # Hypothesis' example database (a folder); None: none
    database_key: bytes = b"conformance-explore"
    timeout: float = 10.0
    steps: int = 12  # the longest sequence generated (Hypothesis' stateful_step_count)
    version_header: str = ""
    version: str = ""
    max_failures: int = 0  # stop once this many distinct rules are found broken; 0: explore the whole budget
    reference: str = ""  # a reference's URL: each request sent to it too, the target compared with its answers
    rules: CompareRules = field(default_factory=CompareRules)  # the comparison with the reference (run's)
    idempotency_header: str = ""  # the header a retry's idempotency key travels in
    tokens: TokenPlan | None = None  # --tokens create: where and from what the target makes tokens
    contract: Contract | None = None  # --openapi: every answer also judged by the published contract
    verify: bool | str = True  # --cacert FILE / --insecure: how the target's (and reference's) certificate is checked
    max_body: int = DEFAULT_MAX_BODY  # --max-body: the most an answer's body may hold, as sent and as decoded


@dataclass
class ExploreResult:
    target: str
    seed: int
    sequences: int = 0
    requests: int = 0
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)  # warning rules broken: listed, never a failure

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def _settings(options: ExploreOptions, examples: int) -> settings:
    database = DirectoryBasedExampleDatabase(str(options.database)) if options.database is not None else None
    return settings(max_examples=examples, deadline=None, database=database, stateful_step_count=options.steps,
                    suppress_health_check=list(HealthCheck), report_multiple_bugs=False, print_blob=False,
                    phases=(Phase.reuse, Phase.generate, Phase.shrink))


def _round(options: ExploreOptions, recorder: Recorder, examples: int, seed: int) -> Failure | None:
    """One round of sequences; the failure it shrank, if any."""
    machine = options.machines.machine(recorder)
    test: Any = get_state_machine_test(machine, settings=_settings(options, examples))
    test._hypothesis_internal_use_seed = seed
    test._hypothesis_internal_database_key = options.database_key
    recorder.start_round()
    try:
        test()
    except (AssertionError, Flaky):  # a failing sequence, shrunk: the shortest one that failed is kept
        deviation = recorder.failing_rule
        if deviation is None or recorder.failing is None:
            raise
        return Failure(deviation.rule, deviation.message, list(recorder.failing.steps), seed, deviation.key)
    return None


def _preflight(options: ExploreOptions, session: Session) -> None:
    """The target remembers what it makes; with ``--tokens create`` it makes a token from a test card. A target
    that gives the first request no answer (a certificate not trusted, an answer over the body cap, a connection
    refused) cannot be explored: said in one line, never a traceback."""
    try:
        options.machines.preflight(session)
    except Deviation as deviation:
        if deviation.rule != "target.connection":
            raise
        raise ExploreInputError(f"cannot explore {without_credentials(str(session.client.base_url))}: "
                                f"{deviation.message}") from None
    plan = options.tokens
    if plan is not None:
        headers, _ = session.framed(None)
        made = make_token(session.client, plan.path, plan.cards.default, headers)
        if made.id is None:
            raise ExploreInputError(f"the target made no token from the test card ending {plan.cards.default.last4} "
                                    f"(POST {plan.path} answered {made.said()}): explore it with --tokens magic")


@contextlib.contextmanager
def _hypothesis_home(database: Path | None) -> Iterator[None]:
    """Hypothesis writes its own files (a constants cache) under its home, by default ``.hypothesis`` in the
    working directory: a user's repository. Explore points it at the cache folder (a temporary one without), and
    gives the previous home back."""
    import tempfile

    from hypothesis import configuration

    previous = getattr(configuration, "__hypothesis_home_directory", None)
    with contextlib.ExitStack() as stack:
        home = database.parent / "hypothesis" if database is not None else Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="conformance-explore-")))
        configuration.set_hypothesis_home_dir(str(home))
        try:
            yield
        finally:
            configuration.set_hypothesis_home_dir(previous)


def explore(options: ExploreOptions) -> ExploreResult:
    """Generate sequences until the budget or max_examples is spent; each rule found broken once, shrunk."""
    result = ExploreResult(options.target, options.seed)
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        stack.enter_context(_hypothesis_home(options.database))
        client = stack.enter_context(TargetClient(options.reference or options.target, timeout=options.timeout,
                                                  verify=options.verify, max_body=options.max_body))
        candidate = stack.enter_context(TargetClient(options.target, timeout=options.timeout, verify=options.verify,
                                                     max_body=options.max_body)) if options.reference else None

        wire = Wire(options.api_key, options.version_header, options.version, options.idempotency_header,
                    options.tokens, options.contract)

        def new_session() -> Session:
            if candidate is None:
                return Session(client, wire, recorder.known, recorder.failed)
            return PairedSession(client, wire, recorder.known, recorder.failed, candidate=candidate,
                                 rules=options.rules, bindings=IdBindings(options.rules.ids),
                                 back=IdBindings(options.rules.ids), route_of=options.machines.route)

        recorder = Recorder(new_session, deadline=started + options.budget)
        for each in (client, candidate):  # each target remembers what it makes (nothing judged yet)
            if each is not None:
                _preflight(options, Session(each, replace(wire, contract=None)))
        number = 0
        generating = options.budget * (1 - SHRINK_SHARE)  # a later round starts only within it, the first within all
        while recorder.sequences < options.max_examples \
                and time.monotonic() - started < (generating if number else options.budget) \
                and not 0 < options.max_failures <= len(result.failures):
            examples = min(ROUND, options.max_examples - recorder.sequences)
            failure = _round(options, recorder, examples, options.seed * 1_000_003 + number)
            number += 1
            if failure is not None:
                recorder.known.add(failure.key or failure.rule)
                result.failures.append(failure)
        recorder.count_last()
        result.sequences, result.requests = recorder.sequences, recorder.requests
        result.notices = list(recorder.notices.values())
    result.seconds = time.monotonic() - started
    return result
