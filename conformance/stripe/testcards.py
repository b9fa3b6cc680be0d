"""Stripe's documented test cards, and the magic test tokens that stand for them: one table for every mode.

Cassettes never hold a card number. A test card's number is redacted to a
marker that names the card (``[REDACTED:card-number:amex-8431]``), so a replay
sends that very card again, error responses included (an error shows no
``last4`` to infer it from). Any other number becomes ``[REDACTED:card-number]``,
and the replay sends the test card whose last four digits the recorded response
shows (Visa 4242 when it shows none). A target that does not know the magic
tokens (``tok_visa``) is given tokens made from these numbers
(``conformance run --tokens create``), with the same brand and funding.

Source: Stripe's testing documentation (test card numbers and tokens):
``tok_amex`` is the American Express card ending 8431 (371449635398431),
``tok_visa_debit`` a Visa debit card ending 5556.
"""

from __future__ import annotations

from conformance.api_profile import TestCard, TestCards

__all__ = ["CARDS", "DEFAULT_API_KEY"]

# The key sent when none is given: a test key of the shape every public fake accepts — stripe-mock takes
# ``sk_`` or ``rk_``, ``test``, and one more part without ``_`` (its server.go, validateAuth).
DEFAULT_API_KEY = "sk_test_cardconformance"

CARDS = TestCards((
    TestCard("tok_visa", "4242424242424242", "314", "Visa", "credit"),
    TestCard("tok_mastercard", "5555555555554444", "314", "MasterCard", "credit"),
    TestCard("tok_amex", "371449635398431", "3141", "American Express", "credit"),
    TestCard("tok_visa_debit", "4000056655665556", "314", "Visa", "debit"),
))
