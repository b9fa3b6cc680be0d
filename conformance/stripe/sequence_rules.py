"""The documented card rules only a sequence of requests shows, each with the API reference section it comes from.

Registered with the rule registry when the profile is imported; ``conformance explore`` judges them (and
``run`` the fingerprint one). Each carries its traits: a stateless fake (stripe-mock) keeps no card, so the rules
about what a card keeps belong to the ``stateless`` known-limitation preset; the fingerprint, which ``run`` judges
too, is a row of every matrix. The rules a sequence shares with a single answer keep their ids:
``invariant.default_source``, ``invariant.deleted_card``, ``invariant.deleted``, ``invariant.list`` (``has_more``
exactly when more follow, ``limit`` bounds) and ``list.order`` (newest first).
"""

from __future__ import annotations

from conformance.rules import MatrixRow, Rule, Severity, register

__all__ = ["SEQUENCE_RULES"]

_CARDS = "Stripe API reference, Cards"
_STATELESS = frozenset({"stateless"})  # what a fake that keeps no card cannot keep
SEQUENCE_RULES = (
    Rule("card.attributes", Severity.FAILURE, "a card's attributes (name, address, expiry) are what its last update "
         "set, wherever it is read", f"{_CARDS}: Update a card", presets=_STATELESS),
    Rule("card.metadata", Severity.FAILURE, "an update's metadata is merged into the card's: other keys kept, a key "
         "set to \"\" removed, metadata=\"\" removes all", f"{_CARDS}: Update a card (metadata); Metadata",
         presets=_STATELESS),
    Rule("card.fingerprint", Severity.FAILURE, "the same card number gives the same `fingerprint` (it \"uniquely "
         "identifies this particular card number\")", f"{_CARDS}: The card object (fingerprint)",
         presets=_STATELESS, matrix=MatrixRow.BEYOND),
    Rule("card.deleted_gone", Severity.FAILURE, "a deleted card is gone from its customer's lists and sources",
         f"{_CARDS}: Delete a card", presets=_STATELESS),
    Rule("card.deleted_unchangeable", Severity.FAILURE, "a deleted card can be neither updated nor deleted again "
         "(404 `resource_missing`)", f"{_CARDS}: Delete a card; Errors (resource_missing)", presets=_STATELESS),
    Rule("card.other_customer", Severity.FAILURE, "a card is reachable only through its own customer (404 "
         "`resource_missing` through another)", f"{_CARDS}: Retrieve a card (GET /v1/customers/:customer/cards/:id)",
         presets=_STATELESS),
    Rule("request.read_only", Severity.FAILURE, "a read-only attribute on an update (brand, funding, fingerprint, "
         "cvc_check) is refused with 400 `parameter_unknown`", f"{_CARDS}: Update a card (its parameters); Errors"),
    Rule("request.unknown_parameter", Severity.FAILURE, "an unknown parameter is refused with 400 "
         "`parameter_unknown` naming it", "Stripe API reference, Errors (parameter_unknown)"),
    Rule("request.invalid_expiry", Severity.FAILURE, "an impossible `exp_month` (13, 0) is refused with 402 "
         "`card_error` `invalid_expiry_month`", "Stripe API reference, Errors (card_error: invalid_expiry_month)"),
)
register(*SEQUENCE_RULES)
