"""Stripe's documented test cards, and the magic test tokens that stand for them.

Cassettes never hold a card number, so when a recorded request carried one
(``card[number]`` is ``[REDACTED:card-number]``), the replay sends the test card
whose last four digits the recorded response shows. A target that does not know
the magic tokens (``tok_visa``) can be given tokens made from these numbers
(``conformance run --tokens create``).

Source: Stripe's testing documentation (test card numbers and tokens):
``tok_amex`` is the American Express card ending 8431, ``tok_visa_debit`` a
Visa debit card ending 5556.
"""

from __future__ import annotations

# magic token -> (number, cvc)
TEST_CARDS = {
    "tok_visa": ("4242424242424242", "314"),
    "tok_mastercard": ("5555555555554444", "314"),
    "tok_amex": ("371449635398431", "3141"),
    "tok_visa_debit": ("4000056655665556", "314"),
}
BY_LAST4 = {number[-4:]: (number, cvc) for number, cvc in TEST_CARDS.values()}
DEFAULT = TEST_CARDS["tok_visa"]


def for_last4(last4: object) -> tuple[str, str]:
    """(number, cvc) of the test card ending in ``last4``, Visa 4242 when unknown."""
    return BY_LAST4.get(last4, DEFAULT) if isinstance(last4, str) else DEFAULT
