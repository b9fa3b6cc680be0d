"""The check registry: checks run in order on an exchange, and a path reported once is not reported again."""

from __future__ import annotations

from conformance.cassette import Body, Interaction, Request, Response
from conformance.checks import CHECKS, CheckState, CompareRules, Exchange, run_checks
from conformance.checks.response import body_matches_recording
from conformance.findings import Finding
from conformance.rules import Severity
from conformance.stripe import STRIPE
from conformance.stripe.invariants import CARD_KEYS

CUSTOMER = "cus_NffrFeUfNV2Hib"
CARD = "card_1NBLeN2eZvKYlo2CIg1o7Pzs"
PATH = f"/v1/customers/{CUSTOMER}/sources/{CARD}"


def exchange(status: int, body: object, *, recorded_status: int = 200, recorded_body: object = None,
             method: str = "DELETE", form: dict | None = None, problem: str | None = None) -> Exchange:
    recorded_body = recorded_body if recorded_body is not None else {"id": CARD, "object": "card", "deleted": True}
    interaction = Interaction(Request(method, PATH, {}, {}, Body("form", form) if form else None),
                              Response(recorded_status, {}, Body("json", recorded_body)))
    return Exchange(interaction, PATH, {}, status, body, problem, "", recorded_body)


def rules(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.rule, f.path) for f in findings]


def test_the_registered_checks_run_documentation_first():
    assert [check.__name__ for check in CHECKS] == [
        "documented_invariants", "contract_conforms", "route_exists", "status_matches", "body_is_json",
        "body_matches_recording"]


def test_an_invariant_reports_a_path_the_comparison_would_report_again():
    found = run_checks(exchange(200, {"id": CARD, "object": "card", "deleted": "true"}), CheckState(STRIPE))
    assert rules(found) == [("invariant.deleted", "deleted")]  # not also a `type` finding at `deleted`


def test_a_status_mismatch_quotes_the_targets_message_and_skips_the_body():
    body = {"error": {"type": "invalid_request_error", "message": "No such source: 'card_1'"}}
    found = run_checks(exchange(404, body), CheckState(STRIPE))
    assert rules(found) == [("status", "")]
    assert found[0].message == "status: expected 200, got 404 (No such source: 'card_1')"


def test_an_answer_that_is_not_json_is_one_finding():
    found = run_checks(exchange(200, None, problem="the body is not JSON (text/html): '<html>'"), CheckState(STRIPE))
    assert rules(found) == [("body.json", "")]


def test_fields_an_update_sets_are_compared_exactly_from_then_on():
    state = CheckState(STRIPE, CompareRules())
    card = {"id": CARD, "object": "card", "exp_month": 8}
    update = exchange(200, dict(card, exp_month=9), recorded_body=card, method="POST")
    only_comparison = [body_matches_recording]
    assert run_checks(update, state, only_comparison) == []  # a test token's own expiry: compared by shape
    state.request_sent(Interaction(Request("POST", PATH, {}, {}, Body("form", {"exp_month": "8"})),
                                   Response(200)), PATH)
    assert state.set_fields == {CARD: frozenset({"exp_month"})}
    assert rules(run_checks(update, state, only_comparison)) == [("value", "exp_month")]


def test_ignore_silences_invariant_findings_by_path_and_by_rule():
    card = {"id": CARD, "object": "card", "customer": CUSTOMER, "exp_month": 8, "exp_year": 2031,
            "last4": "4242", "brand": "Visa", "funding": "credit", "metadata": {}}
    answer = exchange(200, card, recorded_body=card, method="GET")
    assert ("invariant.card", "cvc_check") in rules(run_checks(answer, CheckState(STRIPE)))
    for ignore in ("cvc_check", "**.cvc_check", "invariant.card:cvc_check", "invariant.card:*"):
        found = rules(run_checks(answer, CheckState(STRIPE, CompareRules(ignore=(ignore,)))))
        assert ("invariant.card", "cvc_check") not in found, ignore
        assert ("invariant.card", "name") in found or ignore == "invariant.card:*", ignore  # only what was named
    assert not [r for r in rules(run_checks(answer, CheckState(STRIPE, CompareRules(ignore=("invariant.card",)))))
                if r[0] == "invariant.card"]


def test_a_key_only_the_api_reference_examples_show_may_be_absent_and_is_a_warning_when_wrong():
    card = {"id": CARD, "object": "card", "customer": CUSTOMER, "exp_month": 8, "exp_year": 2031, "last4": "4242",
            "brand": "Visa", "funding": "credit", "metadata": {}}
    card.update({key: None for key in CARD_KEYS if key not in card and key != "wallet"})
    assert run_checks(exchange(200, card, recorded_body=card, method="GET"), CheckState(STRIPE)) == []  # no wallet: fine
    wrong = {**card, "wallet": "apple_pay"}
    (finding,) = run_checks(exchange(200, wrong, recorded_body=wrong, method="GET"), CheckState(STRIPE))
    assert (finding.rule, finding.path, finding.severity) == ("invariant.card", "wallet", Severity.WARNING)


