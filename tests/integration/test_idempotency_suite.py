"""Issue 39: the retry scenario, captured from a fake that keeps Stripe's idempotency contract, catches each
deviant target by the rule meant and only it; the faithful one conforms."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conformance.suite.capture import capture_suite
from conformance.suite.scenarios import RETRY_SUITE
from tests.idempotent_fake import IdempotentFake

KEY = "sk_test_" + "reference0000000000000000"


@pytest.fixture(scope="module")
def cassettes(tmp_path_factory):
    out = tmp_path_factory.mktemp("retries")
    with IdempotentFake() as upstream:
        (captured,) = capture_suite(upstream, out, KEY, scenarios=RETRY_SUITE, echo=lambda line: None)
    assert captured.error is None, captured.steps
    return out


def _run(cassettes, tmp_path, deviation, *extra):
    report = tmp_path / "report.json"
    with IdempotentFake(deviation) as target:
        done = subprocess.run([sys.executable, "-m", "conformance", "run", str(cassettes), "--target", target,
                               "--api-key", KEY, "--json-report", str(report), *extra],
                              capture_output=True, text=True, timeout=120, check=False)
    data = json.loads(report.read_text())
    own = {(finding["rule"], finding["severity"])
           for cassette in data["cassettes"] for interaction in cassette["interactions"]
           for finding in interaction["findings"] if finding.get("consequence_of") is None}
    return done.returncode, own


@pytest.mark.parametrize(("deviation", "exit_code", "rules"), [
    (None, 0, set()),
    ("executes-repeats", 1, {("idempotency.replay", "failure")}),
    ("accepts-reused-key", 1, {("idempotency.mismatch", "failure")}),
    ("no-replayed-header", 0, {("idempotency.replayed_header", "warning")}),
    ("constant-request-id", 0, {("request.id", "warning")}),
])
def test_each_deviant_target_is_caught_by_its_rule_alone(cassettes, tmp_path, deviation, exit_code, rules):
    code, own = _run(cassettes, tmp_path, deviation)
    assert own == rules
    assert code == exit_code


def test_a_recorded_retry_sends_the_same_made_token_under_tokens_create(cassettes, tmp_path):
    """With --tokens create each attach gets a token the target makes; the retry of an attach must send the token
    made for its first try, or a faithful target rightly refuses the key reused with other parameters."""
    code, own = _run(cassettes, tmp_path, None, "--tokens", "create")
    assert own == set()
    assert code == 0
