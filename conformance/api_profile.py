"""What an API is, as the engine needs to know it: an :class:`ApiProfile` every stage is handed.

The engine (record, serve, replay, checks, report) knows HTTP, cassettes and
JSON; what an API's routes are called, how its ids look, which test cards it
knows and what its documentation promises comes from a profile. Stripe's is
``conformance.stripe.STRIPE``; a wider one is a profile change, not an engine
change::

    PAYMENT_METHODS = STRIPE.extended(
        "stripe+payment_methods",
        routes=[Route("payment_methods.attach", "POST", "/v1/payment_methods/{payment_method}/attach")],
        id_prefixes=["pm"],
    )

The command line (``--api``) and the addons (``api_profile``) find a profile by
name (``stripe``) or as ``module:attribute``; only they resolve it, so the engine
never imports one. (A *target* profile, ``conformance matrix --profile``, is
another thing: a target's known limitations.)
"""

from __future__ import annotations

import importlib
import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol

from conformance.errors import ApiProfileError
from conformance.findings import Finding
from conformance.rules import MatrixRow, Rule, register

__all__ = [
    "OTHER", "Action", "ComparisonDefaults", "Headers", "Route", "RouteMatch", "RouteTable", "IdScheme", "TestCard",
    "TestCards", "TokenMode", "TOKEN_MODES", "RuleState", "DocumentedRules", "DocumentedCheck", "Judgement", "RuleSet",
    "RetryExchange", "RetryState", "RetryRules",
    "ApiProfile", "BUILTIN_API_PROFILES",
    "load_api_profile", "route_text",
]

OTHER = "other"

# What a route does to the object its last path parameter names: the engine follows an update's parameters and
# a delete's removal (a later answer that still shows them is their consequence); a list is paged.
Action = Literal["create", "retrieve", "update", "delete", "list"]

# "magic": the test tokens (tok_visa) sent as recorded; "create": a token made at the target from the card each
# stands for first, for targets that do not know them (localstripe).
TokenMode = Literal["magic", "create"]
TOKEN_MODES: tuple[TokenMode, ...] = ("magic", "create")


def route_text(method: str, template: str) -> str:
    """``POST /v1/customers/:customer/sources/:card``: a route as the API reference writes it (a template's
    ``{name}`` as ``:name``), in every finding, weak spot and matrix row that names one."""
    return method + " " + re.sub(r"\{(\w+)\}", r":\1", template)


@dataclass(frozen=True)
class Route:
    name: str  # what reports call it: cards.update
    method: str
    template: str  # e.g. /v1/customers/{customer}/sources/{card}
    action: Action | None = None

    @property
    def pattern(self) -> re.Pattern[str]:
        regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(self.template))
        return re.compile(regex + "/?")

    @property
    def subject(self) -> str | None:
        """The path parameter naming the object the route acts on (its last one)."""
        names = re.findall(r"\{(\w+)\}", self.template)
        return names[-1] if names else None


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    params: dict[str, str]  # template name -> value from the path, e.g. {"customer": "cus_…", "card": "card_…"}

    @property
    def name(self) -> str:
        return self.route.name

    @property
    def subject(self) -> str | None:
        """The id of the object the route acts on, as the path names it."""
        name = self.route.subject
        return self.params.get(name) if name is not None else None


