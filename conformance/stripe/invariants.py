"""What Stripe's documentation promises, checked on every actual response whatever the recording says.

:data:`INVARIANT_RULES` says what each rule means and how its findings behave;
:func:`check_cards` judges them. Each check is a small function that explains its
own finding. State that spans interactions (cards deleted so far, the previous
page of a list) lives in :class:`InvariantState`, one per cassette replay: the
state of Stripe's rule set (``conformance.stripe.rules``). Any route whose action
is ``list`` is paged by the list rules, whatever resource family it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.api_profile import RouteMatch, RuleState
from conformance.checks.naming import name_of, names_of
from conformance.findings import MISSING, Finding
from conformance.paths import display_path
from conformance.rules import Group, MatrixRow, Rule, Severity
from conformance.stripe.ids import IDS
from conformance.stripe.testcards import CARDS
from conformance.text import JSON_TYPE_NAMES, value_text

__all__ = ["ANSWER_RANK", "CARD_KEYS", "INVARIANT_RULES", "InvariantState", "cards_in", "check_cards", "check_response",
           "error_code", "missing_answer"]

_REFERENCE = "Stripe API reference"
# The rank a rule that says what the whole answer must be (a refusal: its status and error) dominates its interaction
# with: after the run's own (a token not made, a target fault, a missing route, an answer that is no JSON: 1-6),
# which explain it in turn. The status or error code that differs from the recording is its evidence, not a cause.
ANSWER_RANK = 7
_F, _DOCUMENTED, _STATELESS = Severity.FAILURE, MatrixRow.DOCUMENTED, frozenset({"stateless"})
INVARIANT_RULES = (
    Rule("invariant.card", _F, "a card object lacks a documented key, or a key has another type or an impossible "
         "value", _REFERENCE, group=Group.STATED, reads="{thing}: {paths}: expected {wanted}, got {got}",
         matrix=_DOCUMENTED),
    Rule("invariant.deleted", _F, "deleting a card does not answer `{id: <that card>, object: card, deleted: true}`",
         _REFERENCE, wrong_kind="object", right_kind_reads="the deleted card ({id, object: \"card\", deleted: true})",
         matrix=_DOCUMENTED),
    Rule("invariant.deleted_card", _F, "a deleted card is still retrievable (expected 404 `resource_missing`)",
         _REFERENCE, presets=_STATELESS, matrix=_DOCUMENTED, formerly=("invariant.deleted-card",),
         dominates=ANSWER_RANK),
    Rule("invariant.default_source", _F, "a customer's `default_source` is a card deleted earlier; after the default "
         "card is deleted it is not the most recently added card left (or not null once none is left)", _REFERENCE,
         shows_duplicates=True, presets=_STATELESS, matrix=_DOCUMENTED),
    Rule("invariant.list", _F, "a list breaks `object: list`, `has_more`, `url`, `limit` or paging with "
         "`starting_after`", _REFERENCE, wrong_kind="object", counts_items=True, shows_duplicates=True,
         matrix=_DOCUMENTED),
    Rule("invariant.error", _F, "an error answer lacks an `error` object with a string `type` and `message`",
         _REFERENCE, matrix=_DOCUMENTED),
)

_STR, _INT, _BOOL, _DICT, _NULL = str, int, bool, dict, type(None)
# The card object's documented keys and their JSON types (the Stripe API reference and its OpenAPI description).
CARD_KEYS: dict[str, tuple[type, ...]] = {
    "id": (_STR,),
    "object": (_STR,),
    "address_city": (_STR, _NULL),
    "address_country": (_STR, _NULL),
    "address_line1": (_STR, _NULL),
    "address_line1_check": (_STR, _NULL),
    "address_line2": (_STR, _NULL),
    "address_state": (_STR, _NULL),
    "address_zip": (_STR, _NULL),
    "address_zip_check": (_STR, _NULL),
    "brand": (_STR,),
    "country": (_STR, _NULL),
    "customer": (_STR, _DICT, _NULL),
    "cvc_check": (_STR, _NULL),
    "dynamic_last4": (_STR, _NULL),
    "exp_month": (_INT,),
    "exp_year": (_INT,),
    "fingerprint": (_STR, _NULL),
    "funding": (_STR,),
    "last4": (_STR,),
    "metadata": (_DICT, _NULL),
    "name": (_STR, _NULL),
    "tokenization_method": (_STR, _NULL),
    "wallet": (_DICT, _NULL),
}
_FUNDING = {"credit", "debit", "prepaid", "unknown"}
_DEFAULT_LIMIT = 10


@dataclass
class InvariantState(RuleState):
    deleted_cards: set[str] = field(default_factory=set)
    # list url -> every page seen, in order: (its ids, its has_more)
    pages: dict[str, list[tuple[list[str], bool]]] = field(default_factory=dict)
    # customer (as the target named it) -> its cards in the order they were attached, deleted ones left out
    cards: dict[str, list[str]] = field(default_factory=dict)
    # customer -> its default source by the documented rules (the first card attached; after a delete of the
    # default, the most recently added card left)
    defaults: dict[str, str | None] = field(default_factory=dict)
    # customer -> (the default its next answer must show, how many cards were left) after the default was deleted
    pending_default: dict[str, tuple[str | None, int]] = field(default_factory=dict)
    # test card (brand, last4) -> the fingerprint its first card had: the same number, the same fingerprint
    fingerprints: dict[tuple[str, str], str] = field(default_factory=dict)
    # the cards check_response found in the answer it judged (that answer, its cards): a later check of the same
    # judgement (exp_year) takes them once instead of walking the answer again. Every judgement walks its answer
    # anew, so an answer changed since an earlier judgement is never read from here.
    walked: tuple[Any, list[tuple[dict[str, Any], list[Any]]]] | None = field(default=None, repr=False,
                                                                                compare=False)


def _json(value: Any) -> str:
    """A value in a message as JSON says it (``false``, ``null``, ``"12"``), never a Python repr."""
    return value_text(value, MISSING)


# An id of a kind, however short (stripe-mock's fixtures are ``card_123``): the documents promise the prefix, not
# a length. Compiled once: a card is judged twice per interaction (as recorded and as answered).
_CARD_ID = re.compile(r"card_[0-9A-Za-z]+")
_CUSTOMER_ID = re.compile(r"cus_[0-9A-Za-z]+")
_FOUR_DIGITS = re.compile(r"\d{4}")


def _type_ok(value: Any, types: tuple[type, ...]) -> bool:
    if isinstance(value, bool):
        return _BOOL in types
    return isinstance(value, types)


def _describe_types(types: tuple[type, ...]) -> str:
    return " or ".join(JSON_TYPE_NAMES[t] for t in types)


_EXACT_TYPES = tuple((key, frozenset(types)) for key, types in CARD_KEYS.items())  # JSON types are exact
# What the OpenAPI description's card schema requires: missing, a failure. The other keys it lists are
# returned even when null: missing, a warning (a token's card has no `customer`).
REQUIRED_CARD_KEYS = frozenset({"id", "object", "brand", "exp_month", "exp_year", "funding", "last4"})
# Keys only the API reference's examples show (`wallet: null`; the OpenAPI card schema does not list it):
# a target may leave them out, and a wrong type is a warning.
EXAMPLE_ONLY_CARD_KEYS = frozenset({"wallet"})


# The values a card's keys of the right type may hold: (key, whether the value is one, what it should be).
_VALUE_CHECKS: tuple[tuple[str, Callable[[Any], bool], str], ...] = (
    ("id", lambda v: _CARD_ID.fullmatch(v) is not None, "a card_ id"),
    ("customer", lambda v: not isinstance(v, str) or _CUSTOMER_ID.fullmatch(v) is not None, "a cus_ id or null"),
    ("exp_month", lambda v: 1 <= v <= 12, "a month 1-12"),
    ("last4", lambda v: _FOUR_DIGITS.fullmatch(v) is not None, "four digits"),
    ("funding", lambda v: v in _FUNDING, "one of credit, debit, prepaid, unknown"),
)


def check_card(card: dict[str, Any], parts: list[Any], absent: frozenset[str] = frozenset()) -> list[Finding]:
    """The card's documented keys and values; ``absent``: keys this kind of card does not carry."""
    findings = []
    for key, exact_types in _EXACT_TYPES:
        value = card.get(key, MISSING)
        if value is MISSING and (key in absent or key in EXAMPLE_ONLY_CARD_KEYS):
            continue
        if type(value) in exact_types:
            continue
        types = CARD_KEYS[key]
        if value is MISSING:
            path = display_path([*parts, key])
            if key in REQUIRED_CARD_KEYS:
                findings.append(Finding("invariant.card", path, f"{path}: the required card key {key!r} is missing",
                                        _describe_types(types), MISSING))
            else:
                findings.append(Finding("invariant.card", path, f"{path}: the card key {key!r} of the API "
                                        "reference's examples is missing (the OpenAPI description does not require "
                                        "it)", _describe_types(types), MISSING, Severity.WARNING))
        elif not _type_ok(value, types):
            path = display_path([*parts, key])
            example_only = key in EXAMPLE_ONLY_CARD_KEYS
            findings.append(Finding("invariant.card", path,
                                    f"{path}: expected {_describe_types(types)}, got {_json(value)}"
                                    + (" (as the API reference's examples show it)" if example_only else ""),
                                    _describe_types(types), value, Severity.WARNING if example_only else None))
    for key, ok, what in _VALUE_CHECKS:
        if key in card and _type_ok(card[key], CARD_KEYS[key]) and not ok(card[key]):
            path = display_path([*parts, key])
            findings.append(Finding("invariant.card", path, f"{path}: expected {what}, got {_json(card[key])}", what,
                                    card[key]))
    return findings


