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
from dataclasses import dataclass, field
from typing import Any

from hypothesis import assume
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, initialize, precondition, rule

from conformance.explore.runner import Recorder
from conformance.explore.session import ExploreInputError, Session, Step
from conformance.stripe import sequence_rules  # noqa: F401  (registers the rules)
from conformance.stripe.testcards import CARDS

__all__ = ["CardMachines", "CardModel", "CARD_MACHINES"]

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
    ("read-only fingerprint", {"fingerprint": "0000000000000000"}, "request.read_only"),
    ("read-only cvc_check", {"cvc_check": "fail"}, "request.read_only"),
    ("unknown parameter", {"colour": "blue"}, "request.unknown_parameter"),
)
_ATTRIBUTES = ("name", "address_city", "address_zip", "address_country", "exp_month", "exp_year")
_LIMITS = (None, 1, 2, 3, 10, 0, 101)


def missing(card: str) -> dict[str, Any]:
    """The error the API answers for a card that is not there (404 ``resource_missing``)."""
    return {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                      "message": f"No such source: '{card}'"}}


def refused(code: str, param: str, type_: str = "invalid_request_error") -> dict[str, Any]:
    return {"error": {"type": type_, "code": code, "param": param, "message": f"refused: {param}"}}


def _code(step: Step) -> str | None:
    error = step.body.get("error") if isinstance(step.body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


@dataclass
class Card:
    id: str
    customer: str
    number: str
    body: dict[str, Any]  # the card as the rules say it is now (its last answer, the model's values applied)
    deleted: bool = False


@dataclass
class CardModel:
    """The documented state: each customer's cards in creation order, its default source, each card's values."""

    cards: dict[str, Card] = field(default_factory=dict)
    order: dict[str, list[str]] = field(default_factory=dict)  # customer -> live card ids, oldest first
    defaults: dict[str, str | None] = field(default_factory=dict)
    fingerprints: dict[str, str] = field(default_factory=dict)  # card number -> its fingerprint

    def attach(self, customer: str, card: Card) -> None:
        self.cards[card.id] = card
        self.order[customer].append(card.id)
        if self.defaults[customer] is None:  # the first source attached becomes the default
            self.defaults[customer] = card.id

    def delete(self, card: Card) -> None:
        """A deleted default moves to the most recently added card left, else null (Cards: Delete a card)."""
        card.deleted = True
        cards = self.order[card.customer]
        cards.remove(card.id)
        if self.defaults[card.customer] == card.id:
            self.defaults[card.customer] = cards[-1] if cards else None

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
    if not isinstance(actual, dict):
        return list(keys)
    return [key for key in keys if actual.get(key) != card.body.get(key)]


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

    # -- judging ---------------------------------------------------------------------------------
    def fail(self, rule: str, message: str, status: int | None = None, body: Any = None) -> None:
        if rule in self.recorder.known:
            return
        try:
            self.session.fail(rule, message, status, body)
        except AssertionError as deviation:
            self.recorder.failed(self.session, deviation)  # type: ignore[arg-type]
            raise

    def expect_error(self, step: Step, rule: str, status: int, code: str, body: dict[str, Any], what: str) -> None:
        if step.status != status or _code(step) != code:
            self.fail(rule, f"{what}: expected {status} {code}, got {step.status} {_code(step) or 'without a code'}",
                      status, body)

    def expect_ok(self, step: Step, what: str) -> dict[str, Any]:
        """The answer of a request the rules say succeeds; else the sequence ends (``status``, or discarded
        once that is known)."""
        if step.status != 200 or not isinstance(step.body, dict):
            self.fail("status", f"{what}: expected 200, got {step.status}", 200, step.body)
            assume(False)
        assert isinstance(step.body, dict)
        return step.body

    def judge_card(self, step: Step, card: Card, what: str) -> None:
        """A card answer shows what the model holds: attributes, metadata, fingerprint."""
        actual = step.body
        expected = {**actual, **{k: card.body.get(k) for k in (*_ATTRIBUTES, "metadata", "fingerprint")}}
        if isinstance(actual.get("customer"), dict):
            expected["customer"] = actual["customer"]
        wrong = _differs(actual, card, ("metadata",))
        if wrong:
            self.fail("card.metadata", f"{what}: metadata {actual.get('metadata')} where the updates made "
                      f"{card.body.get('metadata')}", 200, expected)
        wrong = _differs(actual, card, _ATTRIBUTES)
        if wrong:
            self.fail("card.attributes", f"{what}: {', '.join(wrong)} not as the last update set "
                      f"({', '.join(f'{k}={card.body.get(k)!r}' for k in wrong)})", 200, expected)
        if actual.get("fingerprint") != card.body.get("fingerprint"):
            self.fail("card.fingerprint", f"{what}: fingerprint {actual.get('fingerprint')} where the same card "
                      f"number had {card.body.get('fingerprint')}", 200, expected)
        card.body = {**expected, "customer": card.customer}

    # -- operations ------------------------------------------------------------------------------
    def new_customer(self) -> str:
        step = self.session.send("POST", _CUSTOMERS, {"description": "explore"})
        body = self.expect_ok(step, "POST /v1/customers")
        self.model.order[body["id"]] = []
        self.model.defaults[body["id"]] = None
        return str(body["id"])

    @initialize(target=customers)
    def customer(self) -> str:
        return next(iter(self.model.order), None) or self.new_customer()

    @initialize(target=cards, test_card=st.sampled_from(CARDS.cards[:4]))
    def first_card(self, test_card: Any) -> Any:
        """Every sequence starts with a customer and a card of it (any operation has something to act on)."""
        return self.attach(next(iter(self.model.order), None) or self.new_customer(), test_card)

    @rule(target=customers)
    def another_customer(self) -> str:
        return self.new_customer()

    @rule(target=cards, customer=customers, test_card=st.sampled_from(CARDS.cards[:4]))
    def attach(self, customer: str, test_card: Any) -> str:
        step = self.session.send("POST", f"{_CUSTOMERS}/{customer}/sources", {"source": test_card.token})
        body = self.expect_ok(step, f"attaching {test_card.token}")
        card = Card(str(body.get("id")), customer, test_card.number, copy.deepcopy(body))
        known = self.model.fingerprints.setdefault(test_card.number, str(body.get("fingerprint")))
        if body.get("fingerprint") != known:
            self.fail("card.fingerprint", f"attaching {test_card.token} again: fingerprint {body.get('fingerprint')}"
                      f", the same card number had {known}", 200, {**body, "fingerprint": known})
        card.body["fingerprint"] = known
        self.model.attach(customer, card)
        return card.id

    @rule(card=cards, change=st.sampled_from(ATTRIBUTE_UPDATES), spelling=st.sampled_from(("sources", "cards")))
    def update_attributes(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        self.update(card, change, spelling)

    @rule(card=cards, change=st.sampled_from(METADATA_UPDATES), spelling=st.sampled_from(("sources", "cards")))
    def update_metadata(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        self.update(card, change, spelling)

    @rule(card=cards, change=st.sampled_from(REFUSED_UPDATES), spelling=st.sampled_from(("sources", "cards")))
    def update_refused(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        self.update(card, change, spelling)

    def update(self, card: str, change: tuple[str, dict[str, Any], str | None], spelling: str) -> None:
        held = self.model.cards[card]
        what, form, refusing = change
        step = self.session.send("POST", f"{_CUSTOMERS}/{held.customer}/{spelling}/{card}", form)
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
        self.expect_ok(step, f"updating ({what})")
        self.model.update(held, form)
        self.judge_card(step, held, f"the update ({what})")

    @rule(card=cards, spelling=st.sampled_from(("sources", "cards")), expand=st.booleans())
    def retrieve(self, card: str, spelling: str, expand: bool) -> None:
        held = self.model.cards[card]
        step = self.session.send("GET", f"{_CUSTOMERS}/{held.customer}/{spelling}/{card}",
                                 query={"expand": ["customer"]} if expand else None)
        if held.deleted:
            self.expect_error(step, "invariant.deleted_card", 404, "resource_missing", missing(card),
                              "retrieving a deleted card")
            return
        self.expect_ok(step, "retrieving a card")
        self.judge_card(step, held, "retrieving it")

    @precondition(lambda self: len(self.model.order) > 1)
    @rule(card=cards, other=customers)
    def retrieve_elsewhere(self, card: str, other: str) -> None:
        held = self.model.cards[card]
        if other == held.customer:
            return
        step = self.session.send("GET", f"{_CUSTOMERS}/{other}/cards/{card}")
        self.expect_error(step, "card.other_customer", 404, "resource_missing", missing(card),
                          "retrieving a card through another customer")

    @rule(customer=customers, spelling=st.sampled_from(("cards", "sources")), limit=st.sampled_from(_LIMITS),
          cursor=st.sampled_from(("", "starting_after", "ending_before")), data=st.data())
    def list_cards(self, customer: str, spelling: str, limit: int | None, cursor: str, data: st.DataObject) -> None:
        live = self.model.order[customer]
        query: dict[str, Any] = {} if limit is None else {"limit": str(limit)}
        if spelling == "sources":
            query["object"] = "card"
        around = data.draw(st.sampled_from(live)) if cursor and live else None
        if around is not None:
            query[cursor] = around
        url = f"{_CUSTOMERS}/{customer}/{spelling}"
        step = self.session.send("GET", url, query=query)
        if limit is not None and not 1 <= limit <= 100:
            self.expect_error(step, "invariant.list", 400, "parameter_invalid_integer",
                              refused("parameter_invalid_integer", "limit"), f"limit={limit}")
            return
        body = self.expect_ok(step, f"listing {url}")
        after = around if cursor == "starting_after" else None
        before = around if cursor == "ending_before" else None
        ids, more = self.model.page(customer, limit or 10, after, before)
        self.judge_page(body, ids, more, f"GET {url} {query or ''}".rstrip(), url)

    def judge_page(self, body: dict[str, Any], ids: list[str], more: bool, what: str, url: str) -> None:
        data = body.get("data")
        got = [item.get("id") for item in data if isinstance(item, dict)] if isinstance(data, list) else []
        expected = {**body, "data": [self.model.cards[i].body for i in ids], "has_more": more}
        gone = [i for i in got if i in self.model.cards and self.model.cards[i].deleted]
        if gone:  # one problem, one rule: once known, not told again as the page's contents
            return self.fail("card.deleted_gone", f"{what}: lists deleted card {', '.join(gone)}", 200, expected)
        if sorted(map(str, got)) == sorted(ids) and got != ids:
            return self.fail("list.order", f"{what}: {got}, where creation order, newest first, is {ids}", 200,
                             expected)
        if got != ids:
            self.fail("invariant.list", f"{what}: holds {got}, where the page is {ids}", 200, expected)
        if body.get("has_more") is not more:
            self.fail("invariant.list", f"{what}: has_more {body.get('has_more')}, but "
                      f"{'more' if more else 'no more'} cards follow", 200, expected)

    @rule(customer=customers, expand=st.booleans())
    def retrieve_customer(self, customer: str, expand: bool) -> None:
        step = self.session.send("GET", f"{_CUSTOMERS}/{customer}",
                                 query={"expand": ["sources"]} if expand else None)
        body = self.expect_ok(step, "retrieving the customer")
        default = body.get("default_source")
        wanted = self.model.defaults[customer]
        if default != wanted:
            self.fail("invariant.default_source", f"default_source {default}, where the documented rules make it "
                      f"{wanted}", 200, {**body, "default_source": wanted})
        if expand and isinstance(body.get("sources"), dict):
            ids, more = self.model.page(customer, 10, None, None)
            sources = body["sources"]
            try:
                self.judge_page(sources, ids, more, "the customer's expanded sources", f"{_CUSTOMERS}/{customer}")
            except AssertionError:
                step.expected_body = {**body, "sources": step.expected_body}
                raise

    @rule(target=deleted, card=consumes(cards), spelling=st.sampled_from(("sources", "cards")))
    def delete(self, card: str, spelling: str) -> str:
        """Delete a live card: it moves to ``deleted``, so the live operations keep acting on live cards."""
        self.delete_card(card, spelling)
        return card

    @rule(card=deleted, action=st.sampled_from(("retrieve", "update", "delete")),
          spelling=st.sampled_from(("sources", "cards")))
    def touch_deleted(self, card: str, action: str, spelling: str) -> None:
        """Retrieve, update or delete again a deleted card: 404 ``resource_missing`` each time."""
        if action == "retrieve":
            self.retrieve(card, spelling, False)
        elif action == "update":
            self.update(card, ATTRIBUTE_UPDATES[0], spelling)
        else:
            self.delete_card(card, spelling)

    def delete_card(self, card: str, spelling: str) -> None:
        held = self.model.cards[card]
        step = self.session.send("DELETE", f"{_CUSTOMERS}/{held.customer}/{spelling}/{card}")
        if held.deleted:
            self.expect_error(step, "card.deleted_unchangeable", 404, "resource_missing", missing(card),
                              "deleting a deleted card")
            return
        body = self.expect_ok(step, "deleting a card")
        if body.get("deleted") is not True or body.get("id") != card:
            self.fail("invariant.deleted", f"deleting {card} answered {body}", 200,
                      {"id": card, "object": "card", "deleted": True})
        was_default = self.model.defaults[held.customer] == card
        self.model.delete(held)
        if was_default:  # the documented move of the default is judged where it happens
            self.retrieve_customer(held.customer, False)


class CardMachines:
    """The card operations as the engine asks for them."""

    def machine(self, recorder: Recorder) -> type[RuleBasedStateMachine]:
        return type("CardSequences", (_CardMachine,), {"recorder": recorder})

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
