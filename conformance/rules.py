"""The rule registry: every rule a finding can name, what it means, and how its findings behave.

A finding always names a registered rule (``Finding`` refuses any other), so
reports, baselines and the rule table of docs/running.md speak of one fixed set. Rule ids
are dotted, lower case, words joined by ``_``: ``invariant.deleted_card``.

A :class:`Rule` carries its story (severity, description, source) and its traits:
whether it dominates its interaction, is a target fault, is about values, counts a
list's items, how its findings group into one problem and how that problem reads.
The engine, the attribution of consequences and the reports read these traits;
none of them branches on a rule id. The registry here holds only the generic rules
(comparison, contract, run); an API profile brings its documented rules in a
``RuleSet`` (``conformance.api_profile``) and they are registered when the profile
is imported, for lookup by id (reports read ids back).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import partial

__all__ = ["Severity", "Outcome", "Family", "Group", "MatrixRow", "Rule", "RULES", "ENGINE_RULES", "CONTRACT_RULES",
           "rule", "traits", "canonical_rule_id", "register", "rules_of"]


class Severity(StrEnum):
    """How much a finding weighs: a failure fails the run (exit 1), a warning does not."""

    FAILURE = "failure"
    WARNING = "warning"


class Outcome(StrEnum):
    """What became of one interaction."""

    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    BLOCKED = "blocked"  # its failures are all consequences of an earlier interaction that minted no id it uses


class Family(StrEnum):
    """Where a rule's expectation comes from."""

    COMPARISON = "comparison"  # the recording
    DOCUMENTED = "documented"  # the API's documentation, whatever the recording says (an API profile's)
    CONTRACT = "contract"  # the OpenAPI description given with --openapi
    RUN = "run"  # the run itself: a target fault, a setup step


class Group(StrEnum):
    """What makes a rule's findings one problem (a root cause), and so how the cause reads."""

    SPOT = "spot"  # one problem per rule, object kind (else endpoint) and key path: the default
    ONE = "one"  # every finding of it is one problem (a target fault)
    KEYS = "keys"  # one problem per object kind (else endpoint), listing the keys of its shape
    TYPES = "types"  # one per object kind and pair of JSON types (the recording's, the answer's), listing keys
    STATED = "stated"  # one per object kind, expectation as stated and the answer's JSON type, listing keys
    VALUES = "values"  # one per key path and pair of values (minted ids set aside); ids compared by value: one
    STATUS = "status"  # one per endpoint and pair of statuses
    ROUTE = "route"  # one per route it names (the expectation, minted ids set aside)
    ENDPOINT = "endpoint"  # one per endpoint
    ANSWER = "answer"  # one per answer (what the target said)


class MatrixRow(StrEnum):
    """Whether a rule is a row of every compatibility matrix, and where."""

    NONE = ""  # no row: its findings show in their routes' cells
    DOCUMENTED = "documented"  # a promise judged on every answer: the first rows
    CONTRACT = "contract"  # the contract's: rows when a run used one
    BEYOND = "beyond"  # the profile's others that fail a run (sequences', the retry contract's): the last rows


@dataclass(frozen=True)
class Rule:
    """One rule: its story (severity, description, source) and the traits every stage reads instead of its id."""

    id: str
    severity: Severity
    description: str
    source: str  # where the expectation comes from
    family: Family = Family.DOCUMENTED  # an API profile's rules are documented ones unless they say otherwise
    # every finding of it is one problem wherever it shows (a contract a target keeps or ignores as a whole, such
    # as idempotency keys): one root cause listing the endpoints, not one per endpoint
    one_cause: bool = False
    # its finding explains every other of its interaction (they are symptoms): the rank, 1 first; 0: it does not
    dominates: int = 0
    target_fault: bool = False  # a fault of the exchange itself (refused, timed out, broken off)
    never_consequence: bool = False  # an id an earlier failure left unbound cannot explain it (the route, a fault)
    no_route: bool = False  # the target lacks the route: every request to it, a repeat too, fails alike
    status_code: bool = False  # it judges the answer's status code
    # it judges which object was answered (its values) rather than its shape; ``null_is_value``: only where one
    # side is null (a JSON type)
    about_values: bool = False
    null_is_value: bool = False
    value_at_path: bool = False  # it judges the one value at its path (the object's own, wherever else named)
    counts_items: bool = False  # it can judge a count beside a list (has_more, total_count): short by its items
    length: bool = False  # its finding's path is a list whose number of items differs
    lists_items: bool = False  # its expected value lists the items (ids) a list lacks
    orders_items: bool = False  # a list in another order: findings about the same list are its symptoms
    judges_binding: bool = False  # it judges an id against the one bound to it earlier
    shows_duplicates: bool = False  # an object made (or listed) twice shows in it: a list longer, a default moved
    # it says how the API answers an input (a parameter it refuses): where the recorded answer to the same request
    # breaks it, the recording decides (Stripe's answer, or the reference's, is the authority on what the rule's
    # list of parameters may lack) and it is not judged on the target there
    recording_decides: bool = False
    # the key path at which its finding says the answer is another kind of object than documented: the rest of
    # the interaction follows from it
    wrong_kind: str | None = None
    right_kind_reads: str = ""  # what the documented kind is called in such a cause ("" : a/an <expected>)
    group: Group = Group.SPOT
    # how a cause of many keys reads: a template with {thing} (card objects, answers), {count}, {s}, {paths},
    # {is}, {wanted}, {got}, {example}; ``reads_one``: a cause of one key too; ``reads_warning``: a warning's cause
    reads: str = ""
    reads_one: bool = False
    reads_warning: str = ""
    presets: frozenset[str] = frozenset()  # the known-limitation presets (report.profile) it belongs to
    formerly: tuple[str, ...] = ()  # ids earlier versions wrote into reports for it: old baselines keep matching
    matrix: MatrixRow = MatrixRow.NONE

    @property
    def key_list(self) -> bool:
        """Its findings name keys of an object's shape: one cause per object kind, listing the keys."""
        return self.group is Group.KEYS

    @property
    def type_rule(self) -> bool:
        """Its findings are about a value's JSON type: one cause per object kind and pair of types."""
        return self.group in (Group.TYPES, Group.STATED)

    def story(self) -> tuple[str, Severity, str, str]:
        """What the rule says, without its traits: a rule registered twice must say the same."""
        return self.id, self.severity, self.description, self.source