def _another_kind(value: Any) -> bool:
    """An id of another known kind than a card's (``ba_123``, ``src_…``)."""
    if not isinstance(value, str) or "_" not in value:
        return False
    prefix = value.split("_", 1)[0]
    return IDS.knows(prefix) and prefix != "card"


def cards_in(value: Any, parts: list[Any], asked: str | None = None,
             state: RuleState | None = None) -> list[tuple[dict[str, Any], list[Any]]]:
    """Every card object in a response, with its path — but the object a request for another kind of source
    (``asked``: ``ba_123``) got: a fixture that answers any id with a card (stripe-mock puts the requested id into
    its card) holds no card to judge, and the comparison judges the id's kind.

    A check of Stripe's rule set passes its ``state``: the cards :func:`check_response` has just found in this
    answer are then taken (once) instead of walking it again. Without it the answer is walked: nothing kept
    outside the caller's state can go stale."""
    if isinstance(state, InvariantState) and state.walked is not None and not parts:
        answer, found = state.walked
        state.walked = None
        if answer is value:
            return _but(found, asked)
    return _walk(value, parts, asked, [])


def _but(found: list[tuple[dict[str, Any], list[Any]]],
         asked: str | None) -> list[tuple[dict[str, Any], list[Any]]]:
    """The cards of a walk (``asked`` None) but those a walk for ``asked`` leaves out."""
    return found if asked is None else [(card, parts) for card, parts in found if card.get("id") != asked]