class RouteTable:
    """Which documented route a request belongs to; anything else is the route ``other``."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes: tuple[Route, ...] = tuple(routes)
        self._by_method: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
        for route in self.routes:
            self._by_method.setdefault(route.method.upper(), []).append((route.pattern, route))

    def match(self, method: str, path: str) -> RouteMatch | None:
        """The route of a request, with the ids its path names; None when it is not in the table."""
        for pattern, route in self._by_method.get(method.upper(), ()):
            found = pattern.fullmatch(path)
            if found:
                return RouteMatch(route, found.groupdict())
        return None

    def endpoint_for(self, method: str, path: str) -> str:
        """The endpoint name of a request, ``other`` when it is not in the table."""
        found = self.match(method, path)
        return found.name if found else OTHER

    def extended(self, routes: Iterable[Route]) -> RouteTable:
        """This table and ``routes``; a route of the same method and template is replaced."""
        added = tuple(routes)
        replaced = {(r.method.upper(), r.template) for r in added}
        return RouteTable([*(r for r in self.routes if (r.method.upper(), r.template) not in replaced), *added])

    def __iter__(self) -> Iterator[Route]:
        return iter(self.routes)


class IdScheme:
    """How an API's ids look: ``<prefix>_<at least min_length letters or digits>``, the prefix naming the kind."""

    def __init__(self, prefixes: Iterable[str], min_length: int = 8) -> None:
        self.prefixes: tuple[str, ...] = tuple(dict.fromkeys(prefixes))
        self.min_length = min_length
        # the longest prefix first, so ``btok`` is never read as ``b``…
        alternatives = "|".join(sorted(map(re.escape, self.prefixes), key=len, reverse=True)) or r"(?!)"
        self.pattern = re.compile(rf"(?<![0-9A-Za-z_])(?:{alternatives})_[0-9A-Za-z]{{{min_length},}}(?![0-9A-Za-z])")
        self._known = frozenset(self.prefixes)

    def prefix_of(self, value: Any) -> str | None:
        """The prefix (``card``) of a string that is a whole id of a known kind, else None."""
        if isinstance(value, str) and self.pattern.fullmatch(value):
            return value.split("_", 1)[0]
        return None

    def knows(self, prefix: str | None) -> bool:
        return prefix in self._known

    def find(self, text: str) -> list[str]:
        """Every id of a known kind in ``text``."""
        return self.pattern.findall(text)

    def extended(self, prefixes: Iterable[str]) -> IdScheme:
        return IdScheme([*self.prefixes, *prefixes], self.min_length)


@dataclass(frozen=True)
class TestCard:
    __test__ = False  # not a pytest class

    token: str  # the magic test token that stands for it: tok_visa
    number: str
    cvc: str
    brand: str
    funding: str

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def alias(self) -> str:
        """What a redaction marker calls it: ``visa-debit-5556``."""
        brand = {"American Express": "amex"}.get(self.brand, self.brand.lower())
        return f"{brand}{'-debit' if self.funding == 'debit' else ''}-{self.last4}"


class TestCards:
    """An API's documented test cards; the first is the one sent when a recording does not say which."""

    __test__ = False

    def __init__(self, cards: Iterable[TestCard]) -> None:
        self.cards: tuple[TestCard, ...] = tuple(cards)
        self.by_token: dict[str, TestCard] = {card.token: card for card in self.cards}
        self._by_number = {card.number: card for card in self.cards}
        self._by_alias = {card.alias: card for card in self.cards}
        self._by_last4 = {card.last4: card for card in self.cards}

    @property
    def default(self) -> TestCard:
        return self.cards[0]

    @property
    def tokens(self) -> tuple[str, ...]:
        return tuple(self.by_token)

    def alias_of(self, number: str) -> str | None:
        """The alias of a documented test card number (digits only), None for any other number."""
        card = self._by_number.get(number)
        return card.alias if card is not None else None

    def by_alias(self, alias: str) -> TestCard | None:
        return self._by_alias.get(alias)

    def by_number(self, number: str) -> TestCard | None:
        return self._by_number.get(number)

    def for_last4(self, last4: object) -> TestCard:
        """The test card ending in ``last4``, the default one when unknown."""
        return self._by_last4.get(last4, self.default) if isinstance(last4, str) else self.default


@dataclass(frozen=True)
class Headers:
    """The headers that change what the API does or says: recorded, and sent again by a replay. Everything else
    (Date, Content-Length, User-Agent…) varies between runs and is left out. The answers' headers that carry the
    API's retry contract (a request id, a replay's mark) are recorded too, never compared: the documented rules
    judge them, and a replay reads from them which recorded request was a retry of which."""

    request: tuple[str, ...] = ("Authorization", "Content-Type")  # recorded from requests
    response: tuple[str, ...] = ("Content-Type",)  # recorded from answers: the contract's headers among them
    forwarded: tuple[str, ...] = ("Content-Type",)  # a replay sends them as recorded
    version: str = ""  # the API version a request asks for: a replay sends the recorded one, or the cassette's
    idempotency: str = ""  # a key SDKs draw at random: recorded as a placeholder, sent fresh by each replay
    request_id: str = ""  # the answer's own id, distinct per request (Request-Id)
    replayed: str = ""  # "true" on an answer replayed for a repeated idempotency key (Idempotent-Replayed)
    original_request: str = ""  # a replayed answer's: the request id of the request that executed (Original-Request)


