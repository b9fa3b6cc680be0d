"""The route table: which documented endpoint a request belongs to.

Every interaction in a cassette is labelled with an endpoint name (``cards.update``)
so reports can group findings per endpoint and rules can be chosen per endpoint.
Anything not in the table is the generic route ``other``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["Route", "RouteMatch", "ROUTES", "match_route", "endpoint_for", "OTHER"]

OTHER = "other"


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    template: str  # e.g. /v1/customers/{customer}/sources/{source}

    @property
    def pattern(self) -> re.Pattern[str]:
        return _compile(self.template)


def _compile(template: str) -> re.Pattern[str]:
    regex = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template))
    return re.compile(regex + "/?")


ROUTES: tuple[Route, ...] = (
    # The card endpoints under test.
    Route("cards.update", "POST", "/v1/customers/{customer}/sources/{card}"),
    Route("cards.update", "POST", "/v1/customers/{customer}/cards/{card}"),
    Route("cards.retrieve", "GET", "/v1/customers/{customer}/cards/{card}"),
    Route("cards.list", "GET", "/v1/customers/{customer}/cards"),
    Route("cards.delete", "DELETE", "/v1/customers/{customer}/sources/{card}"),
    Route("cards.delete", "DELETE", "/v1/customers/{customer}/cards/{card}"),
    Route("cards.create", "POST", "/v1/customers/{customer}/cards"),
    # Setup traffic around them.
    Route("sources.retrieve", "GET", "/v1/customers/{customer}/sources/{card}"),
    Route("sources.list", "GET", "/v1/customers/{customer}/sources"),
    Route("sources.create", "POST", "/v1/customers/{customer}/sources"),
    Route("customers.create", "POST", "/v1/customers"),
    Route("customers.list", "GET", "/v1/customers"),
    Route("customers.retrieve", "GET", "/v1/customers/{customer}"),
    Route("customers.update", "POST", "/v1/customers/{customer}"),
    Route("customers.delete", "DELETE", "/v1/customers/{customer}"),
    Route("tokens.create", "POST", "/v1/tokens"),
    Route("tokens.retrieve", "GET", "/v1/tokens/{token}"),
)

_BY_METHOD: dict[str, list[tuple[re.Pattern[str], Route]]] = {}
for _route in ROUTES:
    _BY_METHOD.setdefault(_route.method, []).append((_route.pattern, _route))


@dataclass(frozen=True)
class RouteMatch:
    route: Route
    params: dict[str, str]  # template name -> value from the path, e.g. {"customer": "cus_…", "card": "card_…"}

    @property
    def name(self) -> str:
        return self.route.name


def match_route(method: str, path: str) -> RouteMatch | None:
    """The documented route of a request, with the ids its path names; None when it is not in the table."""
    for pattern, route in _BY_METHOD.get(method.upper(), ()):
        found = pattern.fullmatch(path)
        if found:
            return RouteMatch(route, found.groupdict())
    return None


def endpoint_for(method: str, path: str) -> str:
    """The endpoint name of a request, ``other`` when it is not in the table."""
    found = match_route(method, path)
    return found.name if found else OTHER