def _walk(value: Any, parts: list[Any], asked: str | None,
          found: list[tuple[dict[str, Any], list[Any]]]) -> list[tuple[dict[str, Any], list[Any]]]:
    """:func:`cards_in`'s walk, into ``found``: only containers are descended into."""
    if isinstance(value, dict):
        if value.get("object") == "card" and "deleted" not in value and (asked is None or value.get("id") != asked):
            found.append((value, parts))
        for key, child in value.items():
            if isinstance(child, (dict, list)) and child:
                _walk(child, [*parts, key], asked, found)
    elif isinstance(value, list):
        for index, child in enumerate(value):
            if isinstance(child, (dict, list)) and child:
                _walk(child, [*parts, index], asked, found)
    return found


def check_delete(body: Any, card_id: str, minted: Mapping[str, tuple[str, int]] | None = None) -> list[Finding]:
    findings = []
    if not isinstance(body, dict):
        return [Finding("invariant.deleted", "", "deleting a card must answer the deleted card", "object", body)]
    if body.get("deleted") is not True:
        findings.append(Finding("invariant.deleted", "deleted", f"deleted: expected true (a boolean), got "
                                f"{_json(body.get('deleted', MISSING))}", True, body.get("deleted", MISSING)))
    if body.get("object") != "card":
        findings.append(Finding("invariant.deleted", "object", f"object: expected \"card\", got {_json(body.get('object', MISSING))}",
                                "card", body.get("object")))
    if body.get("id") != card_id:
        findings.append(Finding("invariant.deleted", "id", f"id: expected the deleted card, "
                                f"{name_of(card_id, minted or {})}, got {_json(body.get('id', MISSING))}", card_id, body.get("id")))
    return findings


