"""Comparison rules, id binding and invariants, on plain data."""

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance.api_profile import RuleState
from conformance.checks.compare import CompareRules, compare_bodies
from conformance.findings import MISSING, Finding
from conformance.replay.binding import IdBindings
from conformance.rules import Severity
from conformance.stripe import STRIPE
from conformance.stripe.invariants import InvariantState

id_prefix = STRIPE.ids.prefix_of


def stripe_rules(**given: object) -> CompareRules:
    """Comparison rules as a replay under Stripe's profile applies them (its ids, its minted values…)."""
    return CompareRules(ids=STRIPE.ids, defaults=STRIPE.comparison, **given)  # type: ignore[arg-type]


def check_response(endpoint: str, method: str, path: str, query: dict, status: int, body: object,
                   state: RuleState) -> list[Finding]:
    """Stripe's documented rules as the engine applies them: to the route the profile matches (``endpoint``)."""
    route = STRIPE.routes.match(method, path)
    assert (route.name if route else "other") == endpoint
    return STRIPE.rules.check(route, method, path, query, status, body, state)

WARNING = Severity.WARNING

CARD = {
    "id": "card_1NBLeN2eZvKYlo2CIg1o7Pzs", "object": "card", "address_city": None, "address_country": None,
    "address_line1": None, "address_line1_check": None, "address_line2": None, "address_state": None,
    "address_zip": None, "address_zip_check": None, "brand": "Visa", "country": "US",
    "customer": "cus_NhD8HD2bY8dP3V", "cvc_check": "pass", "dynamic_last4": None, "exp_month": 8,
    "exp_year": 2024, "fingerprint": "Xt5EWLLDS7FJjR1c", "funding": "credit", "last4": "4242",
    "metadata": {"order_id": "6735"}, "name": "Jenny Rosen", "tokenization_method": None, "wallet": None,
}


def rules_of(findings):
    return sorted((f.rule, f.path) for f in findings)


def changed(**changes):
    card = dict(CARD)
    for key, value in changes.items():
        if value is MISSING:
            card.pop(key)
        else:
            card[key] = value
    return card


def test_minted_values_compare_by_shape_only():
    actual = changed(fingerprint="zzzzzzzzzzzzzzzz", exp_month=4, exp_year=2031)
    assert compare_bodies(CARD, actual, stripe_rules()) == []


def test_expiry_set_by_a_request_is_compared_exactly():
    actual = changed(exp_month=4)
    findings = compare_bodies(CARD, actual, stripe_rules(), set_fields={CARD["id"]: {"exp_month"}})
    assert rules_of(findings) == [("value", "exp_month")]


@pytest.mark.parametrize(
    "change, rule, path",
    [
        ({"address_line2": MISSING}, "keys.missing", "address_line2"),
        ({"address_line2": ""}, "type", "address_line2"),
        ({"exp_year": "2024"}, "type", "exp_year"),
        ({"fingerprint": 12}, "type", "fingerprint"),
        ({"brand": "MasterCard"}, "value", "brand"),
        ({"object": "source"}, "object", "object"),
        ({"customer": "cus_OTHER0000000"}, "id.binding", "customer"),
        ({"customer": "acct_OTHER0000000"}, "id.prefix", "customer"),
        ({"metadata": {"order_id": "6735", "channel": ""}}, "value", "metadata.channel"),
        ({"metadata": {}}, "value", "metadata.order_id"),
    ],
)
def test_each_deviation_names_its_rule_and_path(change, rule, path):
    assert rules_of(compare_bodies(CARD, changed(**change), stripe_rules())) == [(rule, path)]


def test_extra_keys_warn_unless_strict():
    actual = changed(display_brand="visa")
    (finding,) = compare_bodies(CARD, actual, stripe_rules())
    assert (finding.rule, finding.severity) == ("keys.extra", WARNING)
    (strict,) = compare_bodies(CARD, actual, stripe_rules(strict=True))
    assert strict.severity == "failure"


