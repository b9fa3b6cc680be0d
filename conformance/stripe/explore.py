"""Stripe's card operations for ``conformance explore``, and the documented rules as a model of the target.

Each sequence makes its own customers, attaches test cards, updates them (every updatable field, metadata set,
one key unset, all unset, valid and impossible expiries, read-only attributes, unknown parameters), retrieves
them through ``/cards/`` and ``/sources/`` with and without ``expand[]``, through another customer, lists them
with ``limit`` in and out of bounds and both cursors, and deletes them. :class:`CardModel` is what the API
reference says the target's state is after each step; an answer that differs breaks the rule it names
(:mod:`conformance.stripe.sequence_rules`), with the answer the rules expect.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

import httpx
from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, invariant, precondition, rule

from conformance.api_profile import Headers, RetryExchange, route_text
from conformance.checks.compare import CompareRules
from conformance.checks.response import no_such_route
from conformance.explore.runner import Recorder
from conformance.explore.session import ExploreInputError, Session, Step
from conformance.stripe import STRIPE, sequence_rules  # noqa: F401  (sequence_rules registers the rules)
from conformance.stripe.idempotency import IDEMPOTENCY, IdempotencyState
from conformance.stripe.invariants import check_card
from conformance.stripe.routes import ROUTES
from conformance.stripe.testcards import CARDS
from conformance.text import json_type, snippet, value_text

__all__ = ["CardMachines", "CardModel", "CARD_MACHINES", "chosen_code"]

_CUSTOMERS = "/v1/customers"
# (what it is, the form an update sends, the rule that refuses it or None)
ATTRIBUTE_UPDATES: tuple[tuple[str, dict[str, Any], str | None], ...] = (
    ("name", {"name": "Jenny Rosen"}, None),
    ("address", {"address_city": "Berlin", "address_zip": "10115", "address_country": "DE"}, None),
    ("expiry", {"exp_month": "12", "exp_year": "2031"}, None),
)
METADATA_UPDATES: tuple[tuple[str, dict[str, Any], str | None], ...] = (
    ("metadata set", {"metadata": {"order_id": "6735"}}, None),
    ("metadata set another", {"metadata": {"note": "gift"}}, None),
    ("metadata unset one", {"metadata": {"order_id": ""}}, None),
    ("metadata unset all", {"metadata": ""}, None),
)
REFUSED_UPDATES: tuple[tuple[str, dict[str, Any], str | None], ...] = (
    ("month 13", {"exp_month": "13"}, "request.invalid_expiry"),
    ("month 0", {"exp_month": "0"}, "request.invalid_expiry"),
    ("read-only brand", {"brand": "MasterCard"}, "request.read_only"),
    ("read-only funding", {"funding": "debit"}, "request.read_only"),
    # not a card number (a Luhn-valid one would be redacted as one, in the message and the cassette's request)
    ("read-only fingerprint", {"fingerprint": "fp_conformance_readonly"}, "request.read_only"),
    ("read-only cvc_check", {"cvc_check": "fail"}, "request.read_only"),
    ("unknown parameter", {"colour": "blue"}, "request.unknown_parameter"),
)
_ATTRIBUTES = ("name", "address_city", "address_zip", "address_country", "exp_month", "exp_year")
_LIMITS = (None, 1, 2, 3, 10, 0, 101)
PAGE = 10  # what a customer's expanded ``sources`` shows, and a list's default ``limit``
_HAS_MORE = "invariant.list has_more"  # has_more is known apart from the page's cards
PAGE_ODDS = 4  # a full page of cards (12 requests) is made by one in so many of the steps that could make it


def missing(card: str) -> dict[str, Any]:
    """The error the API answers for a card that is not there (404 ``resource_missing``: API reference, Errors).
    No ``param``: the reference names none for it (the test fake's ``id`` is its own choice; Stripe has been seen
    answering it empty), so a cassette expects none and a target's is at most a ``keys.extra`` warning."""
    return {"error": {"type": "invalid_request_error", "code": "resource_missing",
                      "message": f"No such source: '{card}'"}}


# The comparison rules of the profile's defaults: its ``loose`` values are codes one public source chose where the
# API reference names none (``limit`` out of bounds: tests/stripe_fake.py's ``parameter_invalid_integer``).
_PROFILE_RULES = CompareRules(defaults=STRIPE.comparison)


def chosen_code(code: str) -> bool:
    """Whether an error ``code`` is one a source chose where the API reference names none (the profile's
    ``loose`` error codes): the model then expects a code, any, of the error's documented type."""
    return _PROFILE_RULES.loose_by_default(["error", "code"], code)


# the id an expected object the target did not make is recorded with (a replay binds it to what the target mints)
_MINTED = {"card": "card_" + "0" * 24, "customer": "cus_" + "0" * 14}


def expected_customer(customer: str, default: str | None) -> dict[str, Any]:
    """A customer as far as the model knows it."""
    return {"id": customer, "object": "customer", "default_source": default, "description": "explore",
            "metadata": {}}


# the retry contract's headers, as the Stripe profile names them
RETRY_HEADERS = Headers(idempotency="Idempotency-Key", request_id="Request-Id", replayed="Idempotent-Replayed",
                        original_request="Original-Request")
IDEMPOTENCY_ERROR = {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only be "
                               "used with the same parameters they were first used with."}}


def _key() -> str:
    """A retry's idempotency key, not a UUID: the cassette keeps it as it is (a UUID is stored as a placeholder
    and sent fresh each time), so ``run`` sends one fresh key wherever it repeats."""
    return f"explore-{uuid.uuid4().hex}"


def refused(code: str, param: str, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"type": type_, "code": code, "param": param, "message": f"refused: {param}"}}


def _code(step: Step, key: str = "code") -> str | None:
    error = step.body.get("error") if isinstance(step.body, dict) else None
    return error.get(key) if isinstance(error, dict) else None


def route_of(method: str, path: str) -> str:
    """``POST /v1/customers/:customer/cards/:card``: the route a request belongs to, as ``run``'s
    ``route.missing`` names it."""
    found = ROUTES.match(method, path.split("?")[0])
    return route_text(method, found.route.template if found else path.split("?")[0])


