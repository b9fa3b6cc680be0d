"""Matching live requests to recorded interactions, for serving cassettes offline.

A request matches a recorded one when method, path, query and body agree —
the query and a form body compared as decoded data, order-insensitive, repeated
keys kept; a multipart body (a file upload) by its parts, whatever boundary the
client drew. What varies by client (User-Agent, X-Stripe-Client-User-Agent,
Accept-Encoding, the API key, Idempotency-Key) is not compared: no header is. The live request goes through the same
redaction as the recording first, so a recorded ``[REDACTED:card-number]``
matches whatever card number a client sends.

Like VCR.py's matchers, each rule is a small function that explains its own
mismatch; the explanations are what a miss reports for its closest candidates.
Matching happens at replay time from the decoded data: nothing is hashed into
cassette files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote

from conformance import forms
from conformance.api_profile import OTHER, RouteTable
from conformance.cassette import multipart
from conformance.cassette.exchange import redact_body, redacted_query
from conformance.cassette.model import Body, Interaction, body_from_bytes
from conformance.redaction import Redactor

__all__ = ["LiveRequest", "Matcher", "MATCHERS", "key_of", "ServedInteraction", "InteractionIndex", "shared_segments"]


@dataclass(frozen=True)
class LiveRequest:
    """A request as the serving side sees it, redacted and decoded like a recorded one."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    body: Any  # normalized: sorted pairs for forms, data for JSON, text, or None

    @classmethod
    def build(cls, method: str, path_and_query: str, content: bytes, content_type: str,
              redactor: Redactor) -> LiveRequest:
        path, _, raw_query = path_and_query.partition("?")
        query = redacted_query(raw_query, redactor)
        body = redact_body(body_from_bytes(content, content_type), content, redactor, request=True)
        return cls(method.upper(), redactor.text(unquote(path)).rstrip("/") or "/", _pairs(query),
                   _body_key(body, content_type))


def _pairs(query: dict[str, Any] | str) -> tuple[tuple[str, str], ...]:
    if isinstance(query, dict):
        pairs = forms.encode_pairs(query)
    else:
        pairs = forms.parse_pairs(query)
    return tuple(sorted(pairs))


def _parts_key(value: dict[str, Any]) -> tuple[tuple[str, str, str, str], ...]:
    """A multipart body as its parts — (field name, file name, content type, digest of the content), in name
    order — whatever boundary a client drew (the SDKs draw a new one per request)."""
    return tuple(sorted((str(part["name"]), str(part.get("filename", "")), str(part.get("content_type", "")),
                         multipart.part_digest(part)[:16]) for part in value["parts"]))


def _body_key(body: Body | None, content_type: str = "") -> Any:
    if body is None:
        return None
    if body.kind == "multipart":
        return ("multipart", _parts_key(body.value))
    if body.kind in ("text", "base64") and content_type.lower().startswith(multipart.MULTIPART_TYPE):
        parts = multipart.decode(body.to_bytes(), content_type)  # recorded before parts were stored
        if parts is not None:
            return ("multipart", _parts_key(parts))
    if body.kind == "form":
        return ("form", _pairs(body.value))
    if body.kind == "json":
        return ("json", json.dumps(body.value, sort_keys=True))
    return (body.kind, body.value)


_NAMED_CARD = re.compile(r"\[REDACTED:card-number:[a-z0-9-]+\]")


def _unnamed(value: Any) -> Any:
    """A test card's marker without its name: recordings made before markers named the card
    (``[REDACTED:card-number]``) match any test card."""
    if isinstance(value, str):
        return _NAMED_CARD.sub("[REDACTED:card-number]", value)
    if isinstance(value, tuple):
        return tuple(_unnamed(item) for item in value)
    return value


def unnamed_cards(request: LiveRequest) -> LiveRequest | None:
    """``request`` with its card markers unnamed, None when it names no card."""
    plain = LiveRequest(request.method, request.path, _unnamed(request.query), _unnamed(request.body))
    return plain if plain != request else None