def test_overrides_by_key_and_by_path():
    actual = changed(brand="MasterCard", name="Someone")
    assert rules_of(compare_bodies(CARD, actual, stripe_rules(ignore=("brand", "name")))) == []
    listing = {"object": "list", "data": [CARD, CARD]}
    other = {"object": "list", "data": [changed(name="A"), changed(name="B")]}
    assert rules_of(compare_bodies(listing, other, stripe_rules(ignore=("data[*].name",)))) == []
    assert rules_of(compare_bodies(CARD, changed(created=2), stripe_rules())) == [("keys.extra", "created")]
    recorded = dict(CARD, created=1)
    assert rules_of(compare_bodies(recorded, changed(created=2), stripe_rules())) == []
    assert rules_of(compare_bodies(recorded, changed(created=2), stripe_rules(exact=("created",)))) == [
        ("value", "created")]


def test_list_length_is_one_finding():
    listing = {"object": "list", "data": [CARD, CARD, CARD], "has_more": True}
    shorter = {"object": "list", "data": [CARD], "has_more": True}
    assert rules_of(compare_bodies(listing, shorter, stripe_rules())) == [("list.length", "data")]


def test_errors_compare_type_code_param_and_the_message_loosely():
    recorded = {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                          "message": "No such source: 'card_123'", "request_log_url": "https://x/req_1"}}
    actual = {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                        "message": "Card not found"}}
    assert compare_bodies(recorded, actual, stripe_rules(), is_error=True) == []
    no_code = {"error": {"type": "invalid_request_error", "message": "nope"}}
    assert rules_of(compare_bodies(recorded, no_code, stripe_rules(), is_error=True)) == [
        ("keys.missing", "error.code"), ("keys.missing", "error.param")]
    exact = compare_bodies(recorded, actual, stripe_rules(exact=("error.message",)), is_error=True)
    assert rules_of(exact) == [("value", "error.message")]


def test_bindings_follow_ids_into_paths_urls_and_bodies():
    bindings = IdBindings(STRIPE.ids)
    bindings.learn({"id": "cus_RECORDED01", "sources": {"data": [{"id": "card_RECORDED01"}]}},
                   {"id": "cus_ACTUAL0001", "sources": {"data": [{"id": "card_ACTUAL0001"}]}})
    assert bindings.text("/v1/customers/cus_RECORDED01/cards/card_RECORDED01") == \
        "/v1/customers/cus_ACTUAL0001/cards/card_ACTUAL0001"
    assert bindings.substitute({"starting_after": "card_RECORDED01", "n": 1}) == {"starting_after": "card_ACTUAL0001", "n": 1}
    assert bindings.text("cus_RECORDED0199") == "cus_RECORDED0199"  # a longer id is another id
    bindings.learn({"customer": "cus_NEWRECORDED"}, {"customer": "acct_NOTACUSTOMER"})
    assert "cus_NEWRECORDED" not in bindings.actual  # only ids of one kind bind
    bindings.learn({"id": "card_RECORDED02", "object": "card"}, {"id": "acct_1Nv0FGQ9RKHgCVdK", "object": "account"})
    assert "card_RECORDED02" not in bindings.actual  # not even an object's own id, to another kind
    bindings.learn({"id": "card_RECORDED03"}, {"id": "8c7e3d2a-6f0b-4f55-9d43-0d3c1f2b7a11"})
    assert bindings.actual["card_RECORDED03"] == "8c7e3d2a-6f0b-4f55-9d43-0d3c1f2b7a11"  # the target's own style
    assert id_prefix("resource_missing") is None and id_prefix("card_1NBLeN2e") == "card"


def test_an_id_a_target_mints_with_quotes_or_control_characters_is_never_bound():
    """The substitutions run on JSON text and URLs: such an id stays unbound, so it cannot corrupt either."""
    bindings = IdBindings(STRIPE.ids)
    for odd in ('card_"x', "card_a\x1b[2J", "card_a b", "card_<script>", "card_a/b", "card_a\\"):
        bindings.learn({"id": "card_RECORDED04"}, {"id": odd})
    assert bindings.actual == {}
    bindings.learn({"id": "card_RECORDED04"}, {"id": "card_fine.Ok:1~x-y"})
    assert bindings.substitute({"card": "card_RECORDED04"}) == {"card": "card_fine.Ok:1~x-y"}