def _is_card(body: Any) -> bool:
    return isinstance(body, dict) and body.get("object") == "card"


def _what(body: Any) -> str:
    """``an account object``, ``a customer object``, ``no object`` (text, or JSON without ``object``)."""
    kind = body.get("object") if isinstance(body, dict) else None
    if not isinstance(kind, str):
        return "no object"
    return f"{'an' if kind[:1] in 'aeiou' else 'a'} {kind} object"


# What a cassette keeps of an answer the rules did not find broken: what the model relied on (the keys its rules
# read), so a faithful target's other keys are at most ``keys.extra`` warnings, never failures.
_RELIED: dict[str, tuple[str, ...]] = {
    "card": ("id", "object", "customer", *_ATTRIBUTES, "metadata", "fingerprint"),
    "customer": ("id", "object", "default_source", "sources"),
    "list": ("object", "data", "has_more", "url"),  # its url names the owner (what a cut keeps changes of)
}
_ERROR_KEYS = ("type", "code", "param", "message")
_NESTED = frozenset({"customer", "sources", "data"})  # objects within objects: reduced alike


def relied_on(body: Any) -> Any:
    """An answer reduced to what the documented rules read of it: an error's type, code, param and message; a
    deleted object's id and ``deleted``; a card's attributes, metadata and fingerprint; a customer's default
    source and expanded sources; a page's items and ``has_more``; any other object's id and ``object``."""
    if isinstance(body, list):
        return [relied_on(item) for item in body]
    if not isinstance(body, dict):
        return body
    error = body.get("error")
    if isinstance(error, dict):
        return {"error": {key: error[key] for key in _ERROR_KEYS if key in error}}
    if body.get("deleted") is True:
        return {key: body[key] for key in ("id", "object", "deleted") if key in body}
    kept = _RELIED.get(str(body.get("object")), ("id", "object"))
    return {key: relied_on(body[key]) if key in _NESTED else body[key] for key in kept if key in body}


@dataclass
class Card:
    id: str
    customer: str
    number: str
    body: dict[str, Any]  # the card as the rules say it is now (its last answer, the model's values applied)
    deleted: bool = False
    # the target answered its attach with another object (stripe-mock: an account): ``id`` is that object's, a
    # handle; ``body`` the model's values of the test card. Nothing the target keeps of it is judged.
    stand_in: bool = False


def stand_in_id(number: int) -> str:
    """The id a cassette names the ``number``-th stand-in by (a card id: a faithful target's binds to it)."""
    return "card_" + str(number).rjust(24, "0")


@dataclass
class CardModel:
    """The documented state: each customer's cards in creation order, its default source, each card's values."""

    cards: dict[str, Card] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)  # customer -> live card ids, oldest first
    defaults: dict[str, str | None] = field(default_factory=dict)
    fingerprints: dict[str, str | None] = field(default_factory=dict)  # card number -> its fingerprint (nullable)
    # customers holding a stand-in (live or deleted): what their lists show depends on what the target kept of an
    # object it never made, so their pages are not judged
    vague: set[str] = field(default_factory=set)
    moved: set[str] = field(default_factory=set)  # customers whose default a delete moved

    def attach(self, customer: str, card: Card) -> None:
        self.cards[card.id] = card
        self.order[customer].append(card.id)
        if card.stand_in:
            self.vague.add(customer)
        if self.defaults[customer] is None:  # the first source attached becomes the default
            self.defaults[customer] = card.id

    def delete(self, card: Card) -> None:
        """A deleted default moves to the most recently added card left, else null (Cards: Delete a card)."""
        card.deleted = True
        cards = self.order[card.customer]
        cards.remove(card.id)
        if self.defaults[card.customer] == card.id:
            self.defaults[card.customer] = cards[-1] if cards else None
            self.moved.add(card.customer)

    def update(self, card: Card, form: dict[str, Any]) -> None:
        for key, value in form.items():
            if key == "metadata" and value == "":
                card.body["metadata"] = {}
            elif key == "metadata":
                merged = dict(card.body.get("metadata") or {})
                for name, text in value.items():
                    if text == "":
                        merged.pop(name, None)
                    else:
                        merged[name] = text
                card.body["metadata"] = merged
            elif key in ("exp_month", "exp_year"):
                card.body[key] = int(value)
            else:
                card.body[key] = value

    def updated(self, card: Card, form: dict[str, Any]) -> dict[str, Any]:
        """The card as an update makes it (the model unchanged)."""
        copied = Card(card.id, card.customer, card.number, copy.deepcopy(card.body))
        self.update(copied, form)
        return copied.body

    def expected_card(self, customer: str, test_card: Any) -> dict[str, Any]:
        """The card an attach answers, as far as the model knows it: one of the same number's values (a new id),
        else the test card's documented ones."""
        same = next((card.body for card in self.cards.values() if card.number == test_card.number), None)
        known = {"fingerprint": self.fingerprints[test_card.number]} if test_card.number in self.fingerprints else {}
        base = copy.deepcopy(same) if same is not None else {
            "object": "card", "brand": test_card.brand, "funding": test_card.funding, "last4": test_card.last4,
            "metadata": {}, "name": None}
        return {**base, **known, "id": _MINTED["card"], "customer": customer, "metadata": {}, "name": None}

    def listed(self, ids: list[str], more: bool, url: str) -> dict[str, Any]:
        """A page as the model holds it."""
        return {"object": "list", "data": [self.cards[i].body for i in ids], "has_more": more, "url": url}

    def page(self, customer: str, limit: int, after: str | None, before: str | None) -> tuple[list[str], bool]:
        """The ids of a page, newest first, and whether more follow (Pagination)."""
        items = list(reversed(self.order[customer]))
        if before is not None:
            newer = items[:items.index(before)]
            return newer[-limit:], len(newer) > limit
        if after is not None:
            items = items[items.index(after) + 1:]
        return items[:limit], len(items) > limit