def check_list(body: Any, path: str, query: dict[str, Any], state: InvariantState) -> list[Finding]:
    if not isinstance(body, dict):
        return [Finding("invariant.list", "", "a list endpoint must answer a list object", "object", body)]
    findings = []
    if body.get("object") != "list":
        findings.append(Finding("invariant.list", "object", f"object: expected \"list\", got {_json(body.get('object', MISSING))}",
                                "list", body.get("object")))
    has_more = body.get("has_more")
    if not isinstance(has_more, bool):
        findings.append(Finding("invariant.list", "has_more", f"has_more: expected a boolean, got {_json(body.get('has_more', MISSING))}",
                                "boolean", has_more))
    if body.get("url") != path:
        findings.append(Finding("invariant.list", "url", f"url: expected the requested path {path}, got "
                                f"{_json(body.get('url', MISSING))}", path, body.get("url")))
    data = body.get("data")
    if not isinstance(data, list):
        findings.append(Finding("invariant.list", "data", f"data: expected an array, got "
                                f"{_json(body.get('data', MISSING))}", "array", data))
        return findings
    try:
        limit = int(query.get("limit", _DEFAULT_LIMIT))
    except (TypeError, ValueError):
        limit = _DEFAULT_LIMIT
    if 1 <= limit <= 100 and len(data) > limit:  # out of bounds, the request is to be refused: not this rule
        findings.append(Finding("invariant.list", "data", f"data: {len(data)} items, more than limit={limit}",
                                limit, len(data)))
    ids = [item.get("id") for item in data if isinstance(item, dict)]
    after = query.get("starting_after")
    previous = state.pages[path][-1] if state.pages.get(path) else None
    if after and previous is not None and previous[0] and previous[0][-1] == after:
        previous_ids, previous_more = previous
        overlap = sorted(set(previous_ids) & set(ids))
        if overlap:
            findings.append(Finding("invariant.list", "data", f"data: starting_after={after} returned items of the "
                                    f"previous page again ({', '.join(map(str, overlap))})", "items after " + after,
                                    ids))
        if previous_more is False and data:
            findings.append(Finding("invariant.list", "has_more", "has_more: the previous page said false, but the "
                                    f"next page has {len(data)} items", False, True))
        if previous_more is True and not data:
            findings.append(Finding("invariant.list", "has_more", "has_more: the previous page said true, but the "
                                    "next page is empty", True, False))
    before = query.get("ending_before")
    if isinstance(before, str) and before:
        # the page that starts at the cursor, seen earlier: the page before it holds none of it
        following = next((page for page, _ in state.pages.get(path, []) if page and page[0] == before), [before])
        overlap = [i for i in ids if i in following]
        if overlap:
            findings.append(Finding("invariant.list", "data", f"data: ending_before={before} returned the cursor or "
                                    f"items after it ({', '.join(map(str, overlap))})", "items before " + before, ids))
    if isinstance(has_more, bool):
        state.pages.setdefault(path, []).append(([i for i in ids if isinstance(i, str)], has_more))
    return findings