def test_invariants_of_delete_list_and_card():
    state = InvariantState()
    path = "/v1/customers/cus_A0000000/sources/card_A0000000"
    assert check_response("cards.delete", "DELETE", path, {}, 200,
                          {"id": "card_A0000000", "object": "card", "deleted": True}, state) == []
    bad = check_response("cards.delete", "DELETE", path, {}, 200,
                         {"id": "card_A0000000", "object": "card", "deleted": "true"}, InvariantState())
    assert rules_of(bad) == [("invariant.deleted", "deleted")]
    gone = check_response("cards.retrieve", "GET", "/v1/customers/cus_A0000000/cards/card_A0000000", {}, 200, CARD, state)
    assert rules_of(gone) == [("invariant.deleted_card", "")]
    listing = {"object": "list", "data": [CARD] * 4, "has_more": "false", "url": "/v1/cards"}
    found = check_response("cards.list", "GET", "/v1/customers/cus_A0000000/cards", {"limit": "3"}, 200, listing,
                           InvariantState())
    assert rules_of(found) == [("invariant.list", "data"), ("invariant.list", "has_more"), ("invariant.list", "url")]
    broken_card = changed(exp_month=13, last4="42", name=MISSING, wallet=MISSING)  # wallet: the examples' only
    found = check_response("cards.retrieve", "GET", "/v1/customers/c/cards/card_X0000000", {}, 200, broken_card,
                           InvariantState())
    assert rules_of(found) == [("invariant.card", "exp_month"), ("invariant.card", "last4"), ("invariant.card", "name")]


def test_paging_consistency():
    state = InvariantState()
    url = "/v1/customers/cus_A0000000/cards"
    first = {"object": "list", "url": url, "has_more": False, "data": [dict(CARD, id="card_P0000001")]}
    assert check_response("cards.list", "GET", url, {"limit": "1"}, 200, first, state) == []
    second = {"object": "list", "url": url, "has_more": False, "data": [dict(CARD, id="card_P0000001")]}
    found = check_response("cards.list", "GET", url, {"limit": "1", "starting_after": "card_P0000001"}, 200, second, state)
    assert rules_of(found) == [("invariant.list", "data"), ("invariant.list", "has_more")]


def test_verification_checks_are_text_or_null_whatever_the_recording_says():
    for actual in (None, "unavailable", "unchecked"):
        assert compare_bodies(CARD, changed(cvc_check=actual, address_zip_check=actual), stripe_rules()) == []
    assert rules_of(compare_bodies(CARD, changed(cvc_check=1), stripe_rules())) == [("type", "cvc_check")]
    assert rules_of(compare_bodies(CARD, changed(cvc_check=None), stripe_rules(exact=("cvc_check",)))) == [
        ("type", "cvc_check")]


def test_loose_accepts_any_non_empty_text_where_public_sources_disagree():
    recorded = {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                          "message": "No such source: 'card_1'"}}
    said = {"error": {**recorded["error"], "param": "card",
                      "message": "Customer cus_1 does not have card with ID card_1"}}
    assert [f.path for f in compare_bodies(recorded, said, stripe_rules(), is_error=True)] == ["error.param"]
    loose = stripe_rules(loose=("error.param",))
    assert compare_bodies(recorded, said, loose, is_error=True) == []
    unsaid = {"error": {**recorded["error"], "param": ""}}
    assert [f.path for f in compare_bodies(recorded, unsaid, loose, is_error=True)] == ["error.param"]
    assert stripe_rules().with_overrides(loose=["error.param"]).loose == ("error.param",)


def test_nullable_takes_null_on_either_side_and_compares_two_values():
    """A customer's preferred_locales: [] in Stripe's fixture, nullable by the OpenAPI description."""
    recorded = {"object": "customer", "preferred_locales": [], "currency": None}
    nulls = {"object": "customer", "preferred_locales": None, "currency": "usd"}
    plain = CompareRules(ids=STRIPE.ids)  # no profile's defaults: compared exactly
    assert sorted(f.path for f in compare_bodies(recorded, nulls, plain)) == ["currency", "preferred_locales"]
    nullable = plain.with_overrides(nullable=("preferred_locales", "currency"))
    assert compare_bodies(recorded, nulls, nullable) == []
    other = {"object": "customer", "preferred_locales": ["fr"], "currency": None}
    assert [f.path for f in compare_bodies(recorded, other, nullable)] == ["preferred_locales"]