@dataclass(frozen=True)
class ComparisonDefaults:
    """How an answer is compared with its recording where no rule of the run or the cassette says otherwise: the
    API's own conventions."""

    minted: frozenset[str] = frozenset()  # values the server mints (created, fingerprint): by type and shape only
    set_by_request: frozenset[str] = frozenset()  # exactly only where a request of the cassette set them
    verification_suffix: str = ""  # keys ending so are a network's verification results: text or null conforms
    user_data: frozenset[str] = frozenset()  # maps of the user's data: every difference in them is a value's
    # What public sources disagree on, compared so that either source's answer conforms where the expected answers
    # are no authority on them: ``explore --reference`` (the reference may be an emulator) and the headers of the
    # cassettes the suite and explore write (``compare:``). ``run`` compares any other recording exactly there (a
    # recording from the API itself is the authority; see :meth:`undisputed`); a rule of the run overrides them.
    nullable: frozenset[str] = frozenset()  # keys (or paths) sources disagree are null: null on either side conforms
    ignored: frozenset[str] = frozenset()  # keys (or paths) one source shows and another leaves out: not compared
    # (path, recorded value): a value one source chose where the documents name none, compared by presence only
    # (any non-empty text conforms; a missing one is still missing)
    loose: frozenset[tuple[str, str]] = frozenset()

    def undisputed(self) -> ComparisonDefaults:
        """The conventions alone, without what sources disagree on: how ``run`` compares a recording whose header
        says nothing of them (recorded from the API itself, a ``currency`` null where it answered ``"usd"`` is a
        deviation)."""
        return replace(self, nullable=frozenset(), ignored=frozenset(), loose=frozenset())


@dataclass
class RuleState:
    """What a profile's documented rules remember across one cassette's exchanges; the engine reads and fills
    the fields here, a profile's rules keep more in a subclass."""

    # id (recorded or bound) -> (kind, n): the cassette's n-th object of its kind, for messages (the replay fills it)
    minted: dict[str, tuple[str, int]] = field(default_factory=dict)
    # objects the recording created that the target never did (the replay fills it): rules that count them
    # cannot be judged as recorded
    unattached: set[str] = field(default_factory=set)
    # documented rules an exchange could not judge, and why: drained by the replay after each exchange
    not_judged: list[tuple[str, str]] = field(default_factory=list)
    # documented rules an exchange did judge (their precondition held), found broken or not: drained alike; a
    # rule never judged is "not covered", never "holds"
    judged: set[str] = field(default_factory=set)
    # the request's parameters (its query and form, as ``checks.parameters.parameter_values`` spells them:
    # ``card.exp_month``), set by the replay before each exchange is judged: a rule about what a request may send
    parameters: dict[str, Any] = field(default_factory=dict)


class DocumentedRules(Protocol):
    """What an API's documentation promises, judged on every answer whatever the recording says."""

    def new_state(self) -> RuleState: ...

    def check(self, route: RouteMatch | None, method: str, path: str, query: dict[str, Any], status: int,
              body: Any, state: RuleState) -> list[Finding]: ...


# One documented check: the answer to one request (``path`` and ``query`` as sent, ``route`` as the profile
# matched it) judged with the rule set's state; it marks in ``state.judged`` the rules whose precondition held
# and in ``state.not_judged`` those it could not judge, and :meth:`RuleSet.judge` hands both back.
DocumentedCheck = Callable[[RouteMatch | None, str, str, dict[str, Any], int, Any, RuleState], list[Finding]]