_COMPARISON = "the recording"
_CONTRACT = "the OpenAPI description given with --openapi"
_RUN = "the run"
# the order of a list is the recording's, and where the API promises one (most recent first) the promise's: the
# source as the matrix has always shown it
_ORDER_SOURCE = "Stripe API reference"
_STATELESS, _ONE_TYPE = frozenset({"stateless"}), frozenset({"one-type"})


# the generic rules by family: Rule with its source and family given
_comparison = partial(Rule, source=_COMPARISON, family=Family.COMPARISON)
_contract = partial(Rule, source=_CONTRACT, family=Family.CONTRACT)
_run = partial(Rule, severity=Severity.FAILURE, source=_RUN, family=Family.RUN)

_F, _W = Severity.FAILURE, Severity.WARNING
# The engine's own rules: comparison, contract and run. An API profile brings its documented ones.
ENGINE_RULES: tuple[Rule, ...] = (
    _comparison("route.missing", _F, "the target has no such route: 404/405 without a Stripe error, or "
                "\"Unrecognized request URL\"", dominates=5, never_consequence=True, no_route=True, group=Group.ROUTE),
    _comparison("status", _F, "the status code differs (bodies are then compared only when both are Stripe errors)",
                status_code=True, group=Group.STATUS),
    _comparison("body.json", _F, "the recording was JSON, the answer is not (HTML error page, text, empty, cut short)",
                dominates=6, group=Group.ENDPOINT),
    _comparison("object", _F, "`object` differs (nothing beneath it is compared)", wrong_kind="object",
                presets=_ONE_TYPE),
    _comparison("keys.missing", _F, "a key of the recording is missing — `address_line2: null` included",
                group=Group.KEYS, reads="{thing} lack {count} key{s} of the recorded shape: {paths}", reads_one=True),
    _comparison("keys.extra", _W, "a key not in the recording (a failure with `--strict`)", group=Group.KEYS,
                reads="{thing} carry {count} key{s} the recording lacks: {paths}", reads_one=True),
    _comparison("type", _F, "the JSON type differs: `\"8\"` for `8`, `\"\"` for `null`, `\"false\"` for `false`",
                group=Group.TYPES, null_is_value=True, value_at_path=True, counts_items=True, shows_duplicates=True,
                reads="{thing}: {paths} {is} {got} where the recording has {wanted}{example}", reads_one=True),
    _comparison("value", _F, "a value differs where it is compared exactly; any difference inside `metadata`",
                group=Group.VALUES, about_values=True, value_at_path=True, counts_items=True, shows_duplicates=True),
    _comparison("format", _F, "a server-minted value has another shape", about_values=True),
    _comparison("id.binding", _F, "an id is not the one bound earlier in the run", about_values=True,
                judges_binding=True, presets=_STATELESS),
    _comparison("id.prefix", _F, "an id is not of the expected kind (`acct_` for `card_`)", about_values=True,
                presets=_ONE_TYPE),
    _comparison("list.length", _F, "a list of values has another number of items", about_values=True, length=True,
                shows_duplicates=True, presets=_STATELESS),
    _comparison("list.items", _F, "a list of objects lacks items of the recording or holds others (items matched by "
                "id)", about_values=True, lists_items=True, shows_duplicates=True, presets=_STATELESS),
    Rule("list.order", _F, "a list's items come in another order: oldest first where the API promises the most recent "
         "first, or otherwise not the recording's", _ORDER_SOURCE, Family.COMPARISON, about_values=True,
         orders_items=True, presets=_STATELESS, matrix=MatrixRow.DOCUMENTED),
    _contract("schema.type", _F, "a value has another JSON type than the contract says (`\"2030\"` for an integer "
              "`exp_year`), or fits none of its alternatives", group=Group.STATED, matrix=MatrixRow.CONTRACT,
              reads="{thing}: {paths} {is} {got} where the contract says {wanted}", reads_one=True),
    _contract("schema.required", _F, "a key the contract requires is missing (a customer without `livemode`)",
              group=Group.KEYS, matrix=MatrixRow.CONTRACT, reads="{thing} lack {count} key{s} the contract requires: "
              "{paths}"),
    _contract("schema.enum", _F, "a value is not one the contract allows (`object`, `error.type`…)",
              matrix=MatrixRow.CONTRACT),
    _contract("schema.additional", _W, "a key the contract does not list (a failure with `--strict`)",
              group=Group.KEYS, matrix=MatrixRow.CONTRACT,
              reads="{thing} carry {count} key{s} the contract does not list: {paths}"),
    _contract("schema.expand", _F, "an expandable field is the object though the request did not ask for `expand[]`, "
              "or an id though it did", group=Group.KEYS, matrix=MatrixRow.CONTRACT,
              reads="{thing} hold {paths} as objects or lists although the request did not ask for expand[] (the "
              "contract returns ids, and leaves lists out, unless expanded)",
              reads_warning="{thing} hold {paths} as lists although the request did not ask for expand[] (the "
              "contract lists them among expandable fields and does not say whether they are written out by "
              "default)"),
    _contract("schema.constraint", _F, "a value breaks another constraint of the contract (length, range, pattern)",
              matrix=MatrixRow.CONTRACT),
    _contract("schema.status", _F, "the contract documents no such status for the operation",
              matrix=MatrixRow.CONTRACT),
    _contract("schema.operation", _W, "the contract has no operation for the request's method and path"),
    _run("setup.token", description="with `--tokens create`, the target did not make a token from a test card (the magic token "
         "is sent)", dominates=1, group=Group.ANSWER),
    _run("target.connection", description="the target refused the connection (or TLS failed)", dominates=2, target_fault=True,
         never_consequence=True, group=Group.ONE),
    _run("target.timeout", description="the target did not answer within `--timeout`", dominates=3, target_fault=True,
         never_consequence=True, group=Group.ONE),
    _run("target.protocol", description="the target broke the exchange off", dominates=4, target_fault=True,
         never_consequence=True, group=Group.ONE),
)
RULES: dict[str, Rule] = {generic.id: generic for generic in ENGINE_RULES}