def test_what_public_sources_disagree_on_is_compared_by_the_profile_as_the_suite_compares_it():
    """Stripe's profile says it once (currency and preferred_locales nullable, wallet not compared), so a cassette
    without a `compare:` header, and explore's comparison with a reference, judge them as the suite's cassettes do."""
    customer = {"id": "cus_NhD8HD2bY8dP3V", "object": "customer", "preferred_locales": [], "currency": None}
    other = {**customer, "preferred_locales": None, "currency": "usd"}
    assert compare_bodies(customer, other, stripe_rules()) == []
    assert rules_of(compare_bodies(customer, {**customer, "preferred_locales": ["fr"]}, stripe_rules())) == [
        ("list.length", "preferred_locales")]  # two values: compared
    usd = {**customer, "currency": "usd"}  # what sources disagree on is null or not: two currencies are compared
    assert rules_of(compare_bodies(usd, {**customer, "currency": "eur"}, stripe_rules())) == [("value", "currency")]
    assert compare_bodies(usd, {**customer, "currency": "eur"}, stripe_rules(nullable=("currency",))) == []
    assert compare_bodies(CARD, changed(wallet={"type": "apple_pay"}), stripe_rules()) == []
    assert compare_bodies(changed(wallet=MISSING), CARD, stripe_rules()) == []  # not even an extra key
    assert compare_bodies(CARD, changed(wallet=MISSING), stripe_rules()) == []
    listing = {"object": "list", "data": [CARD], "has_more": False, "url": "/v1/customers/cus_NhD8HD2bY8dP3V/cards"}
    walleted = {**listing, "data": [changed(wallet={"type": "apple_pay"})]}
    assert compare_bodies(listing, walleted, stripe_rules()) == []  # at any depth


def test_a_rule_of_the_run_or_the_cassette_overrides_the_profiles_default():
    customer = {"id": "cus_NhD8HD2bY8dP3V", "object": "customer", "currency": None}
    exact = stripe_rules().with_overrides(exact=["currency"])
    assert rules_of(compare_bodies(customer, {**customer, "currency": "usd"}, exact)) == [("type", "currency")]
    assert rules_of(compare_bodies(CARD, changed(wallet="apple_pay"), stripe_rules(exact=("wallet",)))) == [
        ("type", "wallet")]
    assert rules_of(compare_bodies(CARD, changed(wallet="apple_pay"), stripe_rules(exact=("data[*].wallet",)))) == []


def test_the_profiles_ignored_keys_silence_comparisons_not_documented_rules():
    assert not stripe_rules().ignores("invariant.card", "wallet")
    assert stripe_rules(ignore=("wallet",)).ignores("invariant.card", "wallet")


def test_a_code_one_source_chose_is_compared_by_presence_and_a_documented_one_exactly():
    """The API reference documents limit 1-100, not the code a refused bound answers: the test fake's
    parameter_invalid_integer is compared by presence; resource_missing, which the reference names, exactly."""
    bound = {"error": {"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "limit",
                       "message": "This value must be between 1 and 100 (limit)."}}
    other = {"error": {**bound["error"], "code": "parameter_invalid"}}
    assert compare_bodies(bound, other, stripe_rules(), is_error=True) == []
    assert rules_of(compare_bodies(bound, other, CompareRules(ids=STRIPE.ids), is_error=True)) == [
        ("value", "error.code")]
    uncoded = {"error": {key: value for key, value in bound["error"].items() if key != "code"}}
    assert rules_of(compare_bodies(bound, uncoded, stripe_rules(), is_error=True)) == [("keys.missing", "error.code")]
    assert rules_of(compare_bodies(other, bound, stripe_rules(), is_error=True)) == [("value", "error.code")]
    missing = {"error": {"type": "invalid_request_error", "code": "resource_missing", "param": "id",
                         "message": "No such source: 'card_1'"}}
    assert rules_of(compare_bodies(missing, {"error": {**missing["error"], "code": "not_found"}}, stripe_rules(),
                                   is_error=True)) == [("value", "error.code")]
    assert rules_of(compare_bodies(bound, other, stripe_rules(exact=("error.code",)), is_error=True)) == [
        ("value", "error.code")]


