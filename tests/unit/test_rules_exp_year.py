"""The proof that a documented rule is one file: a card's exp_year is four digits."""

from __future__ import annotations

from conformance.cassette import Body, Interaction, Request, Response
from conformance.checks import CheckState
from conformance.checks.exchange import Exchange, judge
from conformance.rules import rule
from conformance.stripe import STRIPE

PATH = "/v1/customers/cus_A0000001/sources/card_A0000001"


def _card(exp_year: object) -> dict[str, object]:
    return {"id": "card_A0000001", "object": "card", "brand": "Visa", "exp_month": 8, "exp_year": exp_year,
            "funding": "credit", "last4": "4242", "customer": "cus_A0000001", "metadata": {}}


def _judged(body: object, status: int = 200):
    state = STRIPE.rules.new_state()
    return STRIPE.rules.judge(STRIPE.routes.match("GET", PATH), "GET", PATH, {}, status, body, state)


def test_a_two_digit_exp_year_is_a_finding_of_its_rule():
    judgement = _judged(_card(30))
    found = [f for f in judgement.findings if f.rule == "card.exp_year"]
    assert [(f.path, f.actual) for f in found] == [("exp_year", 30)]
    assert "card.exp_year" in judgement.judged


def test_a_four_digit_exp_year_holds_and_is_judged():
    judgement = _judged(_card(2030))
    assert [f for f in judgement.findings if f.rule == "card.exp_year"] == []
    assert "card.exp_year" in judgement.judged


def test_a_card_in_a_list_is_judged_where_it_is():
    body = {"object": "list", "url": PATH.rsplit("/", 1)[0], "has_more": False, "data": [_card(2030), _card(99)]}
    found = [f for f in _judged(body).findings if f.rule == "card.exp_year"]
    assert [f.path for f in found] == ["data[1].exp_year"]


def test_an_exp_year_of_another_type_is_left_to_the_card_rule():
    judgement = _judged(_card("2030"))
    assert "card.exp_year" not in {f.rule for f in judgement.findings} | judgement.judged
    assert "invariant.card" in {f.rule for f in judgement.findings}


def test_the_replay_s_checks_judge_it_with_the_rest():
    interaction = Interaction(Request("GET", PATH, {}, {}, None), Response(200, {}, Body("json", _card(2030))))
    judgement = judge(Exchange(interaction, PATH, {}, 200, _card(30), None, "", _card(2030)), CheckState(STRIPE))
    assert "card.exp_year" in {f.rule for f in judgement.findings} and "card.exp_year" in judgement.judged
    assert rule("card.exp_year").source.startswith("Stripe API reference, Cards")
