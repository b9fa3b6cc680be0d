"""The cards of an answer are walked anew whenever the answer may have changed: a walk is kept only in the rule
set's state, from the card rules' check to a later check of the same judgement, never across judgements or
for a caller that passes no state."""

from __future__ import annotations

import copy
from typing import Any

from conformance.stripe import STRIPE
from conformance.stripe.invariants import InvariantState, cards_in, check_cards
from conformance.stripe.rules import CARD_RULES

CARD: dict[str, Any] = {
    "id": "card_Listed000000001", "object": "card", "address_city": None, "address_country": None,
    "address_line1": None, "address_line1_check": None, "address_line2": None, "address_state": None,
    "address_zip": None, "address_zip_check": None, "brand": "Visa", "country": "US", "customer": "cus_Owner00000001",
    "cvc_check": None, "dynamic_last4": None, "exp_month": 12, "exp_year": 2030, "fingerprint": "Xt5EWLLDS7FJjR1c",
    "funding": "credit", "last4": "4242", "metadata": {}, "name": None, "tokenization_method": None, "wallet": None,
}
LIST = "/v1/customers/cus_Owner00000001/sources"


def page(*cards: dict[str, Any]) -> dict[str, Any]:
    return {"object": "list", "url": LIST, "has_more": False, "data": list(cards)}


def judged(method: str, path: str, body: Any, state: InvariantState) -> set[tuple[str, str]]:
    route = STRIPE.routes.match(method, path)
    judgement = CARD_RULES.judge(route, method, path, {}, 200, body, state)
    return {(finding.rule, finding.path) for finding in judgement.findings}


def test_a_changed_answer_walked_again_without_a_state_shows_its_new_cards():
    answer = page(copy.deepcopy(CARD))
    assert [parts for _, parts in cards_in(answer, [])] == [["data", 0]]
    answer["data"].append(dict(CARD, id="card_Listed000000002"))
    assert [parts for _, parts in cards_in(answer, [])] == [["data", 0], ["data", 1]]
    answer["data"][0]["object"] = "bank_account"
    assert [parts for _, parts in cards_in(answer, [])] == [["data", 1]]


def test_an_answer_judged_again_after_it_changed_is_judged_by_its_new_cards():
    """A delete's answer is walked by the exp_year rule alone (the card rules judge it as a delete): the module
    kept that walk, and the same object judged again as the card retrieved, changed, was read from it — the
    card's two-digit year was found, its missing brand went unseen."""
    state = CARD_RULES.new_state()
    card = f"{LIST}/card_Listed000000001"
    answer: dict[str, Any] = {"id": "card_Deleted00000001", "object": "card", "deleted": True}
    assert judged("DELETE", f"{LIST}/card_Deleted00000001", answer, state) == set()
    answer.clear()
    answer.update({key: value for key, value in CARD.items() if key != "brand"}, exp_year=30)
    assert judged("GET", card, answer, state) == {("card.exp_year", "exp_year"), ("invariant.card", "brand")}
    answer.update(brand="Visa", exp_year=2030, funding=7)
    assert judged("GET", card, answer, state) == {("invariant.card", "funding")}


def test_a_later_check_of_the_same_judgement_takes_the_card_rules_walk_once():
    """The card rules walk the answer; a check after them with the state takes those cards instead of walking
    again — once, and only for that very answer."""
    state = CARD_RULES.new_state()
    assert isinstance(state, InvariantState)
    answer = page(copy.deepcopy(CARD))
    check_cards(STRIPE.routes.match("GET", LIST), "GET", LIST, {}, 200, answer, state)
    assert state.walked is not None
    kept = state.walked[1]
    assert cards_in(answer, [], state=state) is kept  # taken, not walked
    again = cards_in(answer, [], state=state)
    assert again == kept and again is not kept  # once: then walked
    check_cards(STRIPE.routes.match("GET", LIST), "GET", LIST, {}, 200, answer, state)
    assert cards_in(answer, [], "card_Listed000000001", state=state) == []  # a request for that id: not its card
    check_cards(STRIPE.routes.match("GET", LIST), "GET", LIST, {}, 200, answer, state)
    other = copy.deepcopy(answer)
    assert cards_in(other, [], state=state)[0][0] is other["data"][0]  # another answer: its own cards
    assert state.walked is None
