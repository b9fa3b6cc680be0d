"""The documented card rules only a sequence of requests shows, each with the API reference section it comes from.

Registered with the rule registry when the profile is imported; ``conformance explore`` judges them, and ``run``
judges those its replay can see from the answers alone (:func:`check_sequences`: a deleted card updated or deleted
again, a card reached through another customer; the fingerprint one in ``invariants``): a cassette explore wrote
is one more sequence, so ``run`` names the rule its header names. Each carries its traits: a stateless fake
(stripe-mock) keeps no card, so the rules about what a card keeps belong to the ``stateless`` known-limitation
preset; the fingerprint, which ``run`` judges too, is a row of every matrix; a rule that says what the whole
answer must be (a refusal: its status and error) *dominates* its interaction, so the status or the error's keys
that differ from the recording are its evidence, never causes of their own. The rules a sequence shares with a
single answer keep their ids: ``invariant.default_source``, ``invariant.deleted_card``, ``invariant.deleted``,
``invariant.list`` (``has_more`` exactly when more follow, ``limit`` bounds) and ``list.order`` (newest first).
"""

from __future__ import annotations

from typing import Any

from conformance.api_profile import RouteMatch, RuleState
from conformance.checks.naming import name_of
from conformance.findings import Finding
from conformance.rules import MatrixRow, Rule, Severity, register
from conformance.stripe.ids import IDS
from conformance.stripe.invariants import ANSWER_RANK, InvariantState, error_code, missing_answer

__all__ = ["SEQUENCE_RULES", "READ_ONLY", "UPDATABLE", "check_sequences", "check_request"]

_CARDS = "Stripe API reference, Cards"
_STATELESS = frozenset({"stateless"})  # what a fake that keeps no card cannot keep
SEQUENCE_RULES = (
    Rule("card.attributes", Severity.FAILURE, "a card's attributes (name, address, expiry) are what its last update "
         "set, wherever it is read", f"{_CARDS}: Update a card", presets=_STATELESS),
    Rule("card.metadata", Severity.FAILURE, "an update's metadata is merged into the card's: other keys kept, a key "
         "set to \"\" removed, metadata=\"\" removes all", f"{_CARDS}: Update a card (metadata); Metadata",
         presets=_STATELESS),
    Rule("card.fingerprint", Severity.FAILURE, "the same card number gives the same `fingerprint` (it \"uniquely "
         "identifies this particular card number\")", f"{_CARDS}: The card object (fingerprint)",
         presets=_STATELESS, matrix=MatrixRow.BEYOND),
    Rule("card.deleted_gone", Severity.FAILURE, "a deleted card is gone from its customer's lists and sources",
         f"{_CARDS}: Delete a card", presets=_STATELESS),
    Rule("card.deleted_unchangeable", Severity.FAILURE, "a deleted card can be neither updated nor deleted again "
         "(404 `resource_missing`)", f"{_CARDS}: Delete a card; Errors (resource_missing)", presets=_STATELESS,
         dominates=ANSWER_RANK),
    Rule("card.other_customer", Severity.FAILURE, "a card is reachable only through its own customer (404 "
         "`resource_missing` through another)", f"{_CARDS}: Retrieve a card (GET /v1/customers/:customer/cards/:id)",
         presets=_STATELESS, dominates=ANSWER_RANK),
    Rule("request.read_only", Severity.FAILURE, "a read-only attribute on an update (brand, funding, fingerprint, "
         "cvc_check) is refused with 400 `parameter_unknown`", f"{_CARDS}: Update a card (its parameters); Errors",
         dominates=ANSWER_RANK, recording_decides=True),
    Rule("request.unknown_parameter", Severity.FAILURE, "an unknown parameter is refused with 400 "
         "`parameter_unknown` naming it", "Stripe API reference, Errors (parameter_unknown)", dominates=ANSWER_RANK,
         recording_decides=True),
    Rule("request.invalid_expiry", Severity.FAILURE, "an impossible `exp_month` (13, 0) is refused with 402 "
         "`card_error` `invalid_expiry_month`", "Stripe API reference, Errors (card_error: invalid_expiry_month)",
         dominates=ANSWER_RANK, recording_decides=True),
)
register(*SEQUENCE_RULES)

