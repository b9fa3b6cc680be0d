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

from conformance.testcards import TEST_CARDS

__all__ = ["TEST_CARDS", "Session", "Scenario", "SUITE", "card_lifecycle", "captured_from"]


@dataclass
class Session:
    """An SDK client bound to one base URL, and a log of what was done."""

    base_url: str
    api_key: str
    tokens: str = "magic"
    steps: list[str] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)  # what each step returned, as plain data (None: an error)
    client: stripe.StripeClient = field(init=False)

    def __post_init__(self) -> None:
        self.client = stripe.StripeClient(
            self.api_key,
            base_addresses={"api": self.base_url},
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

    def source_for(self, token: str) -> str | None:
        """The ``source`` to attach a test card: the magic token, or a token made from its number."""
        if self.tokens == "magic":
            return token
        number, cvc = TEST_CARDS[token]
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
    for token in TEST_CARDS:
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
    session.step("an invalid exp_month is rejected", lambda: update(customer.id, card, {"exp_month": "13"}))


def scenario_retrieve(session: Session) -> None:
    """GET /v1/customers/:id/cards/:id and /sources/:id."""
    customer = _customer(session, "retrieve a card")
    card = _attach(session, customer, "tok_mastercard")
    session.step("retrieve via /cards/:id", lambda: session.get(f"/v1/customers/{customer.id}/cards/{card}"))
    session.step("retrieve via /sources/:id",
                 lambda: session.client.v1.customers.payment_sources.retrieve(customer.id, card))


def scenario_list(session: Session) -> None:
    """GET /v1/customers/:id/cards paged with limit and starting_after; /sources?object=card; the customer's ten."""
    customer = _customer(session, "list cards")
    tokens = list(TEST_CARDS) * 3  # 12 cards: more than a page, more than the ten a customer shows
    for token in tokens[:11]:
        _attach(session, customer, token)
    after = None
    while True:
        params: dict[str, Any] = {"limit": 3}
        if after:
            params["starting_after"] = after
        page = session.step(f"list cards, limit 3{', after ' + after if after else ''}",
                            partial(session.get, f"/v1/customers/{customer.id}/cards", **params))
        if page is None or not page["data"]:
            break
        after = page["data"][-1]["id"]
        if not page["has_more"]:
            break
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


def scenario_errors(session: Session) -> None:
    """An unknown customer, an unknown card, no API key."""
    customer = _customer(session, "errors")
    session.step("an unknown customer", lambda: session.get(f"/v1/customers/{UNKNOWN_CUSTOMER}/cards"))
    session.step("an unknown card", lambda: session.get(f"/v1/customers/{customer.id}/cards/{UNKNOWN_CARD}"))
    import httpx  # the SDK refuses to send a request without a key; a plain client does

    response = httpx.get(f"{session.base_url}/v1/customers/{customer.id}/cards", timeout=30,
                         verify=stripe.ca_bundle_path or True)
    session.steps.append(f"no API key: {response.status_code}")
    session.results.append(None)


# What public sources disagree on, and how the suite compares it; every cassette's header says it (`source:`,
# after where it was captured from) and marks it (`compare:`).
_CARD_DISPUTES = ("`*_check` values are the card network's: text or null conforms. The API reference's card examples show "
           "`wallet: null`, the OpenAPI card schema does not list it: not compared.")
_MISSING_CARD = (
    " The message and `param` of a missing card differ between public sources (`No such source: ...`, param `id`; "
    "independent fakes tested against the live API answer `Customer ... does not have card with ID ...`, "
    "param `card`): `error.param` is compared loosely, like every error message."
)


@dataclass(frozen=True)
class Scenario:
    run: Callable[[Session], None]
    fixtures: tuple[str, ...] = ()  # ids the cassette uses without a response minting them
    disputed: str = _CARD_DISPUTES  # what sources disagree on, for the header's source note
    compare: dict[str, list[str]] = field(default_factory=lambda: {"ignore": ["wallet"]})


def captured_from(upstream: str) -> str:
    """The default provenance of a captured cassette: where its answers came from."""
    return f"Captured with `conformance capture` from {upstream}."


SUITE: dict[str, Scenario] = {
    "cards-update": Scenario(scenario_update),
    "cards-retrieve": Scenario(scenario_retrieve),
    "cards-list": Scenario(scenario_list),
    "cards-delete": Scenario(scenario_delete, disputed=_CARD_DISPUTES + _MISSING_CARD,
                             compare={"ignore": ["wallet"], "loose": ["error.param"]}),
    "card-errors": Scenario(scenario_errors, (UNKNOWN_CUSTOMER, UNKNOWN_CARD), _CARD_DISPUTES + _MISSING_CARD,
                            {"ignore": ["wallet"], "loose": ["error.param"]}),
}
