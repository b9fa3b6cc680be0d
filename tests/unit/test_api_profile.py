"""The API profile: what the engine knows of an API comes from it, and extending it reaches every stage."""

from __future__ import annotations

import pytest

from conformance.api_profile import IdScheme, Route, RouteTable, load_api_profile
from conformance.cassette import Body, Interaction, Request, Response
from conformance.checks import CheckState, CompareRules, Exchange, run_checks
from conformance.errors import ApiProfileError
from conformance.redaction import Redactor
from conformance.replay.binding import IdBindings
from conformance.stripe import STRIPE

from ..profiles.payment_methods import PAYMENT_METHODS

PM_LIST = "/v1/payment_methods"


def test_a_route_names_its_subject_and_a_table_matches_by_method_and_template():
    table = RouteTable([Route("things.update", "POST", "/v1/owners/{owner}/things/{thing}", "update")])
    found = table.match("post", "/v1/owners/o_1/things/t_2/")
    assert found is not None and (found.name, found.subject, found.params) == (
        "things.update", "t_2", {"owner": "o_1", "thing": "t_2"})
    assert table.match("GET", "/v1/owners/o_1/things/t_2") is None
    assert table.endpoint_for("GET", "/v1/owners") == "other"
    wider = table.extended([Route("things.replace", "POST", "/v1/owners/{owner}/things/{thing}")])
    assert [r.name for r in wider] == ["things.replace"]  # the same method and template: replaced, not shadowed


def test_an_id_scheme_knows_its_prefixes_whole_words_only():
    ids = IdScheme(["b", "btok"])
    assert ids.prefix_of("btok_12345678") == "btok" and ids.prefix_of("b_12345678") == "b"
    assert ids.prefix_of("b_1234") is None and ids.prefix_of("xb_12345678") is None
    assert ids.find("a cus_12345678 and b_12345678.") == ["b_12345678"]
    assert IdScheme(()).find("b_12345678") == []  # no profile, no kind
    assert ids.extended(["pm"]).prefix_of("pm_12345678") == "pm"


def test_a_recorded_label_wins_but_other_is_named_by_the_profile():
    assert STRIPE.label("POST", "/v1/payment_methods/pm_1/attach", "") == "other"
    assert PAYMENT_METHODS.label("POST", "/v1/payment_methods/pm_1/attach", "other") == "payment_methods.attach"
    assert PAYMENT_METHODS.label("POST", "/v1/payment_methods/pm_1/attach", "mine.attach") == "mine.attach"


def test_extending_keeps_stripe_and_adds_the_family():
    assert PAYMENT_METHODS.routes.endpoint_for("GET", "/v1/customers/cus_1/cards") == "cards.list"
    assert STRIPE.routes.endpoint_for("GET", PM_LIST) == "other"
    assert PAYMENT_METHODS.focus == ("cards.", "payment_methods.")
    assert "payment_method" in PAYMENT_METHODS.token_parameters and "source" in PAYMENT_METHODS.token_parameters
    assert STRIPE.name == "stripe" and PAYMENT_METHODS.cards is STRIPE.cards


def _list_exchange(body: object) -> Exchange:
    interaction = Interaction(Request("GET", PM_LIST, {"customer": "cus_1", "type": "card"}),
                              Response(200, {}, Body("json", body)))
    return Exchange(interaction, PM_LIST, {"customer": "cus_1", "type": "card"}, 200, body, None, "", body)


def test_the_documented_list_rules_judge_a_family_the_profile_adds():
    wrong = {"object": "list", "url": "/v1/customers/cus_1/payment_methods", "has_more": False, "data": []}
    with_family = run_checks(_list_exchange(wrong), CheckState(PAYMENT_METHODS))
    assert [(f.rule, f.path) for f in with_family] == [("invariant.list", "url")]
    assert run_checks(_list_exchange(wrong), CheckState(STRIPE)) == []  # unknown to Stripe's profile: unjudged


def test_binding_and_comparison_read_ids_by_the_profile():
    bindings = IdBindings(IdScheme(["thing"]))
    bindings.learn({"owner": "thing_RECORDED1"}, {"owner": "thing_ACTUAL001"})
    assert bindings.text("/v1/things/thing_RECORDED1") == "/v1/things/thing_ACTUAL001"
    rules = CompareRules(ids=IdScheme(["thing"]))
    from conformance.checks.compare import compare_bodies

    (finding,) = compare_bodies({"owner": "thing_RECORDED1"}, {"owner": "other_ACTUAL001"}, rules)
    assert finding.rule == "id.prefix"


def test_test_cards_are_named_in_markers_only_with_a_profile():
    assert Redactor(cards=STRIPE.cards).text("4242424242424242") == "[REDACTED:card-number:visa-4242]"
    assert Redactor().text("4242424242424242") == "[REDACTED:card-number]"


@pytest.mark.parametrize(("spec", "said"), [
    ("nosuch", "unknown API profile 'nosuch'"),
    ("tests.profiles.nosuch:P", "cannot import tests.profiles.nosuch"),
    ("tests.profiles.payment_methods:STRIPE", None),
    ("tests.profiles.payment_methods:Route", "has no ApiProfile named Route"),
])
def test_a_profile_is_found_by_name_or_module_attribute(spec, said):
    if said is None:
        assert load_api_profile(spec) is STRIPE
        return
    with pytest.raises(ApiProfileError, match=said):
        load_api_profile(spec)
    assert load_api_profile("stripe") is STRIPE
