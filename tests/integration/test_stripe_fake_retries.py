"""The test fake keeps Stripe's retry contract (API reference, Idempotent requests), as the reference suite it is
captured from and the tests that run against it expect; each retry deviation breaks one rule of it."""

from __future__ import annotations

import httpx
import pytest

from ..conftest import API_KEY
from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration


def _client(base: str, key: str = API_KEY) -> httpx.Client:
    return httpx.Client(base_url=base, auth=(key, ""), timeout=10)


def _attach(client: httpx.Client, customer: str, token: str, key: str | None) -> httpx.Response:
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(f"/v1/customers/{customer}/sources", data={"source": token}, headers=headers)


def _customer(client: httpx.Client) -> str:
    return client.post("/v1/customers", data={"email": "jenny.rosen@example.com"}).json()["id"]


def _cards(client: httpx.Client, customer: str) -> list[str]:
    return [card["id"] for card in client.get(f"/v1/customers/{customer}/cards").json()["data"]]


def test_a_repeated_key_is_answered_with_the_first_answer_and_makes_no_second_card():
    with FakeStripe() as base, _client(base) as client:
        customer = _customer(client)
        first = _attach(client, customer, "tok_visa", "attach-1")
        again = _attach(client, customer, "tok_visa", "attach-1")
        assert (again.status_code, again.content) == (first.status_code, first.content) == (200, first.content)
        assert again.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
        assert again.headers["Original-Request"] == first.headers["Request-Id"] != again.headers["Request-Id"]
        assert _cards(client, customer) == [first.json()["id"]]
        # without a key, or with another key, the same request is executed again
        assert _attach(client, customer, "tok_visa", None).json()["id"] != first.json()["id"]
        assert _attach(client, customer, "tok_visa", "attach-2").json()["id"] != first.json()["id"]
        assert len(_cards(client, customer)) == 3


def test_a_key_reused_with_other_parameters_is_refused_and_nothing_is_executed():
    with FakeStripe() as base, _client(base) as client:
        customer = _customer(client)
        _attach(client, customer, "tok_visa", "attach-1")
        other = _attach(client, customer, "tok_mastercard", "attach-1")
        assert other.status_code == 400 and other.json()["error"]["type"] == "idempotency_error"
        assert "attach-1" in other.json()["error"]["message"] and other.headers["Stripe-Version"]
        assert len(_cards(client, customer)) == 1


def test_a_request_that_failed_validation_is_not_saved():
    with FakeStripe() as base, _client(base) as client:
        customer = _customer(client)
        failed = _attach(client, customer, "tok_" + "DoesNotExist0000", "attach-1")
        assert failed.status_code == 404
        corrected = _attach(client, customer, "tok_visa", "attach-1")
        assert corrected.status_code == 200 and "Idempotent-Replayed" not in corrected.headers
        assert _cards(client, customer) == [corrected.json()["id"]]
        # a card error began executing: it is kept, and answered again
        card = corrected.json()["id"]
        update = f"/v1/customers/{customer}/sources/{card}"
        declined = client.post(update, data={"exp_month": "13"}, headers={"Idempotency-Key": "update-1"})
        again = client.post(update, data={"exp_month": "13"}, headers={"Idempotency-Key": "update-1"})
        assert declined.status_code == again.status_code == 402 and again.headers["Idempotent-Replayed"] == "true"


def test_keys_are_kept_per_api_key_and_every_answer_has_its_own_request_id():
    with FakeStripe() as base, _client(base) as client, _client(base, API_KEY + "2") as other:
        customer = _customer(client)
        mine = _attach(client, customer, "tok_visa", "attach-1")
        theirs = _attach(other, customer, "tok_visa", "attach-1")  # another account's key of the same name
        assert theirs.json()["id"] != mine.json()["id"]
        ids = [client.get(f"/v1/customers/{customer}").headers["Request-Id"] for _ in range(5)]
        assert len(set(ids)) == 5 and all(i.startswith("req_") for i in ids)


@pytest.mark.parametrize(("deviation", "broken"), [
    ("executes-repeats", "replay"), ("accepts-reused-key", "mismatch"),
    ("no-replayed-header", "header"), ("constant-request-id", "request id"),
])
def test_each_retry_deviation_breaks_its_rule(deviation, broken):
    with FakeStripe(deviation=deviation) as base, _client(base) as client:
        customer = _customer(client)
        first = _attach(client, customer, "tok_visa", "attach-1")
        again = _attach(client, customer, "tok_visa", "attach-1")
        other = _attach(client, customer, "tok_mastercard", "attach-1")
        held = {
            "replay": again.content == first.content,
            "mismatch": other.status_code == 400,
            "header": again.content != first.content or again.headers.get("Idempotent-Replayed") == "true",
            "request id": first.headers["Request-Id"] != again.headers["Request-Id"],
        }
    assert [rule for rule, holds in held.items() if not holds] == [broken]
