"""Stripe, as the engine needs to know it: one profile, built from the tables beside it.

``routes`` (the documented card endpoints and their setup traffic), ``ids`` (the id
scheme), ``testcards`` (test cards and magic tokens), ``rules`` (what the
documentation promises: the rule set, registered when this package is imported).
The engine never imports this package: the command line, the pytest plugin and
the addons hand :data:`STRIPE` (or a profile extended from it) to it.
"""

from conformance.api_profile import ApiProfile, ComparisonDefaults, Headers
from conformance.stripe.idempotency import IDEMPOTENCY
from conformance.stripe.ids import IDS
from conformance.stripe.routes import ROUTES
from conformance.stripe.rules import CARD_RULES
from conformance.stripe.testcards import CARDS, DEFAULT_API_KEY

__all__ = ["STRIPE"]

STRIPE = ApiProfile(
    name="stripe",
    routes=ROUTES,
    ids=IDS,
    cards=CARDS,
    rules=CARD_RULES,
    default_api_key=DEFAULT_API_KEY,
    token_path="/v1/tokens",
    focus=("cards.",),
    token_parameters=frozenset({"source", "card", "default_source"}),
    headers=Headers(
        request=("Authorization", "Content-Type", "Stripe-Version", "Idempotency-Key", "Stripe-Account"),
        # the retry contract's (Stripe API reference: Idempotent requests, Request IDs, Errors): recorded, not compared
        response=("Content-Type", "Stripe-Version", "Idempotency-Key", "Stripe-Account", "Request-Id",
                  "Idempotent-Replayed", "Original-Request", "Stripe-Should-Retry", "Retry-After"),
        forwarded=("Content-Type", "Stripe-Version", "Stripe-Account"),
        version="Stripe-Version",
        idempotency="Idempotency-Key",
        request_id="Request-Id",
        replayed="Idempotent-Replayed",
        original_request="Original-Request",
    ),
    comparison=ComparisonDefaults(
        # what the server mints: compared by type and shape only (ids are compared exactly, through binding)
        minted=frozenset({"created", "fingerprint", "invoice_prefix", "request_log_url", "client_secret"}),
        # a card's expiry is the test token's unless a request of the cassette set it
        set_by_request=frozenset({"exp_month", "exp_year"}),
        # cvc_check, address_zip_check…: the card network's, not the request's; fakes tested against the live
        # API answer null where the recording has "pass"
        verification_suffix="_check",
        user_data=frozenset({"metadata"}),
        # what public sources disagree on (the reference suite's headers say it too, in `source:` and `compare:`):
        # a new customer's currency is null by the OpenAPI description (set by the first charge) and "usd" in
        # Stripe's own fixture; its preferred_locales nullable by the OpenAPI description and [] in the fixture
        nullable=frozenset({"currency", "preferred_locales"}),
        # the API reference's card examples show `wallet: null`, the OpenAPI card schema does not list it
        ignored=frozenset({"wallet"}),
        # the API reference documents `limit` from 1 to 100 (default 10), not the code a refused bound answers:
        # parameter_invalid_integer is tests/stripe_fake.py's (the suite's source), any code conforms where it is
        loose=frozenset({("error.code", "parameter_invalid_integer")}),
    ),
    # Stripe's changelog (2020-08-27): "The sources, subscriptions and tax_ids properties on Customer objects are
    # no longer included by default".
    left_out_unless_expanded=frozenset({("customer", "sources"), ("customer", "subscriptions"),
                                        ("customer", "tax_ids")}),
    explore="conformance.stripe.explore:CARD_MACHINES",
    retries=IDEMPOTENCY,
)