def _differs(actual: Any, card: Card, keys: tuple[str, ...]) -> list[str]:
    """The keys whose values differ, their JSON types too (``"12"`` is not ``12``)."""
    if not isinstance(actual, dict):
        return list(keys)
    return [key for key in keys if actual.get(key) != card.body.get(key)
            or json_type(actual.get(key)) != json_type(card.body.get(key))]


def _typed(value: Any) -> str:
    """``"12" (text)``, ``12 (a number)``: as JSON says it, with its type where text and numbers look alike."""
    kind = json_type(value)
    return value_text(value) + (" (text)" if kind == "string" else " (a number)" if kind in ("integer", "number")
                                else "")


class _CardMachine(RuleBasedStateMachine):
    """The generated sequences; ``recorder`` is bound by :meth:`CardMachines.machine`."""

    recorder: Recorder
    customers = Bundle("customers")
    cards = Bundle("cards")  # live cards: a delete moves its card to ``deleted``
    deleted = Bundle("deleted")

    def __init__(self) -> None:
        super().__init__()
        self.session = self.recorder.session()
        self.model = CardModel()
        self.retries = IDEMPOTENCY.new_state()
        self.first: str | None = None
        self.apart = 0  # customers of the model in no bundle (a full page's)

    # -- judging ---------------------------------------------------------------------------------
    def fail(self, rule: str, message: str, status: int | None = None, body: Any = None, key: str = "") -> None:
        """The last answer breaks ``rule``: ``status`` and ``body`` are what the rules expect instead (a rule
        found broken already, or its ``key``, is not raised again)."""
        self.session.fail(rule, message, status, body, key)

    def end(self) -> None:
        """The sequence ends here (nothing further can be followed); with ``--reference``, the last answer's
        differences from the reference that no documented rule told are told first."""
        self.session.settle()
        assume(False)

    @invariant(check_during_init=True)
    def told(self) -> None:
        """After each operation, with ``--reference``: the last answer's differences from the reference that no
        documented rule told (the model judged it, or had nothing to judge) are told under the comparison's rules."""
        self.session.settle()

    # -- routes the target lacks: told once each, then not generated again ------------------------------
    def missing_route(self, step: Step, status: int, body: Any) -> None:
        """A 404/405 that is no API error (what ``run`` calls ``route.missing``): the target lacks the route, which
        is said once for that route, not under the rule of each request that meets it; the sequence ends there
        (once known, the operations that need the route are not generated again)."""
        if not no_such_route(step.status, step.body):
            return
        route = route_of(step.method, step.path)
        said = _code(step, "message") or step.content.decode("utf-8", "replace").strip() or "an empty body"
        self.fail("route.missing", f"the target has no route {route} ({step.status}: {snippet(said, 80)})", status,
                  body, key=f"route.missing {route}")
        self.end()

    def reachable(self, method: str, tail: str) -> bool:
        """Whether a card route (``/:card`` or a list: ``tail`` "") is known missing in neither spelling."""
        return any(self.spelled(method, spelling, tail) for spelling in ("sources", "cards"))

    def spelled(self, method: str, spelling: str, tail: str) -> str:
        """``spelling`` (``sources``, ``cards``) unless the target is known to lack that route; then the other one,
        else ""."""
        for each in (spelling, "cards" if spelling == "sources" else "sources"):
            if f"route.missing {method} {_CUSTOMERS}/:customer/{each}{tail}" not in self.recorder.known:
                return each
        return ""

    # -- judging ---------------------------------------------------------------------------------------
    def expect_error(self, step: Step, rule: str, status: int, code: str, body: dict[str, Any], what: str) -> None:
        """The refusal the rules expect (``body``: the error, its ``type`` and ``code``); a code the API reference
        names none for (:func:`chosen_code`) is any code of the error's type. A target that took the request
        instead (2xx) holds what the model does not, so the sequence ends there."""
        kind = body["error"]["type"]
        chosen = chosen_code(code)
        if step.status == status and (_code(step) == code if not chosen else bool(_code(step)) and
                                      _code(step, "type") == kind):
            return
        self.missing_route(step, status, body)
        wanted = f"{status} {kind} with a code (the API reference names none)" if chosen else f"{status} {code}"
        got = f"{_code(step, 'type') or 'no type'}, {_code(step) or 'no code'}" if chosen else \
            _code(step) or "without a code"
        self.fail(rule, f"{what}: expected {wanted}, got {step.status} {got}", status, body)
        if 200 <= step.status < 300:
            self.end()

    def expect_ok(self, step: Step, what: str, expected: dict[str, Any]) -> dict[str, Any]:
        """The answer of a request the rules say succeeds (``expected``: the object the model says it answers);
        else the sequence ends (``route.missing`` or ``status``, each route told once, then discarded)."""
        if step.status != 200 or not isinstance(step.body, dict):
            if step.unmade is not None:  # --tokens create: the token was never made, the request is not to blame
                token, answered = step.unmade
                self.fail("setup.token", f"the target made no token from the test card of {token} (it answered "
                          f"{answered}); the magic token was sent, and {what} answered {step.status}", 200, expected,
                          key=f"setup.token {token}")
                self.end()
            self.missing_route(step, 200, expected)
            route = route_of(step.method, step.path)
            said = _code(step, "message")
            self.fail("status", f"{what}: expected 200, got {step.status}" + (f" ({snippet(said, 80)})" if said else ""),
                      200, expected, key=f"status {route}")
            self.end()
        assert isinstance(step.body, dict)
        return step.body

    def expect_card(self, body: dict[str, Any], what: str, expected: dict[str, Any]) -> None:
        """A card answer is a card (``object``, as ``run`` judges it): else the model cannot follow it, and the
        sequence ends (nothing expected is built from another object's values)."""
        if not _is_card(body):
            self.fail("object", f"{what}: answers {_what(body)}, not a card", 200, expected)
            self.end()

    def judge_card(self, step: Step, card: Card, what: str) -> None:
        """A card answer shows what the model holds: attributes, metadata, fingerprint (a stand-in's: nothing
        judged but that it is a card, ``object`` told once per run)."""
        actual = step.body
        if card.stand_in:
            self.unjudged({key: value for key, value in card.body.items() if key != "customer"}
                          if isinstance(actual.get("customer"), dict) else card.body)
            if not _is_card(actual):
                self.fail("object", f"{what}: answers {_what(actual)}, not a card", 200, step.expected_body)
            return
        expected = {**actual, **{k: card.body.get(k) for k in (*_ATTRIBUTES, "metadata", "fingerprint")}}
        if isinstance(actual.get("customer"), dict):
            expected["customer"] = actual["customer"]
        self.expect_card(actual, what, {**card.body, "id": card.id})
        wrong = _differs(actual, card, ("metadata",))
        if wrong:
            self.fail("card.metadata", f"{what}: metadata {actual.get('metadata')} where the updates made "
                      f"{card.body.get('metadata')}", 200, expected)
        wrong = _differs(actual, card, _ATTRIBUTES)
        wrong = self.judge_types(actual, wrong, what, expected)
        if wrong:
            self.fail("card.attributes", f"{what}: " + ", ".join(
                f"{k} is {_typed(actual.get(k))} where the last update set {_typed(card.body.get(k))}"
                for k in wrong), 200, expected)
        if actual.get("fingerprint") != card.body.get("fingerprint"):
            self.fail("card.fingerprint", f"{what}: fingerprint {actual.get('fingerprint')} where the same card "
                      f"number had {card.body.get('fingerprint')}", 200, expected)
        card.body = {**expected, "customer": card.customer}

    def judge_types(self, actual: dict[str, Any], wrong: list[str], what: str, expected: dict[str, Any]) -> list[str]:
        """Attributes of another JSON type than the card object documents (``"12"`` for ``exp_month``) are
        ``invariant.card``, as ``run`` names them wherever a card is answered: one problem, the type, whichever
        update set the value (not also ``card.attributes``). Returns the other attributes that differ."""
        shape = [f for f in check_card(actual, []) if f.is_failure and f.path in wrong]
        if shape:
            self.fail("invariant.card", f"{what} " + "; ".join(f.message for f in shape), 200, expected)
        return [key for key in wrong if key not in {f.path for f in shape}]

    # -- operations ------------------------------------------------------------------------------
    def new_customer(self, test_card: Any = None) -> str:
        """A customer; with ``test_card``, created with it as its ``source`` (Customers: Create a customer — the
        source becomes its default): a card made by the same request, which the model learns from
        ``default_source`` (a target that answers none made none, as far as the model knows)."""
        form = {"description": "explore", **({"source": test_card.token} if test_card is not None else {})}
        step = self.session.send("POST", _CUSTOMERS, form)
        body = self.expect_ok(step, "POST /v1/customers", expected_customer(_MINTED["customer"], None))
        customer = str(body["id"])
        self.model.order[customer] = []
        self.model.defaults[customer] = None
        made = body.get("default_source") if test_card is not None else None
        if isinstance(made, str) and made not in self.model.cards:
            card = {**self.model.expected_card(customer, test_card), "id": made}
            self.model.attach(customer, Card(made, customer, test_card.number, card))
        return customer

    def home(self) -> str:
        """The sequence's first customer (made once, whichever initial step comes first)."""
        if self.first is None:
            self.first = self.new_customer()
        return self.first

    @initialize(target=customers)
    def customer(self) -> str:
        return self.home()

    @initialize(target=cards, test_card=st.sampled_from(CARDS.cards[:4]))
    def first_card(self, test_card: Any) -> Any:
        """Every sequence starts with a customer and a card of it (any operation has something to act on)."""
        return self.attach(self.home(), test_card)

    @rule(target=customers)
    def another_customer(self) -> str:
        return self.new_customer()

    @rule(target=cards, customer=customers, test_card=st.sampled_from(CARDS.cards[:4]))
    def attach(self, customer: str, test_card: Any) -> str:
        step = self.session.send("POST", f"{_CUSTOMERS}/{customer}/sources", {"source": test_card.token})
        body = self.expect_ok(step, f"attaching {test_card.token}", self.model.expected_card(customer, test_card))
        return self.attached(customer, test_card, body)

    def attached(self, customer: str, test_card: Any, body: dict[str, Any]) -> str:
        """A card the target attached: the model holds it (its fingerprint judged against the same number's, once
        a fingerprint of that number is known: the card object's ``fingerprint`` is nullable). Another object
        answered is a stand-in (:meth:`stand_in`)."""
        if not _is_card(body):
            return self.stand_in(customer, test_card, body)
        fingerprint = body.get("fingerprint")
        known = self.model.fingerprints.get(test_card.number)
        if known is not None and fingerprint != known:
            self.fail("card.fingerprint", f"attaching {test_card.token} again: fingerprint {fingerprint}, the same "
                      f"card number had {known}", 200, {**body, "fingerprint": known})
        if known is None:
            known = self.model.fingerprints[test_card.number] = fingerprint
        card = Card(str(body.get("id")), customer, test_card.number, copy.deepcopy(body))
        card.body["fingerprint"] = known
        self.model.attach(customer, card)
        return card.id

    def stand_in(self, customer: str, test_card: Any, body: dict[str, Any]) -> str:
        """An attach answered with another object (stripe-mock answers an ``account``): ``object``, told once per
        run; then the exploring goes on, the answer's id the card's handle and the test card's values the model's,
        so the rules that need no stored card (a refused update, an error's shape, a status) still judge what
        follows. The cassette names the handle as a card id of its own (the attach recorded as the card it
        should have been), so it passes on a faithful target."""
        handle = body.get("id")
        expected = {**self.model.expected_card(customer, test_card), "id": stand_in_id(len(self.model.cards) + 1)}
        self.fail("object", f"attaching {test_card.token}: answers {_what(body)}, not a card", 200, expected)
        if not isinstance(handle, str) or not handle or handle in self.model.cards:
            self.end()  # nothing to hold it by (no id, or one it answered already)
        assert isinstance(handle, str)
        self.session.steps[-1].alias = (handle, expected["id"])
        card = Card(handle, customer, test_card.number, {**expected, "id": handle}, stand_in=True)
        self.model.attach(customer, card)
        return handle

    def unjudged(self, expected: dict[str, Any]) -> None:
        """The last answer depends on what the target kept of a stand-in, so no rule judges it: its cassette
        records what the rules expect of a faithful target (``expected``), which the target did not break."""
        step = self.session.steps[-1]
        if step.expected_status is None:
            step.expected_status, step.expected_body = 200, expected

    def unknown_handle(self, step: Step, card: Card | None = None, customer: str = "") -> None:
        """A request on a stand-in (``card``, or a page of a ``customer`` holding one) answered 404: the target
        does not know the id it answered, so nothing further can be followed (nothing judged: the sequence
        ends)."""
        if step.status == 404 and ((card is not None and card.stand_in) or customer in self.model.vague):
            self.end()

    @initialize(odds=st.integers(0, PAGE_ODDS - 1))
    def full_page(self, odds: int) -> None:
        """A customer of its own with one card more than its expanded ``sources`` shows (10): ``has_more`` true
        there, which one attach a step would rarely reach. Only ``has_more`` is judged on that customer (it is in
        no bundle): its default, order and cards are what shorter sequences show in fewer steps. Its 12 requests
        (the fewest that can show it: each request makes at most one card, and only an answer after the 11th
        shows the expanded sources: the customer created with its first card as ``source``, 10 attaches, the
        customer retrieved) are sent in one sequence of a few (``odds``: the shrinker draws 0, so a shrunk
        sequence leaves them out wherever it can)."""
        if odds != PAGE_ODDS - 1:
            return
        customer = self.new_customer(CARDS.cards[0])
        self.apart += 1
        for number in range(len(self.model.order[customer]), PAGE + 1):
            self.attach(customer, CARDS.cards[number % 4])
        step = self.session.send("GET", f"{_CUSTOMERS}/{customer}", query={"expand": ["sources"]})
        ids, more = self.model.page(customer, PAGE, None, None)
        expected = {**expected_customer(customer, self.model.defaults[customer]),
                    "sources": self.model.listed(ids, more, f"{_CUSTOMERS}/{customer}/sources")}
        body = self.expect_ok(step, "retrieving the customer", expected)
        sources = body.get("sources")
        shown = sources.get("has_more") if isinstance(sources, dict) else None
        if customer in self.model.vague:
            self.unjudged(expected)
        elif shown is not more:
            self.fail("invariant.list", f"the customer's expanded sources with {PAGE + 1} cards: has_more "
                      f"{value_text(shown)}, but more cards follow", 200, expected, key=_HAS_MORE)

    @precondition(lambda self: self.reachable("POST", "/:card"))
    @rule(card=cards, change=st.sampled_from(ATTRIBUTE_UPDATES), spelling=st.sampled_from(("sources", "cards")))
    def update_attributes(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        self.update(card, change, spelling)

    @precondition(lambda self: self.reachable("POST", "/:card"))
    @rule(card=cards, change=st.sampled_from(METADATA_UPDATES), spelling=st.sampled_from(("sources", "cards")))
    def update_metadata(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        self.update(card, change, spelling)

    @precondition(lambda self: self.reachable("POST", "/:card"))
    @rule(card=cards, change=st.sampled_from(REFUSED_UPDATES), spelling=st.sampled_from(("sources", "cards")))
    def update_refused(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        self.update(card, change, spelling)

    def update(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        held = self.model.cards[card]
        what, form, refusing = change
        spelling = self.spelled("POST", spelling, "/:card")
        if not spelling:
            return
        step = self.session.send("POST", f"{_CUSTOMERS}/{held.customer}/{spelling}/{card}", form)
        self.unknown_handle(step, held)
        if held.deleted:
            self.expect_error(step, "card.deleted_unchangeable", 404, "resource_missing", missing(card),
                              f"updating deleted card ({what})")
            return
        if refusing == "request.invalid_expiry":
            self.expect_error(step, refusing, 402, "invalid_expiry_month",
                              refused("invalid_expiry_month", "exp_month", "card_error"), f"updating with {what}")
            return
        if refusing is not None:
            param = next(iter(form))
            self.expect_error(step, refusing, 400, "parameter_unknown", refused("parameter_unknown", param),
                              f"updating with {what}")
            return
        self.expect_ok(step, f"updating ({what})", self.model.updated(held, form))
        self.model.update(held, form)
        self.judge_card(step, held, f"the update ({what})")

    @precondition(lambda self: self.reachable("GET", "/:card"))
    @rule(card=cards, spelling=st.sampled_from(("sources", "cards")), expand=st.booleans())
    def retrieve(self, card: str, spelling: str, expand: bool) -> None:
        held = self.model.cards[card]
        spelling = self.spelled("GET", spelling, "/:card")
        if not spelling:
            return
        step = self.session.send("GET", f"{_CUSTOMERS}/{held.customer}/{spelling}/{card}",
                                 query={"expand": ["customer"]} if expand else None)
        self.unknown_handle(step, held)
        if held.deleted:
            self.expect_error(step, "invariant.deleted_card", 404, "resource_missing", missing(card),
                              "retrieving a deleted card")
            return
        self.expect_ok(step, "retrieving a card", held.body)
        self.judge_card(step, held, "retrieving it")

    @precondition(lambda self: len(self.model.order) - self.apart > 1 and self.reachable("GET", "/:card"))
    @rule(card=cards, other=customers)
    def retrieve_elsewhere(self, card: str, other: str) -> None:
        held = self.model.cards[card]
        if other == held.customer or held.stand_in:  # whose a stand-in is depends on what the target kept
            return
        step = self.session.send("GET", f"{_CUSTOMERS}/{other}/{self.spelled('GET', 'cards', '/:card')}/{card}")
        self.expect_error(step, "card.other_customer", 404, "resource_missing", missing(card),
                          "retrieving a card through another customer")

    @precondition(lambda self: self.reachable("GET", ""))
    @rule(customer=customers, spelling=st.sampled_from(("cards", "sources")), limit=st.sampled_from(_LIMITS),
          cursor=st.sampled_from(("", "starting_after", "ending_before")), data=st.data())
    def list_cards(self, customer: str, spelling: str, limit: int | None, cursor: str, data: st.DataObject) -> None:
        live = self.model.order[customer]
        spelling = self.spelled("GET", spelling, "")
        query: dict[str, Any] = {} if limit is None else {"limit": str(limit)}
        if spelling == "sources":
            query["object"] = "card"
        around = data.draw(st.sampled_from(live)) if cursor and live else None
        if around is not None:
            query[cursor] = around
        url = f"{_CUSTOMERS}/{customer}/{spelling}"
        step = self.session.send("GET", url, query=query)
        if around is not None:
            self.unknown_handle(step, customer=customer)
        if limit is not None and not 1 <= limit <= 100:
            self.limit_refused_outright(step, url, query)
            self.expect_error(step, "invariant.list", 400, "parameter_invalid_integer",
                              refused("parameter_invalid_integer", "limit"), f"limit={limit}")
            return
        after = around if cursor == "starting_after" else None
        before = around if cursor == "ending_before" else None
        ids, more = self.model.page(customer, limit or PAGE, after, before)
        body = self.expect_ok(step, f"listing {url}", self.model.listed(ids, more, url))
        self.judge_page(body, customer, ids, more, f"GET {url} {query or ''}".rstrip(), url)

    def limit_refused_outright(self, step: Step, url: str, query: dict[str, Any]) -> None:
        """A ``limit`` out of bounds refused otherwise than documented (no code) by a target that refuses ``limit``
        in bounds too (localstripe on ``/sources``): one problem, the route's ``status``, which a page asked in
        bounds tells; not also ``invariant.list`` here. The same page asked with ``limit=10`` tells (a request
        beside the sequence); refused too, this step is not judged and the sequence ends."""
        if step.status < 300 or (_code(step) and _code(step, "type") == "invalid_request_error"):
            return
        control = self.session.aside("GET", url, query={**query, "limit": str(PAGE)})
        if control.status >= 300:
            self.session.hold()  # --reference: its differences from the reference are that same problem
            self.end()

    def judge_page(self, body: dict[str, Any], customer: str, ids: list[str], more: bool, what: str, url: str,
                   answer: Callable[[dict[str, Any]], dict[str, Any]] = lambda page: page) -> None:
        """A page: no deleted card, the cards of the page in creation order, newest first, and ``has_more`` exactly
        when more follow — judged whatever the order (a wrong order is not a wrong ``has_more``). ``answer``: the
        whole answer expected around the page (a customer's expanded ``sources``). A page of a customer holding a
        stand-in is not judged."""
        data = body.get("data")
        got = [item.get("id") for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        expected = answer({**body, "data": [self.model.cards[i].body for i in ids], "has_more": more})
        if customer in self.model.vague:
            return self.unjudged(expected)
        gone = [i for i in got if i in self.model.cards and self.model.cards[i].deleted]
        if gone:  # one problem, one rule: once known, not told again as the page's contents
            return self.fail("card.deleted_gone", f"{what}: lists deleted card {', '.join(gone)}", 200, expected)
        wrong_more = body.get("has_more") is not more
        told_more = (f"has_more {value_text(body.get('has_more'))}, but {'more' if more else 'no more'} cards "
                     "follow")
        if sorted(map(str, got)) == sorted(ids) and got != ids:
            self.fail("list.order", f"{what}: {got}, where creation order, newest first, is {ids}", 200, expected)
        elif got != ids:
            holds = (f"holds {got}, where the page is {ids}" if max(len(got), len(ids)) <= 4 else
                     f"holds {len(got)} cards, where the page holds {len(ids)}")
            self.fail("invariant.list", f"{what}: {holds}" + (f"; {told_more}" if wrong_more else ""), 200, expected)
        if wrong_more:  # known apart: a wrong page hides no wrong has_more
            self.fail("invariant.list", f"{what}: {told_more}", 200, expected, key=_HAS_MORE)
        for item in data if isinstance(data, list) else []:
            self.judge_listed(item, what, expected)

    def judge_listed(self, item: Any, what: str, expected: dict[str, Any]) -> None:
        """A card of a page shows its attributes and metadata as the updates set them (``card.attributes``: wherever
        it is read), the keys the model knows of it (a card made with its customer is known by its test card's)."""
        card = self.model.cards.get(str(item.get("id"))) if isinstance(item, dict) else None
        if card is None or card.deleted or card.stand_in:
            return
        wrong = _differs(item, card, tuple(key for key in _ATTRIBUTES if key in card.body))
        wrong = self.judge_types(item, wrong, f"{what}: {card.id}'s", expected)
        if wrong:
            self.fail("card.attributes", f"{what}: {card.id}'s " + ", ".join(
                f"{k} is {_typed(item.get(k))} where the last update set {_typed(card.body.get(k))}"
                for k in wrong), 200, expected)
        if "metadata" in card.body and _differs(item, card, ("metadata",)):
            self.fail("card.metadata", f"{what}: {card.id}'s metadata {item.get('metadata')} where the updates made "
                      f"{card.body.get('metadata')}", 200, expected)

    @rule(customer=customers, expand=st.booleans())
    def retrieve_customer(self, customer: str, expand: bool) -> None:
        step = self.session.send("GET", f"{_CUSTOMERS}/{customer}",
                                 query={"expand": ["sources"]} if expand else None)
        wanted = self.model.defaults[customer]
        body = self.expect_ok(step, "retrieving the customer", expected_customer(customer, wanted))
        default = body.get("default_source")
        whole = {**body, "default_source": wanted}
        stand_in = wanted is not None and self.model.cards[wanted].stand_in
        if (customer in self.model.vague and customer in self.model.moved) or (stand_in and default is not None):
            self.unjudged(whole)  # which source is the default depends on what it kept of the objects it answered
        elif default != wanted:
            self.fail("invariant.default_source", f"default_source {default}, where the documented rules make it "
                      f"{wanted}" + (" (the object its attach answered)" if stand_in else ""), 200, whole)
        if expand and isinstance(body.get("sources"), dict):
            ids, more = self.model.page(customer, PAGE, None, None)
            self.judge_page(body["sources"], customer, ids, more, "the customer's expanded sources",
                            f"{_CUSTOMERS}/{customer}", lambda page: {**whole, "sources": page})

    # -- retries (issue 39): judged by the idempotency rules, the state read back ------------------------
    def judge_retry(self, step: Step, expected_status: int, expected_body: Any) -> None:
        """The retry rules on this answer: a failure breaks its rule (``expected_*`` the answer the rules
        expect), a warning (``Idempotent-Replayed``, ``Request-Id``) is listed, never a failure."""
        assert isinstance(self.retries, IdempotencyState)
        exchange = RetryExchange(len(self.session.steps), step.method, step.path.split("?")[0], step.key,
                                 repr(step.form).encode(), step.status, step.body, httpx.Headers(step.headers),
                                 httpx.Headers({RETRY_HEADERS.request_id: ""}))
        for finding in IDEMPOTENCY.check(exchange, self.retries, RETRY_HEADERS):
            if finding.is_failure:
                self.fail(finding.rule, f"{step.method} {step.path}: {finding.message}", expected_status,
                          expected_body)
            else:
                self.session.notice(finding.rule, f"{step.method} {step.path}: {finding.message}")

    def read_back(self, customer: str, rule: str, what: str) -> None:
        """The customer's cards as the model holds them: a card no answer named, or one listed twice, is one a
        retry made again (localstripe re-attaches the token: the same card twice). Asked as plainly as a page
        allows (localstripe refuses ``limit``), ``limit=100`` only where a default page could not show a card
        made again. Once ``rule`` is known the sequence ends: a faithful target holds no such card for later steps
        to show."""
        spelling = self.spelled("GET", "cards", "")
        url = f"{_CUSTOMERS}/{customer}/{spelling}"
        ids, _ = self.model.page(customer, 100, None, None)
        query = {**({"limit": "100"} if len(ids) + 2 > PAGE else {}), **({"object": "card"} if spelling == "sources"
                                                                          else {})}
        step = self.session.send("GET", url, query=query or None)
        body = self.expect_ok(step, f"reading {what} back", self.model.listed(ids, False, url))
        if customer in self.model.vague:  # which cards it lists depends on what it kept of objects it never made
            return
        data = body.get("data")
        listed = [item.get("id") for item in (data if isinstance(data, list) else []) if isinstance(item, dict)]
        extra = [str(i) for i in dict.fromkeys(listed) if i not in self.model.cards]
        twice = [f"{i} {listed.count(i)} times" for i in dict.fromkeys(listed) if i in self.model.cards
                 and listed.count(i) > 1]
        if extra or twice:
            said = "; ".join([*([f"{', '.join(extra)}, which no answer named (a second object made)"] if extra else
                                []), *([f"{', '.join(twice)} (the same card attached again)"] if twice else [])])
            self.fail(rule, f"{what}: the customer's cards hold {said}", 200, self.model.listed(ids, False, url))
            self.end()
        for item in data if isinstance(data, list) else []:
            self.judge_listed(item, f"reading {what} back", self.model.listed(ids, False, url))

    @precondition(lambda self: self.reachable("GET", ""))
    @rule(target=cards, customer=customers, test_card=st.sampled_from(CARDS.cards[:4]))
    def retried_attach(self, customer: str, test_card: Any) -> str:
        """An attach sent twice with one idempotency key (the answer lost, the SDK retrying): the first answer
        again, and no second card. (A card's bundle: the shrinker then prefers the plain attach, as Hypothesis
        orders rules by target, then arguments, then name.)"""
        key, url, form = _key(), f"{_CUSTOMERS}/{customer}/sources", {"source": test_card.token}
        first = self.session.send("POST", url, form, key=key)
        body = self.expect_ok(first, f"attaching {test_card.token}", self.model.expected_card(customer, test_card))
        self.judge_retry(first, 200, body)
        card = self.attached(customer, test_card, body)
        again = self.session.send("POST", url, form, key=key)
        recorded = first.expected_body if first.expected_status is not None else first.body  # a stand-in: a card
        self.judge_retry(again, first.status, recorded)
        self.read_back(customer, "idempotency.replay", "the retried attach")
        return card

    @rule(target=cards, customer=customers, test_card=st.sampled_from(CARDS.cards[:4]),
          other=st.sampled_from(CARDS.cards[:4]))
    def reused_key(self, customer: str, test_card: Any, other: Any) -> str:
        """A key reused for another attach: refused with an ``idempotency_error`` (the answer says whether it
        attached: no read-back, which kept shrunk sequences past 8 requests)."""
        assume(other.token != test_card.token)
        key, url = _key(), f"{_CUSTOMERS}/{customer}/sources"
        first = self.session.send("POST", url, {"source": test_card.token}, key=key)
        body = self.expect_ok(first, f"attaching {test_card.token}", self.model.expected_card(customer, test_card))
        self.judge_retry(first, 200, body)
        card = self.attached(customer, test_card, body)
        step = self.session.send("POST", url, {"source": other.token}, key=key)
        self.judge_retry(step, 400, IDEMPOTENCY_ERROR)
        if step.status < 300:  # executed (idempotency.mismatch, known): a faithful target holds no such card, so
            self.end()  # nothing later may depend on it (a cassette shrunk through it would fail on this first)
        return card

    @precondition(lambda self: self.reachable("POST", "/:card"))
    @rule(card=cards, change=st.sampled_from(ATTRIBUTE_UPDATES))
    def retry_after_invalid(self, card: str, change: tuple[str, dict[str, Any], str | None]) -> None:
        """An update refused by validation, then corrected under the same key: executed (a validation error is
        not saved)."""
        held = self.model.cards[card]
        key, url = _key(), f"{_CUSTOMERS}/{held.customer}/{self.spelled('POST', 'cards', '/:card')}/{card}"
        refused_step = self.session.send("POST", url, {"colour": "blue"}, key=key)
        self.unknown_handle(refused_step, held)
        self.expect_error(refused_step, "request.unknown_parameter", 400, "parameter_unknown",
                          refused("parameter_unknown", "colour"), "updating with an unknown parameter")
        self.judge_retry(refused_step, refused_step.status, refused_step.body)
        what, form, _ = change
        step = self.session.send("POST", url, form, key=key)
        self.unknown_handle(step, held)
        expected = self.model.updated(held, form)
        if step.status != 200 and _code(step, "type") != "idempotency_error":
            self.control(step, url, form, expected, f"the corrected retry ({what})")
        self.judge_retry(step, 200, expected)
        self.expect_ok(step, f"the corrected retry ({what})", expected)
        self.model.update(held, form)
        self.judge_card(step, held, f"the corrected retry ({what})")

    def control(self, step: Step, url: str, form: dict[str, Any], expected: dict[str, Any], what: str) -> None:
        """A corrected retry that failed otherwise than with an ``idempotency_error``: was it the key, or the
        request? The same request under a fresh key tells. Executed: the key made the difference
        (``idempotency.validation``, judged at the retry). Failing too: the rule is not judged, and what failed
        is the request's own problem (a route the target lacks, a status), said at the retry. Either way the
        sequence ends (the control changed the card, or nothing can be followed)."""
        control = self.session.aside("POST", url, form, key=_key())  # the cassette ends at the retry
        if control.status == 200:
            self.judge_retry(step, 200, expected)
            first = self.session.steps[-2]
            self.fail("idempotency.validation", f"{step.method} {step.path}: interaction #{len(self.session.steps) - 1}"
                      f" was refused ({first.status}) under the same idempotency key; this corrected retry was "
                      f"answered {step.status}, while the same request under a fresh key was executed (200)",
                      200, expected)
        else:
            self.missing_route(step, 200, expected)
            self.fail("status", f"{what}: expected 200, got {step.status} (and {control.status} under a fresh "
                      "key: the request itself fails, not its key)", 200, expected,
                      key=f"status {route_of(step.method, step.path)}")
        self.end()

    @precondition(lambda self: self.reachable("DELETE", "/:card"))
    @rule(target=deleted, card=consumes(cards), spelling=st.sampled_from(("sources", "cards")))
    def delete(self, card: str, spelling: str) -> str:
        """Delete a live card: it moves to ``deleted``, so the live operations keep acting on live cards."""
        self.delete_card(card, spelling)
        return card

    @rule(card=deleted, action=st.sampled_from(("retrieve", "update", "delete")),
          spelling=st.sampled_from(("sources", "cards")))
    def touch_deleted(self, card: str, action: str, spelling: str) -> None:
        """Retrieve, update or delete again a deleted card: 404 ``resource_missing`` each time (a stand-in's:
        not judged, as the target kept nothing of it to delete)."""
        if self.model.cards[card].stand_in:
            return
        if action == "retrieve":
            self.retrieve(card, spelling, False)
        elif action == "update":
            self.update(card, ATTRIBUTE_UPDATES[0], spelling)
        else:
            self.delete_card(card, spelling)

    def delete_card(self, card: str, spelling: str) -> None:
        held = self.model.cards[card]
        spelling = self.spelled("DELETE", spelling, "/:card")
        if not spelling:
            return
        step = self.session.send("DELETE", f"{_CUSTOMERS}/{held.customer}/{spelling}/{card}")
        self.unknown_handle(step, held)
        if held.deleted:
            self.expect_error(step, "card.deleted_unchangeable", 404, "resource_missing", missing(card),
                              "deleting a deleted card")
            return
        body = self.expect_ok(step, "deleting a card", {"id": card, "object": "card", "deleted": True})
        if body.get("deleted") is not True or body.get("id") != card:
            said = _what(body) if body.get("object") != "card" else snippet(value_text(relied_on(body)), 120)
            self.fail("invariant.deleted", f"deleting {card} answered {said}, not the deleted card", 200,
                      {"id": card, "object": "card", "deleted": True})
        was_default = self.model.defaults[held.customer] == card
        self.model.delete(held)
        if was_default:  # the documented move of the default is judged where it happens
            self.retrieve_customer(held.customer, False)


class CardMachines:
    """The card operations as the engine asks for them."""

    def machine(self, recorder: Recorder) -> type[RuleBasedStateMachine]:
        return type("CardSequences", (_CardMachine,), {"recorder": recorder})

    def recorded(self, body: Any, path: str) -> Any:
        """What a failing sequence's cassette records of an answer to ``path`` (with its query): what the model
        relied on (:func:`relied_on`), so it passes on a faithful target whatever else the explored one answered.
        A customer's ``sources`` only where the request expanded them (localstripe answers them always)."""
        kept = relied_on(body)
        query = unquote(path.partition("?")[2])
        if isinstance(kept, dict) and kept.get("object") == "customer" and not re.search(r"expand\[\d*\]=sources",
                                                                                         query):
            kept.pop("sources", None)
        return kept

    def route(self, method: str, path: str) -> str:
        return route_of(method, path)

    def preflight(self, session: Session) -> None:
        """A customer made is there when asked for again: else the target cannot be explored."""
        made = session.send("POST", _CUSTOMERS, {"description": "explore preflight"})
        if made.status == 401:
            raise ExploreInputError("the target refuses the API key (401): give one it accepts with --api-key")
        customer = made.body.get("id") if made.status == 200 and isinstance(made.body, dict) else None
        if not isinstance(customer, str):
            raise ExploreInputError(f"the target cannot be explored: POST /v1/customers answered {made.status}, "
                                    "not a customer")
        again = session.send("GET", f"{_CUSTOMERS}/{customer}")
        if again.status != 200 or not isinstance(again.body, dict) or again.body.get("id") != customer:
            raise ExploreInputError(f"the target is not stateful enough to explore: the customer it just created "
                                    f"({customer}) answered {again.status} when asked for again")


CARD_MACHINES = CardMachines()
