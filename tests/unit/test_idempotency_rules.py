"""Issue 39: the retry contract's headers recorded, and the documented idempotency rules judged."""

from __future__ import annotations

from conformance.cassette.exchange import build_interaction
from conformance.redaction import Redactor
from conformance.stripe import STRIPE

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
CONTRACT = {"Request-Id": "req_1a2b3c4d5e6f", "Idempotent-Replayed": "true", "Original-Request": "req_0a0b0c0d0e0f",
            "Stripe-Should-Retry": "false", "Retry-After": "1"}


def _recorded(response_headers: list[tuple[str, str]]):
    return build_interaction(
        method="POST", url_path="/v1/customers/cus_123456789/sources",
        request_headers=[("Authorization", f"Bearer {KEY}"), ("Idempotency-Key", "retry-1")],
        request_content=b"source=tok_visa", status=200,
        response_headers=[("Content-Type", "application/json"), ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
                          *response_headers],
        response_content=b'{"id": "card_123456789", "object": "card"}', redactor=Redactor(), profile=STRIPE)


def test_the_contract_headers_are_recorded_and_date_is_not():
    interaction = _recorded([(name.lower(), value) for name, value in CONTRACT.items()])
    assert interaction.response.headers == {"Content-Type": "application/json", **CONTRACT}


def test_a_secret_in_a_contract_header_is_redacted_like_any_header():
    interaction = _recorded([("Request-Id", KEY)])
    assert KEY not in str(interaction.response.headers)
    assert interaction.response.headers["Request-Id"].startswith("[REDACTED")