def test_card_invariants_judge_cards_not_another_kind_of_source_answered_as_one():
    """stripe-mock answers GET /sources/ba_123 with its card fixture under the id ba_123: no card to judge."""
    fixture = dict(CARD, id="ba_123", exp_month="8")
    path = "/v1/customers/cus_A0000000/sources/ba_123"
    assert check_response("sources.retrieve", "GET", path, {}, 200, fixture, InvariantState()) == []
    as_card = dict(CARD, exp_month="8")  # the same answer for a card: judged
    found = check_response("sources.retrieve", "GET", "/v1/customers/cus_A0000000/sources/card_A0000000", {}, 200,
                           as_card, InvariantState())
    assert rules_of(found) == [("invariant.card", "exp_month")]


def test_own_ids_of_any_style_bind_and_are_substituted_wherever_they_appear():
    """A coupon's prefix-less id, a file id of a kind the table does not know, an id inside a URL, a file name and
    a client secret: bound from the object's own id, replaced as whole words."""
    bindings = IdBindings(STRIPE.ids)
    recorded = {"id": "file_1RecordedAbc", "object": "file", "filename": "file_1RecordedAbc.png",
                "url": "https://files.example/v1/files/file_1RecordedAbc/contents",
                "links": {"data": [{"id": "link_1RecordedXyz", "file": "file_1RecordedAbc"}]}}
    actual = {"id": "file_9TargetMinted", "object": "file", "filename": "file_9TargetMinted.png",
              "url": "https://files.example/v1/files/file_9TargetMinted/contents",
              "links": {"data": [{"id": "link_9TargetMinted", "file": "file_9TargetMinted"}]}}
    text = json.dumps(recorded)
    assert bindings.rewrite(text)[1]  # an own id not bound yet: the answer has ids to learn
    bindings.learn(recorded, actual)
    rewritten, unbound = bindings.rewrite(text)
    assert json.loads(rewritten) == actual and not unbound
    coupon = IdBindings(STRIPE.ids)
    coupon.learn({"id": "_Ro4AbCdEfGh", "object": "coupon"}, {"id": "Z4OV52SU_q1w2e3", "object": "coupon"})
    assert coupon.text("/v1/coupons/_Ro4AbCdEfGh") == "/v1/coupons/Z4OV52SU_q1w2e3"
    assert coupon.text("x_Ro4AbCdEfGh /v1/_Ro4AbCdEfGhZ") == "x_Ro4AbCdEfGh /v1/_Ro4AbCdEfGhZ"  # whole words only
    short = IdBindings(STRIPE.ids)
    short.learn({"id": "default"}, {"id": "primary"})  # a word, not an id: never substituted
    assert short.actual == {} and short.text("the default source") == "the default source"
    secret = IdBindings(STRIPE.ids)
    secret.learn({"id": "pi_3RecordedAbcd1234", "client_secret": "pi_3RecordedAbcd1234_secret_Q1w2"},
                 {"id": "pi_9MintedWxyz9876", "client_secret": "pi_9MintedWxyz9876_secret_Z9y8"})
    assert secret.text("pi_3RecordedAbcd1234_secret_Q1w2") == "pi_9MintedWxyz9876_secret_Q1w2"


def _whole_words(ids: dict[str, str], text: str) -> str:
    """The reference: one alternation of the ids, the longest first, as whole words."""
    import re

    words = "|".join(re.escape(i) for i in sorted(ids, key=len, reverse=True))
    return re.sub(rf"(?<![0-9A-Za-z_])(?:{words})(?![0-9A-Za-z])", lambda m: ids[m.group(0)], text)


@given(st.lists(st.sampled_from(["AbCdEfGh1234", "AbCdEfGh1234-xy", "9f8e7d6c-1a2b", "_Ro4AbCdEfGh", "x", "_",
                                 "-", ".", ":", "/", " ", "secret", "AbCdEfGh", "1"]), max_size=12))
def test_own_ids_of_no_known_kind_are_replaced_as_whole_words_like_one_alternation_would(pieces):
    """Learnt one by one, the ids are replaced with no pattern compiled per id; what is replaced is what one
    alternation of all of them, the longest first, replaces."""
    bindings = IdBindings(STRIPE.ids)
    ids = {"AbCdEfGh1234": "Minted000001", "AbCdEfGh1234-xy": "Minted000002", "9f8e7d6c-1a2b": "Minted000003",
           "_Ro4AbCdEfGh": "Minted000004"}
    for recorded, actual in ids.items():
        bindings.learn({"id": recorded}, {"id": actual})
    text = "".join(pieces)
    assert bindings.text(text) == _whole_words(ids, text)