def unnamed_files(request: LiveRequest) -> LiveRequest | None:
    """``request`` with its uploads' file names left out, None when it uploads nothing: a client names a file
    object that has no name by what it has — stripe-python a temporary file by its descriptor number (``16``),
    another next time — so a file name decides a match only when one matches with it."""
    if not (isinstance(request.body, tuple) and request.body[0] == "multipart"):
        return None
    parts = tuple(sorted((name, "", kind, digest) for name, _, kind, digest in request.body[1]))
    return LiveRequest(request.method, request.path, request.query, ("multipart-unnamed", parts))


def shared_segments(path: str, other: str) -> int:
    """How many leading path segments two paths share: ``/v1/customers/x`` and ``/v1/customers/y`` two."""
    shared = 0
    for mine, theirs in zip(path.strip("/").split("/"), other.strip("/").split("/")):
        if not mine or mine != theirs:
            break
        shared += 1
    return shared


def recorded_request(interaction: Interaction) -> LiveRequest:
    request = interaction.request
    content_type = next((value for name, value in request.headers.items() if name.lower() == "content-type"), "")
    return LiveRequest(request.method, unquote(request.path).rstrip("/") or "/", _pairs(request.query),
                       _body_key(request.body, content_type))


def key_of(request: LiveRequest) -> tuple[Any, ...]:
    return (request.method, request.path, request.query, request.body)


# When every recorded answer to a request was served: the last one again, or a miss.
Exhausted = Literal["repeat", "miss"]
EXHAUSTED_MODES: tuple[Exhausted, ...] = ("repeat", "miss")


# --------------------------------------------------------------------- matchers
Matcher = Callable[[LiveRequest, LiveRequest], "str | None"]


def method(live: LiveRequest, recorded: LiveRequest) -> str | None:
    return None if live.method == recorded.method else f"method: {live.method} is not {recorded.method}"


def path(live: LiveRequest, recorded: LiveRequest) -> str | None:
    return None if live.path == recorded.path else f"path: {live.path} is not {recorded.path}"


