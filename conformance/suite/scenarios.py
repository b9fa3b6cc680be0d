"""Card scenarios driven by the official ``stripe`` SDK, for recording real traffic.

The SDK is pointed at a base URL (a recording proxy in front of an upstream) and
walks the card endpoints the way an application does. ``tokens="magic"`` uses
Stripe's documented test tokens (``tok_visa``…), which the real API in test mode
understands; ``tokens="create"`` first creates tokens from test card numbers,
for servers such as localstripe that do not know the magic tokens.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import stripe

from conformance.api_profile import TokenMode
from conformance.stripe import STRIPE
from conformance.stripe.testcards import CARDS

# The test cards every common target attaches (16-digit numbers): the scenarios of documented rules use only these.
COMMON_CARDS = ("tok_visa", "tok_mastercard", "tok_visa_debit")

__all__ = ["Session", "Scenario", "SUITE", "RETRY_SUITE", "SUITE_API_VERSION", "card_lifecycle", "captured_from"]

# The API version the reference suite's answers follow (the OpenAPI description the fake is written to).
SUITE_API_VERSION = "2023-08-16"


@dataclass
class Session:
    """An SDK client bound to one base URL, and a log of what was done."""

    base_url: str
    api_key: str
    tokens: TokenMode = "magic"
    api_version: str = SUITE_API_VERSION  # what the suite's answers follow: the SDK is pinned to it
    steps: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)  # what each step returned, as plain data (None: an error)
    client: stripe.StripeClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.base_url},
            stripe_version=self.api_version,
            max_network_retries=0,
        )

    def step(self, label: str, call: Callable[[], Any]) -> Any:
        """Run one SDK call; an API error is an answer too, recorded like any other."""
        try:
            result = call()
        except stripe.StripeError as error:
            self.steps.append(f"{label}: {type(error).__name__} {error.http_status}")
            self.results.append(None)
            return None
        self.steps.append(label)
        self.results.append(result.to_dict() if hasattr(result, "to_dict") else result)
        return result

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.raw_request("get", path, **params)
        return self.client.deserialize(response, api_mode="V1")

    def delete(self, path: str) -> Any:
        """A route the SDK has no method for (``/cards/:id``)."""
        return self.client.deserialize(self.client.raw_request("delete", path), api_mode="V1")

    def source_for(self, token: str) -> str | None:
        """The ``source`` to attach a test card: the magic token, or a token made from its number."""
        if self.tokens == "magic":
            return token
        number, cvc = CARDS.by_token[token].number, CARDS.by_token[token].cvc
        card = {"number": number, "cvc": cvc, "exp_month": "8", "exp_year": "2031"}
        created = self.step(f"create a token for {token}", lambda: self.client.v1.tokens.create({"card": card}))  # type: ignore[arg-type]
        return created.id if created is not None else None


def card_lifecycle(session: Session) -> None:
    """Create a customer and four cards; update, retrieve, list, page and delete them."""
    v1 = session.client.v1
    customer = session.step(
        "create customer",
        lambda: v1.customers.create({"email": "jenny.rosen@example.com", "description": "card lifecycle"}),
    )
    if customer is None:
        raise RuntimeError("the upstream did not create a customer; is the API key accepted?")
    cards = []
    for token in CARDS.tokens:
        source = session.source_for(token)
        if source is None:
            continue
        card = session.step(f"attach {token}",
                            partial(v1.customers.payment_sources.create, customer.id, {"source": source}))
        if card is not None:
            cards.append(card.id)
    if len(cards) < 2:
        raise RuntimeError("the upstream did not attach the test cards")
    first, second = cards[0], cards[1]
    sources = v1.customers.payment_sources
    session.step(
        "update name, address, expiry, metadata",
        lambda: sources.update(customer.id, first, {
            "name": "Jenny Rosen",
            "address_line1": "510 Townsend St",
            "address_line2": "Floor 2",
            "address_city": "San Francisco",
            "address_state": "CA",
            "address_zip": "94103",
            "address_country": "US",
            "exp_month": "12",
            "exp_year": "2032",
            "metadata": {"order_id": "6735", "channel": "web"},
        }),
    )
    session.step("unset one metadata key", lambda: sources.update(customer.id, first, {"metadata": {"channel": ""}}))
    session.step("retrieve via /cards/:id", lambda: session.get(f"/v1/customers/{customer.id}/cards/{first}"))
    session.step("retrieve via /sources/:id", lambda: sources.retrieve(customer.id, first))
    page = session.step("list cards, limit 3", lambda: session.get(f"/v1/customers/{customer.id}/cards", limit=3))
    if page is not None and "data" in page and page["data"]:
        last = page["data"][-1]["id"]
        session.step(
            "list cards after the first page",
            lambda: session.get(f"/v1/customers/{customer.id}/cards", limit=3, starting_after=last),
        )
    session.step("list sources of type card", lambda: sources.list(customer.id, {"object": "card", "limit": 10}))
    session.step("delete a card", lambda: sources.delete(customer.id, second))
    session.step("retrieve the deleted card", lambda: session.get(f"/v1/customers/{customer.id}/cards/{second}"))
    session.step("retrieve the deleted card via /sources", lambda: sources.retrieve(customer.id, second))
    session.step("delete the default card", lambda: sources.delete(customer.id, first))
    session.step("retrieve the customer: default_source moved", lambda: v1.customers.retrieve(customer.id))


# ------------------------------------------------------------- the reference suite
# Each scenario creates its own customer and cards, so it replays on any target
# through id binding. Ids that no response mints (an unknown customer, on
# purpose) are declared as fixtures in the cassette header.

UNKNOWN_CUSTOMER = "cus_" + "DoesNotExist0000"
UNKNOWN_CARD = "card_" + "DoesNotExist0000"
UNKNOWN_TOKEN = "tok_" + "DoesNotExist0000"


def _customer(session: Session, description: str) -> Any:
    customer = session.step(
        "create a customer",
        lambda: session.client.v1.customers.create({"email": "jenny.rosen@example.com", "description": description}),
    )
    if customer is None:
        raise RuntimeError("the upstream did not create a customer; is the API key accepted?")
    return customer


def _attach(session: Session, customer: Any, token: str) -> str:
    source = session.source_for(token)
    if source is None:
        raise RuntimeError(f"the upstream did not create a token for {token}")
    card = session.step(f"attach {token}",
                        lambda: session.client.v1.customers.payment_sources.create(customer.id, {"source": source}))
    if card is None:
        raise RuntimeError(f"the upstream did not attach {token}")
    return card.id


def scenario_update(session: Session) -> None:
    """POST /v1/customers/:id/sources/:id — every updatable field, metadata set and unset, a bad expiry."""
    customer = _customer(session, "update a card")
    card = _attach(session, customer, "tok_visa")
    update = session.client.v1.customers.payment_sources.update
    session.step("update the name", lambda: update(customer.id, card, {"name": "Jenny Rosen"}))
    session.step("update every address field", lambda: update(customer.id, card, {
        "address_line1": "510 Townsend St", "address_line2": "Floor 2", "address_city": "San Francisco",
        "address_state": "CA", "address_zip": "94103", "address_country": "US",
    }))
    session.step("update the expiry", lambda: update(customer.id, card, {"exp_month": "12", "exp_year": "2032"}))
    session.step("set metadata", lambda: update(customer.id, card, {"metadata": {"order_id": "6735", "channel": "web"}}))
    session.step("unset one metadata key", lambda: update(customer.id, card, {"metadata": {"channel": ""}}))
    session.step("unset all metadata", lambda: update(customer.id, card, {"metadata": ""}))
    session.step("retrieve after the updates via /cards/:id",
                 lambda: session.get(f"/v1/customers/{customer.id}/cards/{card}"))
    session.step("retrieve after the updates via /sources/:id",
                 lambda: session.client.v1.customers.payment_sources.retrieve(customer.id, card))
    session.step("an invalid exp_month is rejected", lambda: update(customer.id, card, {"exp_month": "13"}))


def scenario_retrieve(session: Session) -> None:
    """GET /v1/customers/:id/cards/:id and /sources/:id, plain and with expand[]=customer."""
    customer = _customer(session, "retrieve a card")
    card = _attach(session, customer, "tok_mastercard")
    session.step("retrieve via /cards/:id", lambda: session.get(f"/v1/customers/{customer.id}/cards/{card}"))
    session.step("retrieve via /sources/:id",
                 lambda: session.client.v1.customers.payment_sources.retrieve(customer.id, card))
    session.step("retrieve with expand[]=customer via /cards/:id",
                 lambda: session.get(f"/v1/customers/{customer.id}/cards/{card}", expand=["customer"]))
    session.step("retrieve with expand[]=customer via /sources/:id",
                 lambda: session.client.v1.customers.payment_sources.retrieve(customer.id, card,
                                                                              {"expand": ["customer"]}))


def scenario_list(session: Session) -> None:
    """GET /v1/customers/:id/cards paged with limit, starting_after and ending_before; the default page size and
    the limit's bounds; /sources?object=card; the customer's ten most recent."""
    customer = _customer(session, "list cards")
    tokens = list(COMMON_CARDS) * 4  # 11 cards: more than a page, more than the ten a customer shows
    for token in tokens[:11]:
        _attach(session, customer, token)
    pages: list[list[str]] = []
    after = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if after:
            params["starting_after"] = after
        page = session.step(f"list cards, limit 3{', after ' + after if after else ''}",
                            partial(session.get, f"/v1/customers/{customer.id}/cards", **params))
        if page is None or not page["data"]:
            break
        pages.append([item["id"] for item in page["data"]])
        after = page["data"][-1]["id"]
        if not page["has_more"]:
            break
    if len(pages) >= 3:
        before = pages[2][0]
        session.step("list cards, limit 3, ending before the third page: the second page again",
                     partial(session.get, f"/v1/customers/{customer.id}/cards", limit=3, ending_before=before))
    session.step("list cards without limit: the default page of 10",
                 partial(session.get, f"/v1/customers/{customer.id}/cards"))
    for limit in (0, 101):
        session.step(f"limit={limit} is refused (1 to 100)",
                     partial(session.get, f"/v1/customers/{customer.id}/cards", limit=limit))
    session.step("list sources of type card",
                 lambda: session.client.v1.customers.payment_sources.list(customer.id, {"object": "card", "limit": 3}))
    session.step("retrieve the customer: no sources unless expanded",
                 lambda: session.client.v1.customers.retrieve(customer.id))
    session.step("retrieve the customer with expand[]=sources: its ten most recent sources",
                 lambda: session.client.v1.customers.retrieve(customer.id, {"expand": ["sources"]}))


def scenario_delete(session: Session) -> None:
    """DELETE /v1/customers/:id/sources/:id — deleted: true, 404 afterwards; deleting the default moves it to
    the most recently added of the two cards left (not the oldest), deleting the last makes it null.

    Only cards every common target attaches (16-digit Visa and Mastercard; localstripe refuses the 15-digit
    Amex), so the rule is judged on each of them."""
    customer = _customer(session, "delete cards")
    first = _attach(session, customer, "tok_visa")  # the default source
    second = _attach(session, customer, "tok_mastercard")
    third = _attach(session, customer, "tok_visa_debit")
    fourth = _attach(session, customer, "tok_mastercard")  # the most recently added
    sources = session.client.v1.customers.payment_sources
    session.step("delete a card that is not the default", lambda: sources.delete(customer.id, second))
    session.step("retrieve the deleted card", lambda: session.get(f"/v1/customers/{customer.id}/cards/{second}"))
    session.step("delete the default card", lambda: sources.delete(customer.id, first))
    session.step("the default moved to the most recently added, not the oldest left",
                 lambda: session.client.v1.customers.retrieve(customer.id))
    session.step("delete the new default", lambda: sources.delete(customer.id, fourth))
    session.step("the default moved to the one card left", lambda: session.client.v1.customers.retrieve(customer.id))
    session.step("delete the last card", lambda: sources.delete(customer.id, third))
    session.step("no default source is left", lambda: session.client.v1.customers.retrieve(customer.id))
    fifth = _attach(session, customer, "tok_visa")  # the only card: the default again
    session.step("delete via /cards/:id", lambda: session.delete(f"/v1/customers/{customer.id}/cards/{fifth}"))
    session.step("the card deleted via /cards/:id is gone",
                 lambda: session.get(f"/v1/customers/{customer.id}/cards/{fifth}"))


def scenario_amex(session: Session) -> None:
    """The 15-digit American Express test card, on its own: some targets refuse it (localstripe takes 16 digits
    only), and no other scenario depends on it."""
    customer = _customer(session, "an amex card")
    card = _attach(session, customer, "tok_amex")
    session.step("retrieve via /cards/:id", lambda: session.get(f"/v1/customers/{customer.id}/cards/{card}"))
    session.step("retrieve via /sources/:id",
                 lambda: session.client.v1.customers.payment_sources.retrieve(customer.id, card))


def scenario_errors(session: Session) -> None:
    """An unknown customer, an unknown card on every route (404 resource_missing), no API key."""
    customer = _customer(session, "errors")
    sources = session.client.v1.customers.payment_sources
    session.step("an unknown customer", lambda: session.get(f"/v1/customers/{UNKNOWN_CUSTOMER}/cards"))
    session.step("an unknown card", lambda: session.get(f"/v1/customers/{customer.id}/cards/{UNKNOWN_CARD}"))
    session.step("an unknown card via /sources/:id", lambda: sources.retrieve(customer.id, UNKNOWN_CARD))
    session.step("updating an unknown card", lambda: sources.update(customer.id, UNKNOWN_CARD, {"name": "Jenny Rosen"}))
    session.step("deleting an unknown card", lambda: sources.delete(customer.id, UNKNOWN_CARD))
    import httpx  # the SDK refuses to send a request without a key; a plain client does

    response = httpx.get(f"{session.base_url}/v1/customers/{customer.id}/cards", timeout=30,
                         headers={"Stripe-Version": session.api_version}, verify=stripe.ca_bundle_path or True)
    session.steps.append(f"no API key: {response.status_code}")
    session.results.append(None)


def scenario_retries(session: Session) -> None:
    """Retries that cannot charge twice (Stripe API reference, Idempotent requests): a retried create, attach and
    update answered with the first answer and no second card (the list read back), a corrected retry after a validation
    error executed, a key reused with other parameters refused. Each key is the scenario's own, recorded as is, so
    a replay sends one fresh key for each.

    The updates and the reused key (the update's) come last: a refused request carrying a test token would read as
    the upstream refusing the test card (`conformance check`'s weak reference), and a list read back after an
    update would make a target that fails the update fail twice, once for each symptom."""
    created: dict[str, Any] = {"idempotency_key": "retry-create-customer"}
    params: dict[str, Any] = {"email": "jenny.rosen@example.com", "description": "retries"}
    for label in ("create a customer with an idempotency key", "the same create retried: the same customer"):
        customer = session.step(label, lambda: session.client.v1.customers.create(params, created))  # type: ignore[arg-type]
    if customer is None:
        raise RuntimeError("the upstream did not create a customer; is the API key accepted?")
    sources = session.client.v1.customers.payment_sources
    source = session.source_for("tok_visa")
    once: dict[str, Any] = {"idempotency_key": "retry-attach-visa"}
    for label in ("attach tok_visa with an idempotency key", "the same attach retried: the first answer again"):
        card = session.step(label, lambda: sources.create(customer.id, {"source": source or ""}, once))  # type: ignore[arg-type]
    if card is None:
        raise RuntimeError("the upstream did not attach tok_visa")
    session.step("the customer's cards: one card, not two", lambda: session.get(f"/v1/customers/{customer.id}/cards"))
    other = session.source_for("tok_mastercard")
    corrected: dict[str, Any] = {"idempotency_key": "retry-after-validation"}
    session.step("an attach that fails validation (no such token)",
                 lambda: sources.create(customer.id, {"source": UNKNOWN_TOKEN}, corrected))  # type: ignore[arg-type]
    session.step("the corrected attach with the same key is executed",
                 lambda: sources.create(customer.id, {"source": other or ""}, corrected))  # type: ignore[arg-type]
    session.step("the customer's cards: the two attached", lambda: session.get(f"/v1/customers/{customer.id}/cards"))
    # the customer with its sources, a route every fake answers (localstripe and others lack GET /cards): each
    # card once — a target that executed a retried attach behind its first answer lists the card twice
    session.step("the customer with its sources: each card once",
                 lambda: session.get(f"/v1/customers/{customer.id}", expand=["sources"]))
    named: dict[str, Any] = {"idempotency_key": "retry-update-name"}
    for label in ("update the name with an idempotency key", "the same update retried"):
        session.step(label, lambda: sources.update(customer.id, card.id, {"name": "Jenny Rosen"}, named))  # type: ignore[arg-type]
    session.step("the update's key with another name is refused (idempotency_error)",
                 lambda: sources.update(customer.id, card.id, {"name": "Someone Else"}, named))  # type: ignore[arg-type]


# What public sources disagree on, and how the suite compares it; every cassette's header says it (`source:`,
# after where it was captured from) and marks it (`compare:`).
_CARD_DISPUTES = ("`*_check` values are the card network's: text or null conforms. The API reference's card examples show "
           "`wallet: null`, the OpenAPI card schema does not list it: not compared. A new customer's `currency` is "
           "null by the OpenAPI description (nullable, set by the first charge) and `\"usd\"` in Stripe's own "
           "fixture: text or null conforms. A customer's `preferred_locales` is nullable by the OpenAPI description and "
           "`[]` in Stripe's own fixture: a list or null conforms.")
_MISSING_CARD = (
    " The message and `param` of a missing card differ between public sources (`No such source: ...`, param `id`; "
    "independent fakes tested against the live API answer `Customer ... does not have card with ID ...`, "
    "param `card`): `error.param` is compared loosely, like every error message."
)
_CARD_ERROR = (
    " 402 `card_error` for an invalid expiry comes from the official SDKs' error mapping (CardError) and Stripe's "
    "error documentation, not from the API reference or the OpenAPI description."
)
_LIMIT_BOUNDS = (
    " The API reference documents `limit` from 1 to 100 (default 10); the code a refused bound answers "
    "(`parameter_invalid_integer`) comes from this fake: `error.code` is compared loosely."
)
# How they are compared is the profile's (STRIPE.comparison: run and explore compare them so with or without a
# header); each header records it for its reader. A scenario's own `loose` is broader than the profile's.
_COMPARE = {"ignore": sorted(STRIPE.comparison.ignored), "nullable": sorted(STRIPE.comparison.nullable)}


_RETRIES = (
    " The status of an idempotency key reused with other parameters is 400 in some public sources, 409 or 422 in "
    "others; the error type `idempotency_error` is the reference's: `status` of that answer is judged by the rule "
    "idempotency.mismatch (400, 409 or 422), and its message compared loosely. `Idempotent-Replayed: true` on a "
    "replay is observed from Stripe by public parity tests, not written in the reference: a warning."
)


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Session], None]
    fixtures: tuple[str, ...] = ()  # ids the cassette uses without a response minting them
    disputed: str = _CARD_DISPUTES  # what sources disagree on, for the header's source note
    compare: dict[str, list[str]] = field(default_factory=lambda: dict(_COMPARE))


def captured_from(upstream: str) -> str:
    """The default provenance of a captured cassette: where its answers came from."""
    return f"Captured with `conformance capture` from {upstream}."


SUITE: dict[str, Scenario] = {
    "cards-update": Scenario(scenario_update, disputed=_CARD_DISPUTES + _CARD_ERROR),
    "cards-retrieve": Scenario(scenario_retrieve),
    "cards-list": Scenario(scenario_list, disputed=_CARD_DISPUTES + _LIMIT_BOUNDS,
                           compare={**_COMPARE, "loose": ["error.code"]}),
    "cards-delete": Scenario(scenario_delete, disputed=_CARD_DISPUTES + _MISSING_CARD,
                             compare={**_COMPARE, "loose": ["error.param"]}),
    "cards-amex": Scenario(scenario_amex),
    "card-errors": Scenario(scenario_errors, (UNKNOWN_CUSTOMER, UNKNOWN_CARD), _CARD_DISPUTES + _MISSING_CARD,
                            {**_COMPARE, "loose": ["error.param"]}),
    "cards-retries": Scenario(scenario_retries, (UNKNOWN_TOKEN,), _CARD_DISPUTES + _RETRIES),
}

# The scenarios of the retry contract (a view of SUITE): judged on any target, captured only from an upstream that
# keeps the contract (api.stripe.com, tests/stripe_fake.py).
RETRY_SUITE: dict[str, Scenario] = {name: SUITE[name] for name in ("cards-retries",)}
