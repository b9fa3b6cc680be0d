"""A recording judged by what the tool knows: is its upstream a weak reference?

A cassette becomes the oracle every target is held to. Recorded from an
upstream that lacks a route, refuses the API's test tokens or answers a test
card as another brand, it would hold every target to those faults — and a
matrix would call the same missing route "holds" at the very upstream. What the
API profile knows of the API judges the recording first:

- a route of the profile's route table answered 404/405 *no such route*
  (a page or plain text, or an error saying the URL is unknown), not an API
  error saying an object does not exist;
- a request that sent one of the profile's test tokens (``tok_visa``) refused,
  when nothing else in it can be what was refused (every id in its path was
  minted earlier by the same upstream) or the error names the token;
- a card answered for a test card (named by the request's redaction marker,
  ``[REDACTED:card-number:mastercard-4444]``, or a test token, or an id the
  recording minted for one) with another brand, funding or last four digits.

The documented rules broken by the recorded answers are judged beside these
(``conformance.checks.lint``): together, the weak spots of a recording.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from conformance.api_profile import ApiProfile, TestCard, route_text
from conformance.cassette import Interaction
from conformance.cassette.exchange import GENERATED_KEY
from conformance.checks.response import no_such_route
from conformance.text import snippet

__all__ = ["WeakSpot", "WeakReference", "KINDS", "weak_summary", "MISSING_ROUTE", "REFUSED_TOKEN", "CARD_CONTRADICTED", "DOCUMENTED_RULE"]

MISSING_ROUTE = "missing route"
REFUSED_TOKEN = "refused test card"
CARD_CONTRADICTED = "test card contradicted"
DOCUMENTED_RULE = "documented rule broken"

# each kind as a count says it: "2 missing routes", "1 test card contradicted"
KINDS: dict[str, str] = {MISSING_ROUTE: "missing routes", REFUSED_TOKEN: "refused test cards",
                         CARD_CONTRADICTED: "test cards contradicted", DOCUMENTED_RULE: "documented rules broken"}

_MARKER = re.compile(r"\[REDACTED:card-number:([a-z0-9-]+)\]")
_CARD_FIELDS = ("brand", "funding", "last4")
_CARD_PARAMETERS = ("card", "number", "card[number]")  # what an error names when it refuses the card itself


@dataclass
class WeakSpot:
    """One thing the recording's upstream got wrong, as the tool knows the API."""

    kind: str
    interaction: Interaction
    message: str