# The contract's rules a run with --openapi judges (its operation lookup is no promise of the target's): the
# matrix's rows when a run used a contract.
CONTRACT_RULES: tuple[str, ...] = tuple(r.id for r in ENGINE_RULES if r.matrix is MatrixRow.CONTRACT)

# preset name -> patterns (RULE:PATH) an API profile adds to it beyond its rules' own ``presets``
_PRESET_PATTERNS: dict[str, list[str]] = {}


def register(*rules: Rule, preset_patterns: dict[str, tuple[str, ...]] | None = None) -> None:
    """Rules an API profile brings (registered when the profile is imported), by id. A rule registered again with
    the same story and other traits refines the registered one (a profile adding traits to a rule its
    sequences' module made); an id that says something else already is a bug."""
    for new in rules:
        known = RULES.get(new.id)
        if known is not None and known.story() != new.story():
            raise ValueError(f"rule {new.id} is registered already with another meaning")
        RULES[new.id] = new
    for preset, patterns in (preset_patterns or {}).items():
        listed = _PRESET_PATTERNS.setdefault(preset, [])
        listed.extend(p for p in patterns if p not in listed)


def rule(rule_id: str) -> Rule:
    """The registered rule; a KeyError names a rule nobody registered (a bug, not user input)."""
    return RULES[rule_id]


def traits(rule_id: str) -> Rule:
    """What a rule means to the stages that read a finding: the registered rule, else the default traits (a
    report's finding of a rule this process has not registered: an API profile's own, a newer version's)."""
    known = RULES.get(rule_id)
    return known if known is not None else Rule(rule_id, Severity.FAILURE, "a rule this process has not registered",
                                                "unknown")


def rules_of(preset: str) -> tuple[str, ...]:
    """What a known-limitation preset stands for: the rules that belong to it, then the patterns profiles added."""
    return (*(r.id for r in RULES.values() if preset in r.presets), *_PRESET_PATTERNS.get(preset, ()))


def canonical_rule_id(rule_id: str) -> str:
    """The current id of a rule as an older report spelt it (a rule's ``formerly``)."""
    if rule_id in RULES:
        return rule_id
    return next((r.id for r in RULES.values() if rule_id in r.formerly), rule_id)
