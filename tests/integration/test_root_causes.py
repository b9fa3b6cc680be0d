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
        CliRunner().invoke(main, ["run", str(SUITE / "cards-list.yaml"), "--target", target, "--tokens", "create",
                                  "--json-report", str(report)])
    findings = [f for _, i in interactions(json.loads(report.read_text())) for f in i["findings"]
                if f["rule"] == "setup.token"]
    assert findings and all("tok_amex" in f["message"] and "ending 8431" in f["message"] for f in findings)