@dataclass(frozen=True)
class Judgement:
    """What documented rules made of one answer: returned to the caller, never left behind for it to drain."""

    findings: list[Finding] = field(default_factory=list)
    judged: frozenset[str] = frozenset()  # rules whose precondition held, found broken or not
    not_judged: tuple[tuple[str, str], ...] = ()  # (rule, why) for the rules the answer could not judge


@dataclass(frozen=True)
class RuleSet:
    """An API's documented rules as its profile brings them: what each means (its :class:`Rule` with its traits)
    and the checks that judge them, with the state they keep across one cassette's exchanges.

    Its rules are registered when it is made, that is when the profile's module is imported: reports read rule
    ids back. ``presets``: patterns (RULE:PATH) the profile adds to known-limitation presets, for rules it does
    not own (``value:card``). A rule set is a :class:`DocumentedRules`."""

    rules: tuple[Rule, ...] = ()
    checks: tuple[DocumentedCheck, ...] = ()
    state: Callable[[], RuleState] = RuleState
    presets: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def __post_init__(self) -> None:
        register(*self.rules, preset_patterns=dict(self.presets))

    def new_state(self) -> RuleState:
        return self.state()

    def check(self, route: RouteMatch | None, method: str, path: str, query: dict[str, Any], status: int,
              body: Any, state: RuleState) -> list[Finding]:
        """Every check's findings on one answer; what they judged stays in ``state`` (:meth:`judge` returns it)."""
        return [finding for check in self.checks for finding in check(route, method, path, query, status, body, state)]

    def judge(self, route: RouteMatch | None, method: str, path: str, query: dict[str, Any], status: int,
              body: Any, state: RuleState) -> Judgement:
        """The findings on one answer with the rules it judged and could not judge, taken out of ``state``."""
        findings = self.check(route, method, path, query, status, body, state)
        judgement = Judgement(findings, frozenset(state.judged), tuple(state.not_judged))
        state.judged.clear()
        state.not_judged.clear()
        return judgement

    def extended(self, more: RuleSet) -> RuleSet:
        """This set and ``more``: a rule of the same id is ``more``'s, its checks run after these (a check both
        hold, once). Only one of the two may keep a state of its own (its checks and these then share it)."""
        if self.state is not RuleState and more.state is not RuleState and self.state is not more.state:
            raise ApiProfileError("two rule sets that each keep a state of their own cannot be composed: give the "
                                  "checks of one the state of the other")
        replaced = {r.id for r in more.rules}
        checks = (*self.checks, *(check for check in more.checks if check not in self.checks))  # each runs once
        return RuleSet((*(r for r in self.rules if r.id not in replaced), *more.rules), checks,
                       more.state if more.state is not RuleState else self.state, (*self.presets, *more.presets))

    def ids(self, row: MatrixRow) -> tuple[str, ...]:
        """The ids of its rules that are matrix rows of that kind, in order."""
        return tuple(r.id for r in self.rules if r.matrix is row)


@dataclass(frozen=True)
class RetryExchange:
    """One replayed request as the retry contract sees it: what was sent under which idempotency key, and the
    answer with its headers (their names case-insensitive)."""

    index: int  # the interaction's
    method: str
    path: str  # as sent
    key: str  # the idempotency key sent, "" when none
    content: bytes  # the parameters as sent
    status: int
    body: Any  # the answer's JSON, None when it is not JSON
    headers: Mapping[str, str]
    recorded_headers: Mapping[str, str]  # the recorded answer's: a rule the recording never shows is not judged


@dataclass
class RetryState:
    """What the retry rules remember across one cassette's exchanges; the replay reads ``duplicates``."""

    # an object the target made a second time for a repeated key (as the target named it) -> that interaction:
    # later answers that show it follow from that failure
    duplicates: dict[str, int] = field(default_factory=dict)
    # the rules the last check judged (their precondition held), whatever they found: read and cleared by the
    # replay; fed the recording, what the suite covers (a matrix row per rule)
    judged: set[str] = field(default_factory=set)


