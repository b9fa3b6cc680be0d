"""Reports lead with root causes: real targets on 127.0.0.1 with one root deviation each, the reference suite replayed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
SUITE = Path(__file__).resolve().parents[2] / "cassettes"


def run(deviation: str, tmp_path: Path) -> tuple[str, dict]:
    report = tmp_path / "report.json"
    with FakeStripe(deviation=deviation) as target:
        result = CliRunner().invoke(main, ["run", str(SUITE), "--target", target, "--json-report", str(report)])
    assert result.exit_code == 1, result.output
    return result.output, json.loads(report.read_text())


def interactions(report: dict) -> list[tuple[str, dict]]:
    return [(c["path"], i) for c in report["cassettes"] for i in c["interactions"]]


def test_a_target_without_the_test_tokens_fails_the_creations_and_blocks_what_depends_on_them(tmp_path):
    output, report = run("unknown-tokens", tmp_path)
    by_place = {(cassette, i["index"]): i for cassette, i in interactions(report)}
    failed = [i for _, i in interactions(report) if i["outcome"] == "failed"]
    blocked = [(cassette, i) for cassette, i in interactions(report) if i["outcome"] == "blocked"]
    assert failed and {i["endpoint"] for i in failed} == {"sources.create"}
    assert len(blocked) >= 10
    for cassette, interaction in blocked:  # each names the creation that left its card unbound
        assert by_place[(cassette, interaction["blocked_by"])]["endpoint"] == "sources.create"
        assert by_place[(cassette, interaction["blocked_by"])]["outcome"] == "failed"
    failures = [c for c in report["root_causes"] if c["severity"] == "failure"]
    assert len(failures) == 1
    (cause,) = failures
    assert (cause["endpoint"], cause["rule"], cause["count"], cause["blocked"]) == (
        "sources.create", "status", len(failed), len(blocked))
    assert "No such token" in cause["message"]
    assert report["summary"]["blocked"] == len(blocked)
    assert output.index("Root causes") < output.index("Blocked")
    assert "more blocked by it" in output


def test_a_target_without_the_cards_routes_is_one_route_missing_per_route(tmp_path):
    output, report = run("no-cards-routes", tmp_path)
    missing = [c for c in report["root_causes"] if c["rule"] == "route.missing"]
    templates = [c["message"].split(" (", 1)[0] for c in missing]
    assert len(templates) == len(set(templates)) >= 2
    assert "the target has no route GET /v1/customers/:customer/cards" in templates
    assert "the target has no route GET /v1/customers/:customer/cards/:card" in templates
    for _, interaction in interactions(report):
        rules = {f["rule"] for f in interaction["findings"]}
        if "route.missing" in rules:  # neither a status nor a body finding beside it
            assert not rules & {"status", "body.json", "invariant.error"}, interaction
    assert "[route.missing] the target has no route GET /v1/customers/:customer/cards (404: 404: Not Found)" in output


def test_cards_answered_as_accounts_are_one_object_finding_and_never_bound(tmp_path):
    _, report = run("cards-as-accounts", tmp_path)
    creations = [i for _, i in interactions(report) if i["endpoint"] == "sources.create" and i["status"] == 200]
    assert creations
    for creation in creations:
        assert [(f["rule"], f["path"]) for f in creation["findings"]] == [("object", "object")]
    for _, interaction in interactions(report):
        for finding in interaction["findings"]:
            assert "acct_" not in str(finding.get("expected")), finding  # no recorded card bound to an account
            if finding["rule"] in ("keys.missing", "keys.extra"):
                assert not finding["path"].endswith(("brand", "last4", "funding")), finding
    assert any(i["outcome"] == "blocked" for _, i in interactions(report))


def test_tokens_create_attaches_cards_on_a_target_without_the_magic_tokens(tmp_path):
    report = tmp_path / "report.json"
    with FakeStripe(deviation="unknown-tokens") as target:
        result = CliRunner().invoke(main, ["run", str(SUITE), "--target", target, "--tokens", "create",
                                           "--json-report", str(report)])
    data = json.loads(report.read_text())
    creations = [i for _, i in interactions(data) if i["endpoint"] == "sources.create" and i["status"] == 200]
    assert creations
    for creation in creations:  # every card attached: the token was made at the target
        assert not {f["rule"] for f in creation["findings"]} & {"status", "setup.token"}, creation["findings"]
    assert data["summary"]["blocked"] == 0, result.output


def test_a_token_the_target_will_not_make_is_a_setup_finding_that_says_why(tmp_path):
    """localstripe takes only 16-digit numbers: the 15-digit Amex test card is refused."""
    from conformance.suite.localstripe_target import running

    report = tmp_path / "report.json"
    with running() as target:
        CliRunner().invoke(main, ["run", str(SUITE / "cards-amex.yaml"), "--target", target, "--tokens", "create",
                                  "--json-report", str(report)])
    findings = [f for _, i in interactions(json.loads(report.read_text())) for f in i["findings"]
                if f["rule"] == "setup.token"]
    assert findings and all("tok_amex" in f["message"] and "ending 8431" in f["message"] for f in findings)


def causes_of(report: dict, severity: str = "failure") -> list[dict]:
    return [c for c in report["root_causes"] if c["severity"] == severity]


def test_a_refused_token_brand_hides_none_of_the_independent_list_paging_and_default_bugs(tmp_path):
    """One brand refused at POST /v1/tokens (as localstripe refuses the 15-digit Amex), and three bugs that
    have nothing to do with it: each is its own root cause, and nothing else is one."""
    report = tmp_path / "report.json"
    with FakeStripe(deviation="refuse-amex,oldest-first,limit-ignored,default-oldest") as target:
        result = CliRunner().invoke(main, ["run", str(SUITE), "--target", target, "--tokens", "create",
                                           "--json-report", str(report)])
    assert result.exit_code == 1, result.output
    data = json.loads(report.read_text())
    failures = causes_of(data)
    by_rule: dict[str, list[dict]] = {}
    for cause in failures:
        by_rule.setdefault(cause["rule"], []).append(cause)
    (token,) = by_rule.pop("setup.token")
    assert "tok_amex" in token["message"] and "tok_…" not in token["message"]
    (order,) = by_rule.pop("list.order")  # every list, whichever endpoint: one cause
    assert "oldest first where the API promises the most recent first" in order["message"]
    assert {"cards.list", "customers.retrieve"} <= set(order["endpoints"])
    (limit,) = by_rule.pop("invariant.list")
    assert "more than limit=3" in limit["message"]
    (default,) = by_rule.pop("invariant.default_source")
    assert "most recently added card" in default["message"] and "the card attached 4th" in default["message"]
    assert "the oldest card left" in default["message"]
    # a page that starts after a card of another order is a symptom at most once; never a brand or last4 per position
    assert sum(len(c) for c in by_rule.values()) <= 1, by_rule
    assert not [f for c in data["cassettes"] for i in c["interactions"] for f in i["findings"]
                if f["path"].endswith(("brand", "last4", "funding"))]
    assert len(failures) <= 5  # ≤ 1.3 × the 4 problems


def test_a_target_answering_lists_oldest_first_gets_one_order_cause_not_a_value_per_position(tmp_path):
    _, report = run("oldest-first", tmp_path)
    (cause,) = causes_of(report)
    assert cause["rule"] == "list.order" and cause["count"] >= 5
    # a page of another order says another has_more: a symptom under the order, never a value per position
    symptoms = {(f["rule"], f["path"]) for _, i in interactions(report) for f in i["findings"] if f["severity"] == "failure"}
    assert symptoms <= {("list.order", "data"), ("list.order", "sources.data"), ("value", "has_more")}, symptoms
    assert cause["symptoms"] > cause["count"]


def test_the_contract_adds_problems_and_hides_none(tmp_path):
    """localstripe, with and without the OpenAPI description: every problem of the plain run is found again."""
    from conformance.suite.localstripe_target import running

    spec = Path(__file__).resolve().parents[1] / "schemas" / "cards-openapi.yaml"
    reports = {}
    with running() as target:
        for name, extra in (("plain", []), ("contract", ["--openapi", str(spec)])):
            report = tmp_path / f"{name}.json"
            CliRunner().invoke(main, ["run", str(SUITE), "--target", target, "--tokens", "create",
                                      "--json-report", str(report), *extra])
            reports[name] = json.loads(report.read_text())
    plain = {tuple(c["key"]) for c in causes_of(reports["plain"])}
    contract = {tuple(c["key"]) for c in causes_of(reports["contract"])}
    assert plain and plain <= contract, plain - contract
    added = {key[0] for key in contract - plain}
    assert added == {"schema.expand"}  # localstripe's customers carry `sources` unexpanded: a failure by the contract
    rules = {c["rule"] for c in causes_of(reports["plain"])}
    # the deviations that hid behind "blocked" before: all judged now
    assert {"invariant.default_source", "list.order", "route.missing", "invariant.deleted"} <= rules
    route = [c for c in causes_of(reports["plain"]) if c["rule"] == "route.missing" and c["paths"] == []
             and c["message"].startswith("the target has no route GET /v1/customers/:customer/cards (")]
    from conformance.cassette import load

    lists = sum(1 for path in SUITE.glob("*.yaml") for i in load(path).interactions
                if i.endpoint == "cards.list" and i.response.status != 401)  # no API key: refused before routing
    assert route and route[0]["count"] == lists  # every list of cards, none hidden behind the refused Amex


def test_a_stateless_target_is_judged_where_it_answers_as_recorded(tmp_path):
    """Like stripe-mock: cards come back as accounts (never bound), any card id gets one fixed object. The
    requests that use an unminted card id are still answered 200: what the answer's shape says is judged (a
    delete answering an account, parameters not applied), what depends on which card was answered is not."""
    _, report = run("cards-as-accounts,stateless", tmp_path)
    failures = {c["rule"]: c for c in causes_of(report)}
    assert failures["invariant.deleted"]["message"] == ('answers an account object, not the deleted card '
                                                        '({id, object: "card", deleted: true})')
    assert failures["invariant.deleted"]["count"] == 5  # every delete: none hidden behind the unbound card
    assert failures["object"]["message"] == "answers an account object, not a card"
    assert not [f for _, i in interactions(report) for f in i["findings"]
                if f["rule"] in ("value", "id.binding") and f.get("consequence_of") is None
                and f.get("problem") is None], "values of another card are no problem of their own"



def test_a_wrong_has_more_in_expanded_sources_is_a_cause_of_its_own_beside_the_order(tmp_path):
    """Lists oldest first, and a customer's expanded `sources` holding every card with `has_more: false` (as
    stripe-stateful-mock's): fixing the order would not fix `has_more`, so it is never folded into the order's
    cause. (After a cursor, how many items follow does depend on the order: there it stays a symptom.)"""
    _, report = run("oldest-first,expanded-sources-unpaged", tmp_path)
    causes = causes_of(report)
    assert [c for c in causes if c["rule"] == "list.order"]
    (more,) = [c for c in causes if c["paths"] == ["has_more"]]
    assert more["rule"] == "value" and more["endpoints"] == ["customers.retrieve"], more
    assert more["message"] == "list objects: has_more: expected true, got false"


def test_invalid_input_a_stateless_target_accepts_is_its_own_problem_not_blocked(tmp_path):
    """Cards answered as accounts leave the card unbound; the later update with exp_month=13, refused 402 in the
    recording, is answered 200 (as stripe-mock does): that is the target's own problem whichever object it
    answered, never "blocked" by the attach."""
    report = tmp_path / "update.json"
    with FakeStripe(deviation="cards-as-accounts,stateless") as target:
        CliRunner().invoke(main, ["run", str(SUITE / "cards-update.yaml"), "--target", target,
                                  "--json-report", str(report)])
    data = json.loads(report.read_text())
    (bad_month,) = [i for _, i in interactions(data) if i["status"] == 402]
    assert bad_month["outcome"] == "failed", bad_month
    (status,) = [f for f in bad_month["findings"] if f["rule"] == "status"]
    assert status.get("consequence_of") is None
    assert any(c["message"] == "status: expected 402, got 200 (the request sent exp_month=13)"
               for c in causes_of(data))
    others = [i for _, i in interactions(data) if i["status"] == 200 and i["outcome"] == "blocked"]
    assert all(i["blocked_by"] == 2 for i in others)