# What a card update may send (API reference, Cards: Update a card), and the card's attributes it may not: refused as
# unknown parameters (Stripe answers 400 parameter_unknown for both)
UPDATABLE = frozenset({"address_city", "address_country", "address_line1", "address_line2", "address_state",
                       "address_zip", "exp_month", "exp_year", "metadata", "name", "expand"})
READ_ONLY = frozenset({"brand", "funding", "fingerprint", "cvc_check"})
# What the same endpoint declares for the other kinds of source (OpenAPI: bank accounts' account_holder_*, sources'
# owner): whether Stripe refuses them on a card no public source says, so they are not judged
OTHER_SOURCES = frozenset({"account_holder_name", "account_holder_type", "owner"})


def _missing(rule_id: str, doing: str, card: str, status: int, body: Any, state: RuleState) -> list[Finding]:
    """A request the rules say finds no card: judged, and a finding unless answered 404 ``resource_missing``."""
    state.judged.add(rule_id)
    return missing_answer(rule_id, f"{doing} {name_of(card, state.minted)}", status, body)


def check_sequences(route: RouteMatch | None, method: str, path: str, query: dict[str, Any], status: int,
                    body: Any, state: RuleState) -> list[Finding]:
    """What ``run`` sees of the sequence rules: an update or a delete of a card deleted earlier in the cassette
    (``card.deleted_unchangeable``), a card retrieved through a customer other than the one it was attached to
    (``card.other_customer``). Judged before the card rules note this answer (a delete's card is deleted after
    it), with the state they keep (deleted cards, each customer's cards: ``invariants.InvariantState``)."""
    if not isinstance(state, InvariantState):
        raise TypeError("the sequence rules judge with the state the card rules' set made (InvariantState)")
    deleted, owners = state.deleted_cards, state.cards
    card = route.subject if route is not None else None
    customer = route.params.get("customer") if route is not None else None
    if card is None or customer is None:
        return []
    if method == "POST" and card not in deleted and route is not None and route.route.action == "update" \
            and IDS.prefix_of(card) == "card":
        return check_request(card, status, body, state)
    if method in ("POST", "DELETE") and card in deleted:
        return _missing("card.deleted_unchangeable", "updating deleted card" if method == "POST" else
                        "deleting deleted card", card, status, body, state)
    if method == "GET" and card not in deleted and card not in owners.get(customer, []) and any(
            card in cards for owner, cards in owners.items() if owner != customer):
        return _missing("card.other_customer", "retrieving through another customer the card", card, status, body,
                        state)
    return []


def check_request(card: str, status: int, body: Any, state: RuleState) -> list[Finding]:
    """A card update's parameters (``state.parameters``) the rules refuse: a read-only attribute or an unknown
    parameter (400 ``parameter_unknown``), checked before the card's values are (Stripe refuses what it does not
    know before it validates), then an ``exp_month`` that is a number but no month (402 ``invalid_expiry_month``;
    one that is no number is ``parameter_invalid_integer``, another rule's)."""
    sent: dict[str, Any] = {}
    for path, value in state.parameters.items():
        sent.setdefault(path.split(".", 1)[0], (path, value))
    refused = [(name, said) for name in sorted(sent) if (said := _refusal(name, sent[name][1])) is not None]
    if not refused:
        return []
    name, (rule_id, want, code) = min(refused, key=lambda item: item[1][1])  # the 400s first
    state.judged.add(rule_id)
    got = error_code(body)
    if status == want and got == code:
        return []
    path, value = sent[name]
    return [Finding(rule_id, "", f"updating {name_of(card, state.minted)} with {path}={value!s} must answer "
                    f"{want} {code}, got {status} {got or 'without a code'}", f"{want} {code}", f"{status} {got}")]


def _refusal(name: str, value: Any) -> tuple[str, int, str] | None:
    """The rule that refuses a card update's parameter, with the status and code it answers; None: allowed, or
    not the card rules' to judge."""
    if name in READ_ONLY:
        return "request.read_only", 400, "parameter_unknown"
    if name in OTHER_SOURCES:
        return None
    if name not in UPDATABLE:
        return "request.unknown_parameter", 400, "parameter_unknown"
    if name == "exp_month" and _month(value) is False:
        return "request.invalid_expiry", 402, "invalid_expiry_month"
    return None


def _month(value: Any) -> bool | None:
    """Whether an ``exp_month`` sent is a month (1-12); None: it is no whole number (not this rule's to judge)."""
    try:
        return 1 <= int(str(value).strip()) <= 12
    except ValueError:
        return None
