"""The rule registry: every rule a finding can name, its default severity and what it means.

A finding always names a registered rule (``Finding`` refuses any other), so
reports, baselines and the rule table of docs/running.md speak of one fixed set. Rule ids
are dotted, lower case, words joined by ``_``: ``invariant.deleted_card``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["Severity", "Outcome", "Rule", "RULES", "DOCUMENTED_RULES", "CONTRACT_RULES", "rule", "canonical_rule_id",
           "register"]


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


@dataclass(frozen=True)
class Rule:
    id: str
    severity: Severity
    description: str
    source: str  # where the expectation comes from
    # every finding of it is one problem wherever it shows (a contract a target keeps or ignores as a whole, such
    # as idempotency keys): one root cause listing the endpoints, not one per endpoint
    one_cause: bool = False


_COMPARISON = "the recording"
_REFERENCE = "Stripe API reference"
_CONTRACT = "the OpenAPI description given with --openapi"

RULES: dict[str, Rule] = {
    rule.id: rule
    for rule in (
        Rule("route.missing", Severity.FAILURE,
             "the target has no such route: 404/405 without a Stripe error, or \"Unrecognized request URL\"",
             _COMPARISON),
        Rule("status", Severity.FAILURE,
             "the status code differs (bodies are then compared only when both are Stripe errors)", _COMPARISON),
        Rule("body.json", Severity.FAILURE,
             "the recording was JSON, the answer is not (HTML error page, text, empty, cut short)", _COMPARISON),
        Rule("object", Severity.FAILURE, "`object` differs (nothing beneath it is compared)", _COMPARISON),
        Rule("keys.missing", Severity.FAILURE, "a key of the recording is missing — `address_line2: null` included",
             _COMPARISON),
        Rule("keys.extra", Severity.WARNING, "a key not in the recording (a failure with `--strict`)", _COMPARISON),
        Rule("type", Severity.FAILURE, "the JSON type differs: `\"8\"` for `8`, `\"\"` for `null`, `\"false\"` for `false`",
             _COMPARISON),
        Rule("value", Severity.FAILURE, "a value differs where it is compared exactly; any difference inside `metadata`",
             _COMPARISON),
        Rule("format", Severity.FAILURE, "a server-minted value has another shape", _COMPARISON),
        Rule("id.binding", Severity.FAILURE, "an id is not the one bound earlier in the run", _COMPARISON),
        Rule("id.prefix", Severity.FAILURE, "an id is not of the expected kind (`acct_` for `card_`)", _COMPARISON),
        Rule("list.length", Severity.FAILURE, "a list of values has another number of items", _COMPARISON),
        Rule("list.items", Severity.FAILURE,
             "a list of objects lacks items of the recording or holds others (items matched by id)", _COMPARISON),
        Rule("list.order", Severity.FAILURE,
             "a list's items come in another order: oldest first where the API promises the most recent first, "
             "or otherwise not the recording's", _REFERENCE),
        Rule("invariant.card", Severity.FAILURE,
             "a card object lacks a documented key, or a key has another type or an impossible value", _REFERENCE),
        Rule("invariant.deleted", Severity.FAILURE,
             "deleting a card does not answer `{id: <that card>, object: card, deleted: true}`", _REFERENCE),
        Rule("invariant.deleted_card", Severity.FAILURE,
             "a deleted card is still retrievable (expected 404 `resource_missing`)", _REFERENCE),
        Rule("invariant.default_source", Severity.FAILURE,
             "a customer's `default_source` is a card deleted earlier; after the default card is deleted it is not "
             "the most recently added card left (or not null once none is left)", _REFERENCE),
        Rule("invariant.list", Severity.FAILURE,
             "a list breaks `object: list`, `has_more`, `url`, `limit` or paging with `starting_after`", _REFERENCE),
        Rule("invariant.error", Severity.FAILURE,
             "an error answer lacks an `error` object with a string `type` and `message`", _REFERENCE),
        Rule("schema.type", Severity.FAILURE,
             "a value has another JSON type than the contract says (`\"2030\"` for an integer `exp_year`), "
             "or fits none of its alternatives", _CONTRACT),
        Rule("schema.required", Severity.FAILURE, "a key the contract requires is missing (a customer without `livemode`)",
             _CONTRACT),
        Rule("schema.enum", Severity.FAILURE, "a value is not one the contract allows (`object`, `error.type`…)", _CONTRACT),
        Rule("schema.additional", Severity.WARNING, "a key the contract does not list (a failure with `--strict`)",
             _CONTRACT),
        Rule("schema.expand", Severity.FAILURE,
             "an expandable field is the object though the request did not ask for `expand[]`, or an id though it did",
             _CONTRACT),
        Rule("schema.constraint", Severity.FAILURE, "a value breaks another constraint of the contract (length, range, "
             "pattern)", _CONTRACT),
        Rule("schema.status", Severity.FAILURE, "the contract documents no such status for the operation", _CONTRACT),
        Rule("schema.operation", Severity.WARNING, "the contract has no operation for the request's method and path",
             _CONTRACT),
        Rule("setup.token", Severity.FAILURE,
             "with `--tokens create`, the target did not make a token from a test card (the magic token is sent)",
             "the run"),
        Rule("target.connection", Severity.FAILURE, "the target refused the connection (or TLS failed)", "the run"),
        Rule("target.timeout", Severity.FAILURE, "the target did not answer within `--timeout`", "the run"),
        Rule("target.protocol", Severity.FAILURE, "the target broke the exchange off", "the run"),
    )
}

# The rules a check judges whatever the recording says — the API reference's promises, then the contract's
# (whose operation lookup is not a promise of the target's): the rows of a compatibility matrix.
DOCUMENTED_RULES: tuple[str, ...] = tuple(r.id for r in RULES.values() if r.source == _REFERENCE)
CONTRACT_RULES: tuple[str, ...] = tuple(r.id for r in RULES.values() if r.source == _CONTRACT and r.id != "schema.operation")

# Ids that earlier versions wrote into reports, so old baselines keep matching.
_RENAMED = {"invariant.deleted-card": "invariant.deleted_card"}


def register(*rules: Rule) -> None:
    """Rules an API profile adds (the documented rules its sequences judge): registered once, by id; an id that
    means something else already is a bug."""
    for new in rules:
        if RULES.get(new.id, new) != new:
            raise ValueError(f"rule {new.id} is registered already with another meaning")
        RULES[new.id] = new


def rule(rule_id: str) -> Rule:
    """The registered rule; a KeyError names a rule nobody registered (a bug, not user input)."""
    return RULES[rule_id]


def canonical_rule_id(rule_id: str) -> str:
    """The current id of a rule as an older report spelt it."""
    return _RENAMED.get(rule_id, rule_id)
