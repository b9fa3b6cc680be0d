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

from dataclasses import dataclass
from typing import Literal

__all__ = ["TestCard", "CARDS", "TEST_CARDS", "DEFAULT", "DEFAULT_API_KEY", "TokenMode", "TOKEN_MODES", "alias_of",
           "by_alias", "by_number", "for_last4"]

# The key sent when none is given: a test key of the shape every public fake accepts — stripe-mock takes
# ``sk_`` or ``rk_``, ``test``, and one more part without ``_`` (its server.go, validateAuth).
DEFAULT_API_KEY = "sk_test_cardconformance"

# "magic": the test tokens (tok_visa) sent as recorded; "create": a token made at the target from the card each
# stands for first, for targets that do not know them (localstripe).
TokenMode = Literal["magic", "create"]
TOKEN_MODES: tuple[TokenMode, ...] = ("magic", "create")


@dataclass(frozen=True)
class TestCard:
    token: str
    number: str
    cvc: str
    brand: str
    funding: str

    @property
    def last4(self) -> str:
        return self.number[-4:]

    @property
    def alias(self) -> str:
        """What a redaction marker calls it: ``visa-debit-5556``."""
        brand = {"American Express": "amex"}.get(self.brand, self.brand.lower())
        return f"{brand}{'-debit' if self.funding == 'debit' else ''}-{self.last4}"


CARDS = (
    TestCard("tok_visa", "4242424242424242", "314", "Visa", "credit"),
    TestCard("tok_mastercard", "5555555555554444", "314", "MasterCard", "credit"),
    TestCard("tok_amex", "371449635398431", "3141", "American Express", "credit"),
    TestCard("tok_visa_debit", "4000056655665556", "314", "Visa", "debit"),
)
# magic token -> (number, cvc)
TEST_CARDS = {card.token: (card.number, card.cvc) for card in CARDS}
_BY_NUMBER = {card.number: card for card in CARDS}
_BY_ALIAS = {card.alias: card for card in CARDS}
_BY_LAST4 = {card.last4: card for card in CARDS}
DEFAULT = CARDS[0]


def alias_of(number: str) -> str | None:
    """The alias of a documented test card number (digits only), None for any other number."""
    card = _BY_NUMBER.get(number)
    return card.alias if card is not None else None


def by_alias(alias: str) -> TestCard | None:
    return _BY_ALIAS.get(alias)


def by_number(number: str) -> TestCard | None:
    return _BY_NUMBER.get(number)


def for_last4(last4: object) -> tuple[str, str]:
    """(number, cvc) of the test card ending in ``last4``, Visa 4242 when unknown."""
    card = _BY_LAST4.get(last4, DEFAULT) if isinstance(last4, str) else DEFAULT
    return card.number, card.cvc