@dataclass
class WeakReference:
    """The weak spots of one cassette, interaction by interaction (fed in order: ids minted earlier matter)."""

    profile: ApiProfile
    minted: set[str] = field(default_factory=set)  # ids the upstream made (or the header's fixtures: it knows them)
    cards: dict[str, TestCard] = field(default_factory=dict)  # an id minted for a test card (card_…, tok_…) -> it
    said: dict[tuple[str, str, str], list[Interaction]] = field(default_factory=dict)  # (card, field, value) -> where
    keys: dict[str, bytes] = field(default_factory=dict)  # an idempotency key -> the first request body sent with it

    def judge(self, interaction: Interaction) -> list[WeakSpot]:
        """The weak spots of one exchange; a test card contradicted is told once, by :meth:`contradicted_cards`."""
        spots = [*self._missing_route(interaction), *self._refused_token(interaction)]
        self._cards(interaction)
        body = interaction.response.body
        if body is not None and body.kind != "base64":
            self.minted.update(self.profile.ids.find(json.dumps(body.value)))
        return spots

    def contradicted_cards(self) -> list[WeakSpot]:
        """Each test card answered with another brand, funding or last four digits: at its first interaction."""
        spots = []
        for (alias, name, said), where in self.said.items():
            card = self.profile.cards.by_alias(alias)
            assert card is not None
            later = f" (and {len(where) - 1} later answer{'s' if len(where) > 2 else ''})" if len(where) > 1 else ""
            spots.append(WeakSpot(CARD_CONTRADICTED, where[0], f"answers the test card {alias} with {name} {said}"
                                  f"{later}, where that card's {name} is {json.dumps(getattr(card, name))}"))
        return spots

    def _missing_route(self, interaction: Interaction) -> list[WeakSpot]:
        request, response = interaction.request, interaction.response
        route = self.profile.routes.match(request.method, request.path)
        if route is None or not no_such_route(response.status, response.json()):
            return []
        return [WeakSpot(MISSING_ROUTE, interaction, f"the upstream has no route "
                                                     f"{route_text(request.method, route.route.template)} "
                                                     f"({response.status}: {_said(interaction)}), which the API "
                                                     "documents: a replay would hold every target to that answer")]

    def _refused_token(self, interaction: Interaction) -> list[WeakSpot]:
        """A test token, or a token made from a test card, refused — when nothing else in the request can be what
        was refused: the error names the token or its parameter, or nothing else (no id the upstream never made,
        no other parameter)."""
        request, response = interaction.request, interaction.response
        if self._reuses_key(interaction) or response.status < 400:
            return []  # a key reused with other parameters is refused for the key, whatever token it carries
        tokens = sorted({value for name, value in _parameters(interaction) if name in self.profile.token_parameters
                         and value in self.profile.cards.by_token})
        marked = sorted(set(_MARKER.findall(_request_text(interaction))))
        if not tokens and not marked:
            return []
        error = _error(response.json())
        param, message = error.get("param"), str(error.get("message") or "")
        named = any(token in message for token in tokens) or param in self.profile.token_parameters
        elsewhere = param is not None and param not in _CARD_PARAMETERS
        if not named and (elsewhere or set(self.profile.ids.find(request.path)) - self.minted):
            return []  # refused for something else: an object the upstream never made, another parameter
        what = f"test token {', '.join(tokens)}" if tokens else f"test card {', '.join(marked)}"
        return [WeakSpot(REFUSED_TOKEN, interaction, f"the upstream refused the {what} ({response.status}: "
                                                     f"{_said(interaction)}), which the API's test mode accepts: "
                                                     "record from an upstream that knows the test cards and tokens")]

    def _reuses_key(self, interaction: Interaction) -> bool:
        """Whether the request repeats an earlier request's idempotency key with another body."""
        name = self.profile.headers.idempotency
        key = interaction.request.headers.get(name) if name else None
        if not key or key == GENERATED_KEY:  # an SDK's key drawn at random, recorded as one placeholder for all
            return False
        content = json.dumps(interaction.request.body.value if interaction.request.body else None,
                             sort_keys=True, default=str).encode()
        return self.keys.setdefault(key, content) != content

    def _cards(self, interaction: Interaction) -> None:
        """Which test card the request names, and every card object the answer holds checked against it: a card
        the recording already tied to a test card by its id, else the one new card of an answer to a request
        that names exactly one test card."""
        named = set(self._named_cards(interaction))
        body = interaction.response.json()
        if interaction.response.status >= 300 or body is None:
            return
        only = next(iter(named)) if len(named) == 1 else None
        found = list(_card_objects(body))
        new = {str(card.get("id")) for card in found if str(card.get("id")) not in self.cards}
        for card_object in found:
            card = self.cards.get(str(card_object.get("id"))) or (only if len(new) == 1 else None)
            if card is None:
                continue
            if isinstance(card_object.get("id"), str):
                self.cards.setdefault(card_object["id"], card)
            for name in _CARD_FIELDS:
                said = card_object.get(name)
                if name in card_object and _norm(said) != _norm(getattr(card, name)):
                    self.said.setdefault((card.alias, name, json.dumps(said)), []).append(interaction)
        if only is not None and isinstance(body, dict) and isinstance(body.get("id"), str) and \
                isinstance(body.get("card"), dict):
            self.cards.setdefault(body["id"], only)  # a token made from it: attached later by its id

    def _named_cards(self, interaction: Interaction) -> list[TestCard]:
        cards = self.profile.cards
        named = [card for alias in _MARKER.findall(_request_text(interaction))
                 if (card := cards.by_alias(alias)) is not None]
        for name, value in _parameters(interaction):
            if name in self.profile.token_parameters:
                card = cards.by_token.get(value) or self.cards.get(value)
                if card is not None:
                    named.append(card)
        return named


def weak_summary(kinds: list[str]) -> str:
    """What makes a recording a weak reference, counted: ``2 missing routes, 1 refused test card``."""
    counts = {kind: kinds.count(kind) for kind in KINDS if kind in kinds}
    return ", ".join(f"{count} {kind if count == 1 else KINDS[kind]}" for kind, count in counts.items())


def _norm(value: Any) -> str:
    """``MasterCard`` and ``mastercard`` alike: a brand's spelling is not its identity."""
    return re.sub(r"[^0-9a-z]", "", str(value).lower())


def _said(interaction: Interaction) -> str:
    """What the upstream answered, briefly: its error message, its text, or that the body was empty."""
    response = interaction.response
    message = _error(response.json()).get("message")
    if isinstance(message, str):
        return snippet(message, 80)
    if response.body is not None and response.body.kind == "text" and isinstance(response.body.value, str):
        return snippet(response.body.value, 80)
    return "no API error"


def _error(body: Any) -> dict[str, Any]:
    error = body.get("error") if isinstance(body, dict) else None
    return error if isinstance(error, dict) else {}


def _request_text(interaction: Interaction) -> str:
    request = interaction.request
    body = request.body.value if request.body is not None and request.body.kind != "base64" else ""
    return json.dumps([request.query, body])


def _parameters(interaction: Interaction) -> Iterator[tuple[str, str]]:
    """(name, value) of the request's top-level form and query parameters that are text."""
    request = interaction.request
    for data in (request.query, request.body.value if request.body is not None and request.body.kind == "form"
                 else None):
        if isinstance(data, dict):
            yield from ((str(name), value) for name, value in data.items() if isinstance(value, str))


def _card_objects(data: Any, depth: int = 0) -> Iterator[dict[str, Any]]:
    """Every card object in an answer (``object: card``, or a brand with last four digits), at any depth."""
    if depth > 32:
        return
    if isinstance(data, dict):
        if data.get("object") == "card" or ("brand" in data and "last4" in data):
            yield data
        for item in data.values():
            yield from _card_objects(item, depth + 1)
    elif isinstance(data, list):
        for item in data:
            yield from _card_objects(item, depth + 1)
