"""What a run says of a deviation names its input: recordings made by the real recorder from a real upstream
(localstripe, the documented fake with a deviation), replayed against another real target on 127.0.0.1."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from conformance.cli import main

from ..conftest import API_KEY, CLIProcess
from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
SUITE = Path(__file__).resolve().parents[2] / "cassettes"
VERSION = {"Stripe-Version": "2023-08-16"}


def record(upstream: str, path: Path, steps: Callable[[httpx.Client], None]) -> Path:
    """``steps`` driven through the real recorder in front of ``upstream``."""
    recorder = CLIProcess(["record", "--upstream", upstream, "--cassette", str(path)])
    try:
        address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
        with httpx.Client(base_url=address, auth=(API_KEY, ""), headers=VERSION, timeout=20) as client:
            steps(client)
        assert recorder.interrupt() == 0, recorder.text
    finally:
        recorder.close()
    return path


def replay(cassette: Path, target: str, tmp_path: Path, *options: str) -> dict:
    report = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["run", str(cassette), "--target", target, "--json-report", str(report),
                                       *options])
    assert result.exit_code in (0, 1), result.output
    return json.loads(report.read_text())


def findings(report: dict) -> list[tuple[dict, dict]]:
    return [(i, f) for c in report["cassettes"] for i in c["interactions"] for f in i["findings"]]


def failures(report: dict) -> list[dict]:
    return [c for c in report["root_causes"] if c["severity"] == "failure"]


def attach_from_a_card_number(client: httpx.Client) -> None:
    """A Mastercard tokenized from its number with an expiry, attached, updated and retrieved."""
    customer = client.post("/v1/customers", data={"email": "jenny@example.com"}).json()["id"]
    token = client.post("/v1/tokens", data={"card[number]": "5555555555554444", "card[exp_month]": "11",
                                            "card[exp_year]": "2031", "card[cvc]": "314"}).json()["id"]
    card = client.post(f"/v1/customers/{customer}/sources", data={"source": token}).json()["id"]
    client.post(f"/v1/customers/{customer}/sources/{card}", data={"name": "Jenny Rosen"})
    client.get(f"/v1/customers/{customer}/sources/{card}")


@pytest.fixture(scope="module")
def from_localstripe(tmp_path_factory, localstripe_url) -> Path:
    """localstripe answers a token made from the Mastercard number with brand Visa, and attaches the token's
    card under the token card's own id."""
    return record(localstripe_url, tmp_path_factory.mktemp("rec") / "localstripe.yaml", attach_from_a_card_number)


def test_a_value_the_request_never_set_is_not_a_parameter_it_failed_to_apply(from_localstripe, tmp_path):
    with FakeStripe() as target:
        report = replay(from_localstripe, target, tmp_path)
    brand = [(i, f) for i, f in findings(report) if f["path"].endswith("brand") and i["endpoint"] == "tokens.create"]
    assert brand, "the recording's Visa for the Mastercard number is a finding"
    assert all(f.get("problem") is None for _, f in brand), brand
    for cause in report["root_causes"]:
        if cause["message"].startswith("does not apply the request's parameters"):
            assert "brand" not in cause["paths"], cause


def test_a_token_requests_expiry_is_compared_with_what_the_request_set(from_localstripe, tmp_path):
    """The fake makes every token's card 8/2030 whatever card[exp_month] says: compared by shape, it passed."""
    with FakeStripe() as target:
        report = replay(from_localstripe, target, tmp_path)
    expiry = {f["path"]: f for i, f in findings(report) if i["endpoint"] == "tokens.create"
              and f["path"] in ("card.exp_month", "card.exp_year")}
    assert set(expiry) == {"card.exp_month", "card.exp_year"}, findings(report)
    assert expiry["card.exp_month"]["message"] == \
        "card.exp_month: expected 11 as the request set it (card[exp_month]=11), got 8"
    assert expiry["card.exp_month"]["problem"] == "parameters-not-applied"
    (cause,) = [c for c in failures(report) if "tokens.create" in c["endpoints"]
                and c["message"].startswith("does not apply the request's parameters")]
    assert cause["paths"] == ["exp_month", "exp_year"]


def test_what_follows_a_card_minted_under_another_id_than_bound_counts_under_that_one_failure(
        from_localstripe, tmp_path):
    """localstripe attaches a token's card under the token card's id; the fake mints the attached card an id of
    its own. The update and the retrieve then ask for the token's card (404): consequences of the one binding
    failure, not causes of their own."""
    with FakeStripe() as target:
        report = replay(from_localstripe, target, tmp_path)
    by_index = {i["index"]: i for c in report["cassettes"] for i in c["interactions"]}
    (attach,) = [i for i in by_index.values() if i["endpoint"] == "sources.create"]
    assert ("id.binding", "id") in {(f["rule"], f["path"]) for f in attach["findings"]}
    later = [i for i in by_index.values() if i["index"] > attach["index"]]
    assert [i["actual_status"] for i in later] == [404, 404]
    assert all(i["outcome"] == "blocked" and i["blocked_by"] == attach["index"] for i in later), later
    assert not [c for c in failures(report) if c["rule"] == "status"], failures(report)
    (binding,) = [c for c in failures(report) if c["rule"] == "id.binding"]
    assert binding["blocked"] == 2


