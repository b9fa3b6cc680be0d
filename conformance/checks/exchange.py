"""The check registry: what every check of a replayed exchange sees, and the checks in their order.

A check is a plain function ``(exchange, state) -> list[Finding]``, registered
with :func:`check`, like Schemathesis' checks; a check that judges documented
rules returns a :class:`~conformance.api_profile.Judgement` instead (its findings,
the rules it judged, those it could not judge and why). :func:`judge` runs them
all and returns one Judgement: the replay reads what was judged from it, never
from a state. The replay builds the :class:`Exchange`; it never decides what is a
finding. State that spans the interactions of one cassette (cards deleted so far,
fields requests set) lives in :class:`CheckState`; the documented rules' own in
``CheckState.invariants``, which only their rule set reads and writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from conformance.api_profile import OTHER, ApiProfile, Judgement, RouteMatch, RuleState
from conformance.cassette.model import Interaction
from conformance.checks.compare import CompareRules, promises_order
from conformance.checks.parameters import parameter_paths, parameter_values
from conformance.contract import Contract
from conformance.findings import Finding
from conformance.paths import locate
from conformance.rules import CONTRACT_RULES, Severity, traits

__all__ = ["Exchange", "Routes", "CheckState", "Check", "CHECKS", "check", "judge", "run_checks", "route_key",
           "sent_parameters"]


@dataclass(frozen=True)
class Routes:
    """The route of one interaction, matched once by the replay and carried: as recorded, and as sent (the same
    route with the target's ids in its parameters)."""

    recorded: RouteMatch | None
    sent: RouteMatch | None


@dataclass
class Exchange:
    """One replayed request and the target's answer."""

    interaction: Interaction  # as recorded
    path: str  # as sent: recorded ids replaced by the target's
    query: dict[str, Any] | str  # as sent
    status: int  # the target's
    body: Any  # the target's JSON, None when the answer is not JSON
    body_problem: str | None  # why the answer is not JSON (empty, HTML, …)
    body_text: str  # the start of the answer's body on one line, for messages
    expected: Any  # the recorded JSON with bound ids, None when the recording has no JSON body
    routes: Routes | None = None  # as the replay matched them; None: CheckState.routes_of matches them

    @property
    def recorded_status(self) -> int:
        return self.interaction.response.status


@dataclass
class CheckState:
    """What the checks of one cassette's replay remember from one interaction to the next; ``profile`` says
    which routes update which objects and what the documentation promises."""

    profile: ApiProfile
    rules: CompareRules = field(default_factory=CompareRules)
    contract: Contract | None = None  # the OpenAPI description of --openapi
    invariants: RuleState = field(init=False)  # the profile's documented rules, as the target meets them
    # object id (as sent) -> fields a request of the cassette set on it: compared exactly from then on
    set_fields: dict[str, frozenset[str]] = field(default_factory=dict)
    # object id (as sent) -> every parameter an update request of the cassette set on it, as answer paths
    # (name, metadata.order_id…)
    requested: dict[str, frozenset[str]] = field(default_factory=dict)
    # the documented rules as the recording itself meets them: what the suite covers, whatever the target does
    recorded: RuleState = field(init=False)
    # method and endpoint -> (parameter path, value) of the requests the recording answered with success so far:
    # what a request meant to fail does differently
    valid_parameters: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    # the documented rules the recorded answer of the interaction being replayed breaks (set by ``covered``)
    recording_broke: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # the profile's ids and conventions, under whatever the run and the cassette say; what sources disagree on
        # is compared as the cassette's header says (the suite's and explore's say it), else exactly
        self.rules = replace(self.rules, ids=self.profile.ids, defaults=self.profile.comparison.undisputed())
        self.invariants = self.profile.rules.new_state()
        self.recorded = self.profile.rules.new_state()
        self.recorded.minted = self.invariants.minted  # one naming of the cassette's objects for both

    def routes_of(self, exchange: Exchange) -> Routes:
        """The exchange's routes: as the replay carried them, else matched here (an exchange built elsewhere)."""
        if exchange.routes is not None:
            return exchange.routes
        method = exchange.interaction.request.method
        match = self.profile.routes.match
        return Routes(match(method, exchange.interaction.request.path), match(method, exchange.path))

    def covered(self, interaction: Interaction, routes: Routes | None = None) -> list[str]:
        """The documented rules the recorded exchange judges: a rule the target's exchange then leaves unjudged
        is *not judged* there (a missing route, an unminted id), never *not covered*. ``routes``: the
        interaction's, when the caller matched them."""
        request, response = interaction.request, interaction.response
        body = response.json()
        rules: set[str] = set()
        self.recording_broke = frozenset()
        if body is not None:
            query = request.query if isinstance(request.query, dict) else {}
            route = routes.recorded if routes is not None else self.profile.routes.match(request.method, request.path)
            self.recorded.parameters = sent_parameters(interaction)
            recorded = self.profile.rules.judge(route, request.method, request.path, query, response.status, body,
                                                self.recorded)
            rules.update(recorded.judged)
            self.recording_broke = frozenset(finding.rule for finding in recorded.findings)
            if response.status < 300 and promises_order(body, self.minted):
                rules.add("list.order")
        if self.contract is not None and self.contract.operation(request.method, request.path) is not None:
            rules.update(CONTRACT_RULES)
        return sorted(rules)

    def documented(self, exchange: Exchange) -> Judgement:
        """The profile's documented rules on the target's answer: what they found, judged and could not judge,
        returned (their state, ``invariants``, keeps only what spans exchanges)."""
        query = exchange.query if isinstance(exchange.query, dict) else {}
        self.invariants.parameters = sent_parameters(exchange.interaction)
        judgement = self.profile.rules.judge(self.routes_of(exchange).sent, exchange.interaction.request.method,
                                             exchange.path, query, exchange.status, exchange.body, self.invariants)
        return self._recording_decides(judgement)

    def _recording_decides(self, judgement: Judgement) -> Judgement:
        """A rule about how the API answers an input that the recorded answer to the same request breaks too is not
        judged on the target: the recording (Stripe's answer, or the reference's) knows better than the rule."""
        decided = {finding.rule for finding in judgement.findings
                   if finding.rule in self.recording_broke and traits(finding.rule).recording_decides}
        if not decided:
            return judgement
        return Judgement([finding for finding in judgement.findings if finding.rule not in decided],
                         judgement.judged - decided,
                         judgement.not_judged + tuple((rule, "the recording answered this request otherwise, and "
                                                             "the recording decides") for rule in sorted(decided)))

    @property
    def minted(self) -> dict[str, tuple[str, int]]:
        """id (recorded or bound) -> (kind, n): the cassette's n-th object of its kind, for messages."""
        return self.invariants.minted

    def request_sent(self, interaction: Interaction, path: str, routes: Routes | None = None) -> None:
        """Note what an update request (its route's action: ``update``) sets, before its answer is checked; and
        what a request the recording answered with success sent. ``routes``: the interaction's, when the caller
        matched them."""
        if interaction.response.status < 300:
            self.valid_parameters.setdefault(route_key(interaction), set()).update(
                (name, str(value)) for name, value in sent_parameters(interaction).items())
        body = interaction.request.body
        if body is None or not isinstance(body.value, dict):
            return
        route = routes.sent if routes is not None else self.profile.routes.match(interaction.request.method, path)
        subject = route.subject if route is not None and route.route.action == "update" else None
        if subject is None:
            return
        sent = parameter_paths(body.value)
        if not sent <= self.requested.get(subject, frozenset()):
            self.requested = {**self.requested, subject: self.requested.get(subject, frozenset()) | sent}
        fields = self.set_fields.get(subject, frozenset()) | (self.profile.comparison.set_by_request & body.value.keys())
        if fields != self.set_fields.get(subject):
            self.set_fields = {**self.set_fields, subject: frozenset(fields)}


def route_key(interaction: Interaction) -> str:
    """What makes requests alike: method and endpoint (method and path beyond the profile's routes)."""
    request = interaction.request
    return f"{request.method} {interaction.endpoint if interaction.endpoint != OTHER else request.path}"


def sent_parameters(interaction: Interaction) -> dict[str, Any]:
    """path -> value of what the recorded request sent, its query and its form or JSON body."""
    request = interaction.request
    body = request.body.value if request.body is not None and request.body.kind in ("form", "json") else None
    return parameter_values(request.query, body)


Check = Callable[[Exchange, CheckState], "list[Finding] | Judgement"]
CHECKS: list[Check] = []


def check(function: Check) -> Check:
    """Register a check; checks run in registration order."""
    CHECKS.append(function)
    return function


def judge(exchange: Exchange, state: CheckState, checks: list[Check] | None = None) -> Judgement:
    """Every check's findings, with the rules they judged and could not judge (and why). A JSON path an earlier
    check reported as a failure is not reported again by a later one (a warning there does not hide a later
    failure). Each finding says which object it is about."""
    findings: list[Finding] = []
    judged: set[str] = set()
    not_judged: list[tuple[str, str]] = []
    for function in CHECKS if checks is None else checks:
        said = function(exchange, state)
        if isinstance(said, Judgement):
            judged.update(said.judged)
            not_judged.extend(said.not_judged)
            said = said.findings
        if not said:  # the common case: nothing to weigh against what earlier checks reported
            continue
        reported = {f.path for f in findings if f.path and f.severity == Severity.FAILURE}
        findings.extend(f for f in said
                        if (not f.path or f.path not in reported) and not state.rules.ignores(f.rule, f.path))
    for finding in findings:
        if finding.kind is None:
            finding.kind, finding.key_path = locate(finding.path, exchange.expected, exchange.body)
    return Judgement(findings, frozenset(judged), tuple(not_judged))


def run_checks(exchange: Exchange, state: CheckState, checks: list[Check] | None = None) -> list[Finding]:
    """Every check's findings (:func:`judge` without what was judged). For a replay that drains
    ``state.invariants`` rather than reading :func:`judge`'s return value, what was judged is also left there."""
    judgement = judge(exchange, state, checks)
    state.invariants.judged.update(judgement.judged)
    state.invariants.not_judged.extend(judgement.not_judged)
    return judgement.findings
