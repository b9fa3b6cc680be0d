"""Stripe's card endpoints and the setup traffic around them: which documented route a request belongs to.

Source: the Stripe API reference (cards: update ``POST /v1/customers/:id/sources/:id``,
retrieve ``GET /v1/customers/:id/cards/:id``, list ``GET /v1/customers/:id/cards``,
delete ``DELETE /v1/customers/:id/sources/:id``); the ``/cards/`` and ``/sources/``
spellings are both served by the API.
"""

from __future__ import annotations

from conformance.api_profile import Route, RouteTable

__all__ = ["ROUTES"]

ROUTES = RouteTable((
    # The card endpoints under test.
    Route("cards.update", "POST", "/v1/customers/{customer}/sources/{card}", "update"),
    Route("cards.update", "POST", "/v1/customers/{customer}/cards/{card}", "update"),
    Route("cards.retrieve", "GET", "/v1/customers/{customer}/cards/{card}", "retrieve"),
    Route("cards.list", "GET", "/v1/customers/{customer}/cards", "list"),
    Route("cards.delete", "DELETE", "/v1/customers/{customer}/sources/{card}", "delete"),
    Route("cards.delete", "DELETE", "/v1/customers/{customer}/cards/{card}", "delete"),
    Route("cards.create", "POST", "/v1/customers/{customer}/cards", "create"),
    # Setup traffic around them.
    Route("sources.retrieve", "GET", "/v1/customers/{customer}/sources/{card}", "retrieve"),
    Route("sources.list", "GET", "/v1/customers/{customer}/sources", "list"),
    Route("sources.create", "POST", "/v1/customers/{customer}/sources", "create"),
    Route("customers.create", "POST", "/v1/customers", "create"),
    # No action: the documented rules this profile judges are those of cards and their lists.
    Route("customers.list", "GET", "/v1/customers"),
    Route("customers.retrieve", "GET", "/v1/customers/{customer}", "retrieve"),
    Route("customers.update", "POST", "/v1/customers/{customer}"),
    Route("customers.delete", "DELETE", "/v1/customers/{customer}"),
    Route("tokens.create", "POST", "/v1/tokens", "create"),
    Route("tokens.retrieve", "GET", "/v1/tokens/{token}", "retrieve"),
))
