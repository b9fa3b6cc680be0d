"""Issue 39: the reference suite's retry scenario (cassettes/cards-retries.yaml, captured from the test fake, which
keeps Stripe's idempotency contract) catches each deviant target by the rule meant and only it; the faithful one
conforms. Run through `run --suite`, as a user runs it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cassette import load
from conformance.suite.scenarios import RETRY_SUITE, SUITE
from tests.stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
KEY = "sk_test_" + "reference0000000000000000"
RETRIES = Path(__file__).resolve().parents[2] / "cassettes" / "cards-retries.yaml"


def _run(tmp_path, deviation, *extra):
    """`run --suite` against the fake with one deviation: the exit code and the failures and warnings that are no
    consequence of another, each with its cassette."""
    report = tmp_path / "report.json"
    with FakeStripe(deviation=deviation) as target:
        done = subprocess.run([sys.executable, "-m", "conformance", "run", "--suite", "--target", target,
                               "--api-key", KEY, "--json-report", str(report), *extra],
                              capture_output=True, text=True, timeout=120, check=False)
    data = json.loads(report.read_text())
    own = {(Path(cassette["path"]).stem, finding["rule"], finding["severity"])
           for cassette in data["cassettes"] for interaction in cassette["interactions"]
           for finding in interaction["findings"] if finding.get("consequence_of") is None}
    return done.returncode, own, data


def test_the_retry_scenario_is_in_the_reference_suite():
    assert set(RETRY_SUITE) == {"cards-retries"} <= set(SUITE)
    interactions = load(RETRIES).interactions
    keys = [i.request.headers.get("Idempotency-Key") for i in interactions]
    replays = [i for i in interactions if i.response.headers.get("Idempotent-Replayed") == "true"]
    # a retried create, attach and update: each the same key twice, the second answered as a replay
    assert [i.endpoint for i in replays] == ["customers.create", "sources.create", "cards.update"]
    assert all(keys.count(i.request.headers["Idempotency-Key"]) >= 2 for i in replays)
    refused = interactions[-1].response
    assert refused.status == 400 and refused.json()["error"]["type"] == "idempotency_error"
    assert interactions[8].request.query == {"expand": ["sources"]}  # #9: the sources read back, every card once
    failed, corrected = (i for i in interactions if i.request.headers.get("Idempotency-Key") == "retry-after-validation")
    assert failed.response.status == 404 and corrected.response.status == 200
    assert all(i.response.headers.get("Request-Id") for i in interactions)


@pytest.mark.parametrize(("deviation", "exit_code", "rules"), [
    (None, 0, set()),
    ("executes-repeats", 1, {("cards-retries", "idempotency.replay", "failure")}),
    ("accepts-reused-key", 1, {("cards-retries", "idempotency.mismatch", "failure")}),
    ("no-replayed-header", 0, {("cards-retries", "idempotency.replayed_header", "warning")}),
])
def test_each_deviant_target_is_caught_by_its_rule_alone(tmp_path, deviation, exit_code, rules):
    code, own, _ = _run(tmp_path, deviation)
    assert own == rules
    assert code == exit_code


def test_a_constant_request_id_is_one_warning_per_cassette_and_one_root_cause(tmp_path):
    code, own, data = _run(tmp_path, "constant-request-id")
    assert own == {(name, "request.id", "warning") for name in SUITE}
    assert [(cause["rule"], cause["severity"]) for cause in data["root_causes"]] == [("request.id", "warning")]
    assert code == 0


def test_a_recorded_retry_sends_the_same_made_token_under_tokens_create(tmp_path):
    """With --tokens create each attach gets a token the target makes; the retry of an attach must send the token
    made for its first try, or a faithful target rightly refuses the key reused with other parameters."""
    code, own, _ = _run(tmp_path, None, "--tokens", "create")
    assert own == set()
    assert code == 0


def _at(data, name):
    """cassette name -> {interaction index: its findings}."""
    cassette = next(c for c in data["cassettes"] if Path(c["path"]).stem == name)
    return {i["index"]: i["findings"] for i in cassette["interactions"]}


def test_a_repeated_attach_listing_the_card_twice_is_the_replay_rules_finding(tmp_path):
    """localstripe re-attaches the token of a retried attach: the same card answered, then listed twice. The list
    read back after the retry says so under the retry rule, not as a list one item too long."""
    code, own, data = _run(tmp_path, "relists-repeats")
    assert own == {("cards-retries", "idempotency.replay", "failure")}
    listed = _at(data, "cards-retries")[5]  # the list read back after the retried attach
    (finding,) = [f for f in listed if f["rule"] == "idempotency.replay"]
    assert all(f.get("consequence_of") == 5 for f in listed if f is not finding)  # one item too many: the same card
    assert finding["message"].startswith("executed again: the list holds card_") and " twice — " in finding["message"]
    assert "interaction #4" in finding["message"]
    assert code == 1


def test_a_retry_refused_after_a_saved_500_follows_from_the_500(tmp_path):
    """As stripe-stateful-mock: an unknown token answered 500, which Stripe saves too, so the corrected retry under
    the key is refused as a reused key: one problem, the 500's."""
    _, own, data = _run(tmp_path, "unknown-token-500")
    findings = _at(data, "cards-retries")
    assert {f["rule"] for f in findings[6]} >= {"status"} and all(f.get("consequence_of") is None for f in findings[6])
    assert findings[7] and all(f.get("consequence_of") == 6 for f in findings[7])
    assert not any(Path(i["cassette"]).stem == "cards-retries" and i["index"] == 7
                   for cause in data["root_causes"] for i in cause["interactions"])
    assert ("cards-retries", "status", "failure") in own


def test_a_missing_routes_404_kept_under_its_key_is_no_cause_beside_the_route(tmp_path):
    """As stripe-stateful-mock: no update route, and its 404 saved under the key. The key reused with other
    parameters is then refused: that follows from the missing route, never an idempotency.validation cause of its
    own — while the token's 404 it saved too (#6, a real validation error) stays the rule's own finding."""
    _, _, data = _run(tmp_path, "no-update-route,saves-every-answer")
    findings = _at(data, "cards-retries")
    assert [f["rule"] for f in findings[10]] == ["route.missing"]
    assert findings[12] and all(f.get("consequence_of") == 10 for f in findings[12])
    (validation,) = [c for c in data["root_causes"] if c["rule"] == "idempotency.validation"]
    assert [i["index"] for i in validation["interactions"]] == [7]
    # without saving anything: the reused key answered the route's 404 again, which is the route's, not a rule's
    _, own, data = _run(tmp_path, "no-update-route")
    assert not any(rule == "idempotency.validation" for _, rule, _ in own)