def error_code(body: Any) -> str | None:
    """The ``code`` of an error answer, None when it has none (or is no error)."""
    error = body.get("error") if isinstance(body, dict) else None
    code = error.get("code") if isinstance(error, dict) else None
    return code if isinstance(code, str) else None


def missing_answer(rule_id: str, request: str, status: int, body: Any) -> list[Finding]:
    """A request (``request``: as a finding says it) the rules say finds nothing: a finding unless it was answered
    404 ``resource_missing``."""
    code = error_code(body)
    if status == 404 and code == "resource_missing":
        return []
    return [Finding(rule_id, "", f"{request} must answer 404 resource_missing, got {status} {code or 'without a code'}",
                    "404 resource_missing", f"{status} {code}")]


def check_error(body: Any) -> list[Finding]:
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return [Finding("invariant.error", "error", "an error response must carry an error object", "object", body)]
    findings = []
    for key in ("type", "message"):
        if not isinstance(error.get(key), str):
            path = f"error.{key}"
            findings.append(Finding("invariant.error", path, f"{path}: expected a string, got "
                                    f"{_json(error.get(key, MISSING))}", "string", error.get(key)))
    return findings


def check_cards(route: RouteMatch | None, method: str, path: str, query: dict[str, Any], status: int, body: Any,
                state: RuleState) -> list[Finding]:
    """Stripe's documented rules of cards and lists, as its rule set runs them (with the state it makes)."""
    if not isinstance(state, InvariantState):
        raise TypeError("the card rules judge with the state their rule set made (InvariantState)")
    return check_response(route, method, path, query, status, body, state)


def check_response(
    route: RouteMatch | None, method: str, path: str, query: dict[str, Any], status: int, body: Any,
    state: InvariantState,
) -> list[Finding]:
    """The documented invariants for one actual exchange (``path`` and ``query`` as sent; ``route`` as the
    profile matched it)."""
    findings: list[Finding] = []
    state.walked = None  # what an earlier judgement walked is never this one's
    card_id = route.subject if route else None
    if status >= 400:
        state.judged.add("invariant.error")
        findings.extend(check_error(body))
    if method == "GET" and card_id in state.deleted_cards:
        state.judged.add("invariant.deleted_card")
        return findings + missing_answer("invariant.deleted_card", f"retrieving deleted card {card_id}", status, body)
    if status >= 300:
        return findings
    customer_id = route.params.get("customer") if route else None
    if method == "DELETE" and card_id and IDS.prefix_of(card_id) == "card":
        state.judged.add("invariant.deleted")
        findings.extend(check_delete(body, card_id, state.minted))
        state.deleted_cards.add(card_id)
        if customer_id is not None:
            _card_deleted(state, customer_id, card_id)
        return findings
    if route is not None and route.name == "sources.create" and customer_id is not None and isinstance(body, dict) \
            and body.get("object") == "card" and isinstance(body.get("id"), str):
        state.cards.setdefault(customer_id, []).append(body["id"])
        if state.defaults.get(customer_id) is None:
            state.defaults[customer_id] = body["id"]  # the first source attached becomes the default
    if route is not None and route.route.action == "list":
        state.judged.add("invariant.list")
        findings.extend(check_list(body, path, query, state))
    # A token's card belongs to no customer yet: Stripe's own token fixture has no `customer` on it.
    absent = frozenset({"customer"}) if isinstance(body, dict) and body.get("object") == "token" else frozenset()
    found = _walk(body, [], None, [])  # walked anew for each judgement; the set's later checks take it (cards_in)
    state.walked = (body, found)
    for card, parts in _but(found, card_id if _another_kind(card_id) else None):
        state.judged.add("invariant.card")
        findings.extend(check_card(card, parts, absent))
        findings.extend(check_fingerprint(card, parts, state))
    if isinstance(body, dict) and body.get("object") == "customer":
        findings.extend(check_default_source(body, state))
    return findings


