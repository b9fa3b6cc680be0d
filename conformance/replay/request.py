"""The request as sent: a recorded request with the target's ids, the run's key, fresh idempotency keys.

Each request is re-sent as recorded — method, path, query, body in its original encoding, the headers that
matter — with the ids the target minted bound in, a test card for a redacted number, a token made at the target
for a magic one (``--tokens create``), a fresh idempotency key for each recorded one and the API version the run
asks for. What the replay then does with the answer is the engine's.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from conformance import forms
from conformance.api_profile import ApiProfile, RouteMatch, TestCard
from conformance.cassette import Interaction, multipart
from conformance.cassette.exchange import GENERATED_KEY
from conformance.findings import MISSING, Finding
from conformance.replay.binding import IdBindings
from conformance.replay.cards import unredacted_card
from conformance.replay.options import ReplayOptions
from conformance.replay.tokens import make_token
from conformance.replay.transport import TargetClient

__all__ = ["SentRequest", "Requests"]


@dataclass
class SentRequest:
    path: str
    query: dict[str, Any] | str
    query_string: str
    headers: dict[str, str]
    content: bytes
    setup: list[Finding]  # what went wrong preparing it (a token the target would not make)
    parts: list[dict[str, Any]] | None = None  # a multipart body's parts as sent

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query_string}" if self.query_string else self.path


@dataclass
class Requests:
    """What one cassette's replay remembers to send its requests: the keys and tokens it made so far."""

    client: TargetClient  # where a token is made (--tokens create)
    options: ReplayOptions
    bindings: IdBindings
    api_version: str | None = None  # the cassette's (its header's api_version)
    idempotency_keys: dict[str, str] = field(default_factory=dict)  # a recorded key -> the fresh key sent for it
    # a recorded request id -> the idempotency key sent for its request: a recorded retry (its answer names the
    # original request) is sent with the same key
    keys_by_request: dict[str, str] = field(default_factory=dict)
    # (the idempotency key sent, a magic token) -> the token made for it: a recorded retry sends the same token,
    # or the target would rightly refuse the key reused with other parameters
    made_tokens: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def profile(self) -> ApiProfile:
        return self.options.profile

    def bound_route(self, route: RouteMatch | None) -> RouteMatch | None:
        """The recorded request's route as the request is sent: its ids bound (a route's parameters are whole
        path segments, and a bound id holds no ``/``: the same as matching the sent path, without the match)."""
        if route is None or not self.bindings.renames:
            return route
        return RouteMatch(route.route, {name: self.bindings.text(value) for name, value in route.params.items()})

    def build(self, interaction: Interaction) -> SentRequest:
        """The recorded request with the target's ids, a test card for a redacted one, fresh idempotency keys."""
        recorded = interaction.request
        path = self.bindings.text(recorded.path)
        query: dict[str, Any] | str
        if isinstance(recorded.query, dict):
            bound: dict[str, Any] = self.bindings.substitute(recorded.query)
            query, query_string = bound, forms.encode(bound) if bound else ""
        else:
            query = query_string = self.bindings.text(recorded.query)
        wire = self.profile.headers
        key = self._idempotency_key(interaction) if wire.idempotency and wire.idempotency in recorded.headers else None
        setup: list[Finding] = []
        content, parts, framing = self._content(interaction, setup, key)
        headers = {name: self.bindings.text(value) for name, value in recorded.headers.items()
                   if name in wire.forwarded}
        if parts is not None:  # the boundary the parts as sent are framed with
            headers["Content-Type"] = framing
        version = self.version(recorded.headers)
        if version and wire.version:
            headers[wire.version] = version
        if wire.idempotency and key is not None:
            headers[wire.idempotency] = key
        if "Authorization" in recorded.headers:
            headers["Authorization"] = f"Bearer {self.options.api_key}"
        return SentRequest(path, query, query_string, headers, content, setup, parts)

    def _content(self, interaction: Interaction, setup: list[Finding],
                 key: str | None) -> tuple[bytes, list[dict[str, Any]] | None, str]:
        """The body as sent in its recorded encoding; a multipart body's parts and the Content-Type framing them."""
        recorded = interaction.request
        body = recorded.body
        if body is None:
            return b"", None, ""
        if body.kind == "form" and isinstance(body.value, dict):
            # Bracket pairs, ids substituted value by value (cheaper than rebuilding the data).
            pairs = unredacted_card(forms.encode_pairs(body.value), interaction.response.json(), self.profile.cards)
            if self.options.tokens == "create":
                pairs = [(k, self._made_token(v, recorded.headers, setup, key)
                          if k in self.profile.token_parameters else v) for k, v in pairs]
            return urlencode([(self.bindings.text(k), self.bindings.text(v)) for k, v in pairs]).encode(), None, ""
        if body.kind in ("form", "text") and isinstance(body.value, str):
            return self.bindings.text(body.value).encode(), None, ""
        if body.kind == "json":
            return json.dumps(self.bindings.substitute(body.value)).encode(), None, ""
        if body.kind == "multipart":
            parts = [{**part, "text": self.bindings.text(part["text"])} if "text" in part else part
                     for part in body.value["parts"]]
            framing, content = multipart.framed({**body.value, "parts": parts})
            return content, parts, framing
        return body.to_bytes(), None, ""

    def _idempotency_key(self, interaction: Interaction) -> str:
        """A fresh key (replaying a recorded one could be answered from the API's idempotency cache): one per
        recorded key, so a recorded retry sends the same fresh key twice — a random key the recorder stored as
        the placeholder too, when the retry's recorded answer names the original request."""
        wire = self.profile.headers
        recorded_key = interaction.request.headers[wire.idempotency]
        answer = interaction.response.headers
        original = answer.get(wire.original_request, "") if wire.original_request else ""
        if original and original in self.keys_by_request:
            key = self.keys_by_request[original]
        elif recorded_key == GENERATED_KEY:
            key = str(uuid.uuid4())
        else:
            key = self.idempotency_keys.setdefault(recorded_key, str(uuid.uuid4()))
        request_id = answer.get(wire.request_id, "") if wire.request_id else ""
        if request_id:
            self.keys_by_request.setdefault(request_id, key)
        return key

    def version(self, recorded_headers: dict[str, str]) -> str | None:
        """--stripe-version, else what the request recorded, else the version the cassette's answers follow."""
        header = self.profile.headers.version
        return self.options.stripe_version or (recorded_headers.get(header) if header else None) or self.api_version

    def _made_token(self, value: str, recorded_headers: dict[str, str], setup: list[Finding], key: str | None) -> str:
        """A token the target made from the test card a magic token stands for; the magic token when it cannot,
        and a finding in ``setup`` that says why."""
        card = self.profile.cards.by_token.get(value)
        if card is None:
            return value
        retry = (key, value) if key else None
        if retry is not None and retry in self.made_tokens:
            return self.made_tokens[retry]
        made = self._make_token(value, card, recorded_headers, setup)
        if retry is not None and made != value:
            self.made_tokens[retry] = made
        return made

    def _make_token(self, value: str, card: TestCard, recorded_headers: dict[str, str], setup: list[Finding]) -> str:
        headers = {"Authorization": f"Bearer {self.options.api_key}"}
        version = self.version(recorded_headers)
        if version and self.profile.headers.version:
            headers[self.profile.headers.version] = version
        made = make_token(self.client, self.profile.token_path, card, headers)
        if made.id is not None:
            return made.id
        setup.append(Finding(
            "setup.token", "", f"the target did not make a token for {value} (POST {self.profile.token_path} with its "
                               f"test card ending {card.number[-4:]} answered {made.said()}); {value} was sent as "
                               "recorded", value, made.answer.status_code if made.answer is not None else MISSING))
        return value