def update_with_a_bad_month(client: httpx.Client) -> None:
    customer = client.post("/v1/customers", data={"email": "jenny@example.com"}).json()["id"]
    card = client.post(f"/v1/customers/{customer}/sources", data={"source": "tok_visa"}).json()["id"]
    for month in ("12", "13"):  # the same name both times: only the month provokes the 402
        client.post(f"/v1/customers/{customer}/sources/{card}", data={"name": "Jenny Rosen", "exp_month": month})


def test_a_status_mismatch_on_a_request_meant_to_fail_names_the_input_that_provoked_it(tmp_path):
    """A stateless target (as stripe-mock is) takes exp_month=13: the finding says which input the recording
    refused, not only the statuses, and the cause is the documented rule that input breaks."""
    with FakeStripe() as upstream:
        cassette = record(upstream, tmp_path / "bad-month.yaml", update_with_a_bad_month)
    with FakeStripe(deviation="stateless") as target:
        report = replay(cassette, target, tmp_path)
    (status,) = [f for _, f in findings(report) if f["rule"] == "status"]
    assert status["message"] == "status: expected 402, got 200 (the request sent exp_month=13)"
    # the cause is the documented rule the input breaks, the status its evidence (not a cause of its own)
    (cause,) = [c for c in failures(report) if c["endpoint"] == "cards.update" and "exp_month=13" in c["message"]]
    assert cause["rule"] == "request.invalid_expiry", cause
    assert cause["message"].endswith("with exp_month=13 must answer 402 invalid_expiry_month, got 200 without a code")
    assert not [c for c in failures(report) if c["rule"] == "status"]


def test_a_request_meant_to_fail_with_nothing_to_compare_names_what_it_sent_redacted(tmp_path):
    """The only token request of its recording, refused there (localstripe takes no 15-digit number), is made by
    the fake: every parameter it sent is named, the card number as its marker."""
    from conformance.suite.localstripe_target import running

    def amex(client: httpx.Client) -> None:
        client.post("/v1/tokens", data={"card[number]": "371449635398431", "card[exp_month]": "11",
                                        "card[exp_year]": "2031", "card[cvc]": "3141"})

    with running() as upstream:
        cassette = record(upstream, tmp_path / "amex.yaml", amex)
    with FakeStripe() as target:
        report = replay(cassette, target, tmp_path)
    (status,) = [f for _, f in findings(report) if f["rule"] == "status"]
    assert status["message"] == ("status: expected 400, got 200 (the request sent card[number]=[REDACTED:card-number:"
                                 "amex-8431], card[exp_month]=11, card[exp_year]=2031, card[cvc]=[REDACTED:cvc])")
    assert "371449635398431" not in json.dumps([f for _, f in findings(report)])


def test_a_card_retrieved_without_its_expansion_says_so(tmp_path):
    """The reference suite retrieves a card with expand[]=customer; a target that ignores expand[] answers the
    customer's id."""
    with FakeStripe(deviation="expand-ignored") as target:
        report = replay(SUITE / "cards-retrieve.yaml", target, tmp_path)
    expansions = [(i, f) for i, f in findings(report) if f["path"] == "customer"]
    assert expansions and all(f["problem"] == "not-expanded" for _, f in expansions), expansions
    assert expansions[0][1]["message"].startswith(
        'customer: not expanded: the request asked for expand[]=customer, got its id "cus_')
    (cause,) = failures(report)
    assert cause["message"] == 'customer: not expanded: the request asked for expand[]=customer, got its id "cus_…"'
    assert "is string where the recording has object" not in json.dumps(report)


def retrieve_a_card(client: httpx.Client) -> None:
    customer = client.post("/v1/customers", data={"email": "jenny@example.com"}).json()["id"]
    card = client.post(f"/v1/customers/{customer}/sources", data={"source": "tok_visa"}).json()["id"]
    client.get(f"/v1/customers/{customer}/cards/{card}")


def test_a_recording_that_expanded_what_the_request_never_asked_for_is_named_as_such(tmp_path):
    """Recorded from an upstream that expands a card's customer unasked; the faithful target answers its id."""
    with FakeStripe(deviation="expanded-customer") as upstream:
        cassette = record(upstream, tmp_path / "expanded.yaml", retrieve_a_card)
    with FakeStripe() as target:
        report = replay(cassette, target, tmp_path)
    expansions = [f for _, f in findings(report) if f["path"] == "customer"]
    assert len(expansions) == 2 and {f["problem"] for f in expansions} == {"expanded-unasked-in-recording"}
    assert expansions[0]["message"].startswith("customer: the recording holds an expanded object the request never "
                                               "asked for (no expand[]=customer); the target answers its id \"cus_")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_token_requests_curl_line_sends_the_public_test_card_it_stands_for(from_localstripe, tmp_path):
    """Run as printed, the reproduce line of a token request makes a token of that very test card."""
    with FakeStripe() as target:
        report = replay(from_localstripe, target, tmp_path)
        (token,) = [i for c in report["cassettes"] for i in c["interactions"] if i["endpoint"] == "tokens.create"]
        assert "card%5Bnumber%5D=5555555555554444" in token["curl"] and "REDACTED" not in token["curl"]
        answer = subprocess.run(["sh", "-c", token["curl"] + " --silent"], capture_output=True, text=True,
                                timeout=30, env={**os.environ, "STRIPE_API_KEY": API_KEY})
    made = json.loads(answer.stdout)
    assert (made["object"], made["card"]["brand"], made["card"]["last4"]) == ("token", "MasterCard", "4444")
    assert API_KEY not in json.dumps(report)