def _describe_pairs(pairs: Iterable[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in pairs) or "(none)"


def _pairs_differ(label: str, live: Iterable[tuple[str, str]], recorded: Iterable[tuple[str, str]]) -> str:
    missing = sorted(set(recorded) - set(live))
    extra = sorted(set(live) - set(recorded))
    parts = []
    if missing:
        parts.append(f"recorded has {_describe_pairs(missing)}")
    if extra:
        parts.append(f"request has {_describe_pairs(extra)}")
    return f"{label}: " + "; ".join(parts or ["repeated keys differ"])


def query(live: LiveRequest, recorded: LiveRequest) -> str | None:
    if live.query == recorded.query or _unnamed(live.query) == recorded.query:
        return None
    return _pairs_differ("query", live.query, recorded.query)


def body(live: LiveRequest, recorded: LiveRequest) -> str | None:
    if live.body == recorded.body or _unnamed(live.body) == recorded.body:
        return None
    if live.body is None or recorded.body is None:
        return "body: " + ("the request has none" if live.body is None else "the recording has none")
    if live.body[0] == recorded.body[0] == "form":
        return _pairs_differ("body", live.body[1], recorded.body[1])
    if live.body[0] == recorded.body[0] == "multipart":
        def described(parts: Iterable[tuple[str, str, str, str]]) -> list[tuple[str, str]]:
            return [(name, f"{filename or '(field)'} {kind} sha256:{digest}") for name, filename, kind, digest in parts]

        return _pairs_differ("body parts", described(live.body[1]), described(recorded.body[1]))
    return f"body: {live.body[0]} body differs from the recorded {recorded.body[0]} body"


MATCHERS: tuple[Matcher, ...] = (method, path, query, body)


# ------------------------------------------------------------------------ index
@dataclass
class ServedInteraction:
    cassette: str
    interaction: Interaction
    request: LiveRequest
    _content: bytes | None = None
    position: int = 0  # in the index, in recorded order: among as near candidates, the first recorded first

    @property
    def content(self) -> bytes:
        """The recorded response body as bytes, encoded once."""
        if self._content is None:
            body = self.interaction.response.body
            self._content = body.to_bytes() if body is not None else b""
        return self._content


# What each kind of mismatch weighs in a miss's ranking of candidates (a reason's first word names its matcher),
# and what a candidate of another endpoint adds: the same endpoint with other ids is nearer than another one.
_WEIGHTS = {"method": 4, "path": 3, "query": 1, "body": 1}
_OTHER_ENDPOINT = 2


@dataclass
class _Shape:
    """The recorded requests of one method and endpoint, by path and by each leading run of path segments
    (paths in recorded order): what a miss's ranking prunes by."""

    method: str
    endpoint: str
    by_path: dict[str, list[ServedInteraction]] = field(default_factory=dict)
    by_prefix: dict[tuple[str, ...], list[str]] = field(default_factory=dict)

    def add(self, served: ServedInteraction) -> None:
        path_ = served.request.path
        if path_ not in self.by_path:
            segments = tuple(path_.strip("/").split("/"))
            for length in range(len(segments) + 1):
                self.by_prefix.setdefault(segments[:length], []).append(path_)
        self.by_path.setdefault(path_, []).append(served)

    def rank(self, live: LiveRequest, segments: list[str], bound: int, nearest: _Nearest) -> None:
        """Offer this shape's candidates to ``nearest``: the live path's own first, then those sharing fewer and
        fewer leading segments with it, each run in recorded order, until none can be nearer."""
        seen = set()
        if (own := self.by_path.get(live.path)) is not None:
            seen.add(live.path)
            nearest.rank_group(live, own, bound * 100 - shared_segments(live.path, live.path))
        usable = segments.index("") if "" in segments else len(segments)  # shared_segments stops at an empty one
        for shared in range(usable, -1, -1):
            rank = (bound + _WEIGHTS["path"]) * 100 - shared
            if nearest.beats(rank):
                return
            for path_ in self.by_prefix.get(tuple(segments[:shared]), ()):
                if path_ in seen:
                    continue
                seen.add(path_)
                group = self.by_path[path_]
                if nearest.beats(rank, group[0].position):
                    break
                nearest.rank_group(live, group, rank)


@dataclass
class InteractionIndex:
    """Recorded interactions by match key, each list in recorded order; and by method, endpoint and path, so a
    miss ranks only the candidates that can be among the nearest (a miss against 2,000 interactions once scanned
    them all with every matcher: 18 ms; now 0.3 ms, bench/serve_misses.py)."""

    by_key: dict[tuple[Any, ...], list[ServedInteraction]] = field(default_factory=dict)
    served: dict[tuple[Any, ...], int] = field(default_factory=dict)
    all: list[ServedInteraction] = field(default_factory=list)
    routes: RouteTable | None = None  # the profile's: a miss's nearest candidates are of its own endpoint first
    shapes: dict[tuple[str, str], _Shape] = field(default_factory=dict)

    def add(self, cassette: str, interaction: Interaction) -> None:
        served = ServedInteraction(cassette, interaction, recorded_request(interaction), position=len(self.all))
        self.by_key.setdefault(key_of(served.request), []).append(served)
        if (unnamed := unnamed_files(served.request)) is not None:  # its own key space: never an exact key
            self.by_key.setdefault(key_of(unnamed), []).append(served)
        self.all.append(served)
        shape = self.shapes.get((served.request.method, interaction.endpoint))
        if shape is None:
            shape = self.shapes[(served.request.method, interaction.endpoint)] = _Shape(served.request.method,
                                                                                        interaction.endpoint)
        shape.add(served)

    def take(self, live: LiveRequest, exhausted: Exhausted = "repeat") -> ServedInteraction | None:
        """The next recorded answer for this request; when all were served, repeat the last or miss."""
        key = key_of(live)
        candidates = self.by_key.get(key)
        if not candidates and (plain := unnamed_cards(live)) is not None:
            key = key_of(plain)
            candidates = self.by_key.get(key)
        if not candidates and (unnamed := unnamed_files(live)) is not None:
            key = key_of(unnamed)
            candidates = self.by_key.get(key)
        if not candidates:
            return None
        position = self.served.get(key, 0)
        if position >= len(candidates):
            return candidates[-1] if exhausted == "repeat" else None
        self.served[key] = position + 1
        return candidates[position]

    def closest(self, live: LiveRequest, count: int = 3) -> list[tuple[ServedInteraction, list[str]]]:
        """The recorded requests nearest to ``live``, with every reason each did not match.

        Nearness is the weight of the mismatches (method, path, query, body, another endpoint), then the most
        leading path segments shared, then recorded order. Candidates are taken by method and endpoint, then by
        path, nearest first; a group whose best possible place cannot beat the ``count`` nearest so far is not
        looked into, so a miss costs about what its nearest groups hold, not what the cassettes do.
        """
        endpoint = self.routes.endpoint_for(live.method, live.path) if self.routes is not None else OTHER
        nearest = _Nearest(count)
        segments = live.path.strip("/").split("/")
        for bound, shape in sorted(((self._shape_bound(shape, live, endpoint), shape)
                                    for shape in self.shapes.values()), key=lambda item: item[0]):
            if nearest.beats(bound * 100 - len(segments)):
                break
            shape.rank(live, segments, bound, nearest)
        return [(served, [reason for matcher in MATCHERS if (reason := matcher(live, served.request))]
                 or ["all recorded answers were served (exhausted)"]) for *_, served in nearest.top]

    @staticmethod
    def _shape_bound(shape: _Shape, live: LiveRequest, endpoint: str) -> int:
        """The least weight a candidate of this method and endpoint can have (any path)."""
        return ((0 if shape.method == live.method else _WEIGHTS["method"])
                + (0 if shape.endpoint == endpoint else _OTHER_ENDPOINT))


class _Nearest:
    """The ``count`` nearest candidates so far, one per match key: (rank, recorded position, key, candidate),
    nearest first."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.top: list[tuple[int, int, tuple[Any, ...], ServedInteraction]] = []

    def beats(self, rank: int, position: int = -1) -> bool:
        """Whether ``count`` candidates are nearer than any ranked ``rank`` or more, recorded at ``position`` or
        later (a tie in rank still wins by recorded order, so it is looked into)."""
        return len(self.top) == self.count and self.top[-1][:2] < (rank, position)

    def offer(self, rank: int, served: ServedInteraction) -> None:
        entry = (rank, served.position, key_of(served.request), served)
        for at, known in enumerate(self.top):
            if known[2] == entry[2]:  # its key is there: keep the nearer of the two
                if entry[:2] < known[:2]:
                    self.top[at] = entry
                    self.top.sort(key=lambda item: item[:2])
                return
        if len(self.top) < self.count or entry[:2] < self.top[-1][:2]:
            self.top.append(entry)
            self.top.sort(key=lambda item: item[:2])
            del self.top[self.count:]

    def rank_group(self, live: LiveRequest, group: list[ServedInteraction], rank: int) -> None:
        """Rank the candidates of one method, endpoint and path (``rank``: theirs before query and body); by
        equality only, the reasons are worded for the nearest alone."""
        plain_query, plain_body = _unnamed(live.query), _unnamed(live.body)
        for served in group:
            recorded = served.request
            weight = 0 if recorded.query == live.query or recorded.query == plain_query else _WEIGHTS["query"]
            if recorded.body != live.body and recorded.body != plain_body:
                weight += _WEIGHTS["body"]
            if not self.beats(rank + weight * 100, served.position):
                self.offer(rank + weight * 100, served)