def test_a_page_ending_before_a_card_holds_neither_it_nor_what_follows_it():
    from conformance.stripe.invariants import InvariantState, check_list

    state = InvariantState()
    url = "/v1/customers/cus_1/cards"

    def page(*ids: str, more: bool = True) -> dict:
        return {"object": "list", "url": url, "has_more": more, "data": [{"id": i, "object": "card"} for i in ids]}

    assert check_list(page("card_c", "card_b"), url, {"limit": "2"}, state) == []
    assert check_list(page("card_a", more=False), url, {"limit": "2", "starting_after": "card_b"}, state) == []
    assert check_list(page("card_c", "card_b"), url, {"limit": "2", "ending_before": "card_a"}, state) == []
    (finding,) = check_list(page("card_b", "card_a"), url, {"limit": "2", "ending_before": "card_a"}, state)
    assert finding.rule == "invariant.list" and "ending_before=card_a returned the cursor" in finding.message
    assert check_list(page("card_c"), url, {"limit": "0"}, state) == []  # a limit out of bounds is refused instead


def test_a_missing_route_the_recording_met_too_is_no_finding():
    """A server answering its own traffic: the recording was already "Unrecognized request URL"."""
    unknown = {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL (DELETE: /v1/x)"}}
    assert run_checks(exchange(404, unknown, recorded_status=404, recorded_body=unknown), CheckState(STRIPE)) == []
    # the recording found a route (an object was missing), the target has none: its own finding
    missing = {"error": {"type": "invalid_request_error", "message": "No such source: 'card_1'", "code":
                         "resource_missing"}}
    found = run_checks(exchange(404, unknown, recorded_status=404, recorded_body=missing), CheckState(STRIPE))
    assert rules(found) == [("route.missing", "")]


def test_a_short_fixture_id_is_a_card_id_and_another_kind_is_not():
    """stripe-mock's fixtures are ``card_123`` and ``cus_123``: the documents promise the prefix, not a length (a
    report once said 'expected a card_ id, got "card_123"')."""
    card = {"id": "card_123", "object": "card", "customer": "cus_123", "exp_month": 8, "exp_year": 2031,
            "last4": "4242", "brand": "Visa", "funding": "credit", "metadata": {}}
    found = rules(run_checks(exchange(200, card, recorded_body=card, method="GET"), CheckState(STRIPE)))
    assert ("invariant.card", "id") not in found and ("invariant.card", "customer") not in found
    other = dict(card, id="src_123", customer="acct_123")
    found = rules(run_checks(exchange(200, other, recorded_body=other, method="GET"), CheckState(STRIPE)))
    assert ("invariant.card", "id") in found and ("invariant.card", "customer") in found


def test_a_null_default_source_of_a_customer_with_no_card_followed_is_not_judged():
    """Like stripe-mock: a card deleted, then a customer whose cards were never followed (another fixture id)
    answers default_source null. The rule tracked nothing: "not judged" with a reason, never judged (holds)."""
    route = STRIPE.routes.match("DELETE", "/v1/customers/cus_A0000001/sources/card_A0000001")
    state = STRIPE.rules.new_state()
    STRIPE.rules.check(route, "DELETE", route.route.template, {}, 200,
                       {"id": "card_A0000001", "object": "card", "deleted": True}, state)
    state.judged.clear()
    customer = STRIPE.routes.match("GET", "/v1/customers/cus_B0000001")
    STRIPE.rules.check(customer, "GET", "/v1/customers/cus_B0000001", {}, 200,
                       {"id": "cus_B0000001", "object": "customer", "default_source": None}, state)
    assert "invariant.default_source" not in state.judged
    assert [rule for rule, _ in state.not_judged] == ["invariant.default_source"]


def test_a_deleted_default_followed_to_the_customer_is_judged():
    attach = STRIPE.routes.match("POST", "/v1/customers/cus_A0000001/sources")
    state = STRIPE.rules.new_state()
    STRIPE.rules.check(attach, "POST", "/v1/customers/cus_A0000001/sources", {}, 200,
                       {"id": "card_A0000001", "object": "card", "brand": "Visa"}, state)
    delete = STRIPE.routes.match("DELETE", "/v1/customers/cus_A0000001/sources/card_A0000001")
    STRIPE.rules.check(delete, "DELETE", "", {}, 200, {"id": "card_A0000001", "object": "card", "deleted": True},
                       state)
    customer = STRIPE.routes.match("GET", "/v1/customers/cus_A0000001")
    state.judged.clear()
    found = STRIPE.rules.check(customer, "GET", "", {}, 200,
                               {"id": "cus_A0000001", "object": "customer", "default_source": "card_A0000001"}, state)
    assert "invariant.default_source" in state.judged
    assert [f.rule for f in found] == ["invariant.default_source"]