def check_fingerprint(card: dict[str, Any], parts: list[Any], state: InvariantState) -> list[Finding]:
    """The same card number gives the same fingerprint (the card object: it "uniquely identifies this particular
    card number"): judged among the documented test cards, whose numbers their brand and last4 tell apart."""
    brand, last4, fingerprint = card.get("brand"), card.get("last4"), card.get("fingerprint")
    if not isinstance(fingerprint, str) or not isinstance(last4, str) or not isinstance(brand, str):
        return []
    test_card = CARDS.for_last4(last4)
    if test_card.last4 != last4 or test_card.brand != brand:
        return []
    first = state.fingerprints.setdefault((brand, last4), fingerprint)
    state.judged.add("card.fingerprint")
    if first == fingerprint:
        return []
    path = display_path([*parts, "fingerprint"])
    return [Finding("card.fingerprint", path, f"{path}: the test card {test_card.alias} had the fingerprint {first} "
                    f"earlier, now {fingerprint}: the same card number must keep its fingerprint", first, fingerprint)]


def _card_deleted(state: InvariantState, customer: str, card: str) -> None:
    """A deleted default moves to the most recently added card left (the API reference), or to null."""
    cards = state.cards.get(customer)
    if cards is None:
        return
    if card in cards:
        cards.remove(card)
    if state.defaults.get(customer) != card:
        return
    left = len(cards)
    state.pending_default[customer] = (cards[-1] if cards else None, left)
    state.defaults[customer] = cards[-1] if cards else None
    unattached = _unattached_cards(state)
    if left == 1 and unattached:
        state.not_judged.append((
            "invariant.default_source",
            "“deleting the default card makes the most recently added card the default” was not judged: one card "
            "was left, as the target never attached "
            f"{names_of(sorted(unattached, key=lambda i: state.minted.get(i, ('', 0))[1]), state.minted)}"))


def _unattached_cards(state: InvariantState) -> set[str]:
    """The cards among the objects the recording created that the target never did."""
    return {found for found in state.unattached if state.minted.get(found, ("",))[0] == "card"}


def check_default_source(body: dict[str, Any], state: InvariantState) -> list[Finding]:
    """After a delete of the default card the customer's next answer shows the new default; a deleted card is
    never the default."""
    customer = body.get("id")
    default = body.get("default_source")
    if isinstance(default, dict):
        default = default.get("id")
    if not isinstance(customer, str):
        return []
    if customer not in state.cards:  # first seen: its cards so far are unknown, its default is its word
        state.cards[customer] = [default] if isinstance(default, str) else []
        state.defaults[customer] = default if isinstance(default, str) else None
    pending = state.pending_default.pop(customer, None)
    # one card left because the target never attached another: "the most recently added" was not judged
    partial = pending is not None and pending[1] == 1 and bool(_unattached_cards(state))
    # judged only where the rule had something to judge: a delete of this customer's default followed, or a
    # default that could be a deleted card; a null default of a customer none of whose cards was followed
    # (every card deleted belongs to another, or its attach answered no card) judges nothing — never "holds"
    if (pending is not None or (isinstance(default, str) and state.deleted_cards)) and not partial:
        state.judged.add("invariant.default_source")
    elif pending is None and state.deleted_cards and not state.cards[customer]:
        state.not_judged.append(("invariant.default_source", "no card of this customer was followed from its "
                                 "attach to its delete: its null default_source judges nothing"))
    if pending is not None and default != pending[0]:
        expected, left = pending
        minted = state.minted
        cards = state.cards.get(customer, [])
        if expected is None:
            rule = "deleting the last card must leave default_source null"
        elif left >= 2:
            rule = "deleting the default card must make the most recently added card the default"
        else:
            rule = "deleting the default card must make the one card left the default"
        oldest = " — the oldest card left" if left >= 2 and cards and default == cards[0] else ""
        return [Finding("invariant.default_source", "default_source",
                        f"default_source: {rule}: expected {name_of(expected, minted)}, got "
                        f"{name_of(default, minted)}{oldest}", expected, default)]
    if isinstance(default, str) and default in state.deleted_cards:
        return [Finding("invariant.default_source", "default_source", f"default_source: {name_of(default, state.minted)}"
                        " was deleted; it must move to another source or become null", None, default)]
    return []