class RetryRules(Protocol):
    """What an API documents of repeated requests (idempotency keys, request ids), judged on every answer."""

    def new_state(self) -> RetryState: ...

    def check(self, exchange: RetryExchange, state: RetryState, headers: Headers) -> list[Finding]: ...

    def saved(self, status: int) -> bool:
        """Whether the API keeps an answer of this status for its idempotency key (what ``serve`` replays)."""
        ...


@dataclass(frozen=True)
class ApiProfile:
    """Everything the engine needs to know of one API."""

    name: str
    routes: RouteTable
    ids: IdScheme
    cards: TestCards
    rules: RuleSet  # its documented rules: what each means, their checks and state
    default_api_key: str  # sent when none is given
    token_path: str  # where ``--tokens create`` makes a token from a test card
    token_parameters: frozenset[str] = frozenset()  # request keys a magic test token travels in
    comparison: ComparisonDefaults = field(default_factory=ComparisonDefaults)
    headers: Headers = field(default_factory=Headers)
    focus: tuple[str, ...] = ()  # endpoint names under test start so (``cards.``); the other routes are setup
    # (object, key) pairs the API documents as left out of an answer unless the request expands them
    left_out_unless_expanded: frozenset[tuple[str, str]] = frozenset()
    # ``conformance explore``'s operations and model, as ``module:attribute`` (imported only when exploring:
    # they bring Hypothesis); "" when the API has none
    explore: str = ""
    retries: RetryRules | None = None  # the retry contract's rules (idempotency keys, request ids), if documented

    def explorer(self) -> Any:
        """The profile's operations for ``conformance explore``; ApiProfileError when it has none."""
        module_name, _, attribute = self.explore.partition(":")
        if not module_name or not attribute:
            raise ApiProfileError(f"API profile {self.name!r} has no operations to explore")
        return getattr(importlib.import_module(module_name), attribute)

    @property
    def matrix_rules(self) -> tuple[str, ...]:
        """Its rules that are rows of every matrix beyond the documented promises' and the contract's (its
        sequences', its retry contract's): a fixed set whatever a suite covers."""
        return self.rules.ids(MatrixRow.BEYOND)

    def extended(self, name: str, *, routes: Iterable[Route] = (), id_prefixes: Iterable[str] = (),
                 token_parameters: Iterable[str] = (), focus: Iterable[str] = (),
                 rules: RuleSet | None = None) -> ApiProfile:
        """This profile and one more resource family: its routes, its ids, the keys its tokens travel in, the
        endpoint names under test, its documented rules (composed with this profile's)."""
        return replace(self, name=name, routes=self.routes.extended(routes), ids=self.ids.extended(id_prefixes),
                       token_parameters=self.token_parameters | frozenset(token_parameters),
                       focus=tuple(dict.fromkeys([*self.focus, *focus])),
                       rules=self.rules.extended(rules) if rules is not None else self.rules)

    def label(self, method: str, path: str, recorded: str = "") -> str:
        """An interaction's endpoint: the label its cassette gives it, else its route's name (``other`` when the
        profile knows none)."""
        return recorded if recorded and recorded != OTHER else self.routes.endpoint_for(method, path)


BUILTIN_API_PROFILES: Mapping[str, str] = {"stripe": "conformance.stripe:STRIPE"}


def load_api_profile(spec: str) -> ApiProfile:
    """An API profile by name (``stripe``) or as ``module:attribute`` (``myprofiles:PAYMENTS``);
    ApiProfileError says what is wrong."""
    where = BUILTIN_API_PROFILES.get(spec, spec)
    module_name, _, attribute = where.partition(":")
    if not module_name or not attribute:
        raise ApiProfileError(f"unknown API profile {spec!r}: give {' or '.join(BUILTIN_API_PROFILES)}, or "
                              "module:attribute naming an ApiProfile importable from the current directory")
    if os.getcwd() not in sys.path:  # a user's profile module beside their cassettes (mitmdump's path lacks it)
        sys.path.append(os.getcwd())
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ApiProfileError(f"API profile {spec!r}: cannot import {module_name} ({error})") from None
    profile = getattr(module, attribute, None)
    if not isinstance(profile, ApiProfile):
        raise ApiProfileError(f"API profile {spec!r}: {module_name} has no ApiProfile named {attribute}")
    return profile
