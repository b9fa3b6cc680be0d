"""The cassette's data model: what one recorded exchange is, independent of how it is stored."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypedDict

from conformance import forms
from conformance.cassette import multipart

__all__ = ["VERSION", "BODY_KINDS", "CassetteHeader", "CompareLists", "RecordMode", "RECORD_MODES",
           "HTTP_METHODS", "DEFAULT_HOST", "MAX_BODY_DEPTH", "Body", "Request", "Response", "Interaction",
           "Cassette", "body_from_bytes", "decode_form", "nesting_exceeds", "recorded_now", "format_recorded_at",
           "parse_recorded_at"]

VERSION = 1
BODY_KINDS = ("form", "json", "multipart", "text", "base64")
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
DEFAULT_HOST = "api.stripe.com"  # where a cassette's interactions were recorded, unless its header names a `host`
# A JSON body nested deeper is kept as text: inside a cassette document (interaction, response,
# json) it would pass the reader's limit of 64 levels, which every cassette must stay within.
MAX_BODY_DEPTH = 48
TOO_DEEP = "[NOT RECORDED: JSON nested deeper than {depth} levels, {size} bytes]"


RecordMode = Literal["new", "overwrite", "append"]
RECORD_MODES: tuple[RecordMode, ...] = ("new", "overwrite", "append")


class CompareLists(TypedDict, total=False):
    """A header's ``compare``: keys or paths compared another way than by value, for every interaction."""

    ignore: list[str]
    exact: list[str]
    loose: list[str]
    nullable: list[str]


class CassetteHeader(TypedDict, total=False):
    """A cassette's header document as read (its format: docs/cassette-format.md), plus what the read found."""

    version: int
    name: str
    host: str  # where the interactions were recorded from (default: api.stripe.com)
    api_version: str  # the Stripe-Version the answers follow
    fixtures: list[str]  # ids the target is expected to know already
    compare: CompareLists
    source: str  # where the recorded expectations come from
    meta: dict[str, Any]
    warnings: list[str]  # problems that did not stop the read (not stored)


def nesting_exceeds(value: Any, limit: int) -> bool:
    """Whether JSON-shaped data nests deeper than ``limit`` levels (iteratively: any depth is safe)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False



@dataclass
class Body:
    """A body as stored: decoded form data, JSON data, multipart parts, text, or base64 for bytes."""

    kind: str
    value: Any

    def to_bytes(self) -> bytes:
        if self.kind == "form":
            return (forms.encode(self.value) if isinstance(self.value, dict) else self.value).encode()
        if self.kind == "json":
            return json.dumps(self.value, ensure_ascii=False).encode()
        if self.kind == "text":
            return self.value.encode()
        if self.kind == "multipart":
            return multipart.encode(self.value)
        return base64.b64decode(self.value)


def body_from_bytes(content: bytes, content_type: str) -> Body | None:
    """Choose the most readable lossless way to store a body."""
    if not content:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media == multipart.MULTIPART_TYPE:
        parts = multipart.decode(content, content_type)
        if parts is not None:
            return Body("multipart", parts)
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return Body("base64", base64.b64encode(content).decode("ascii"))
    if media == "application/x-www-form-urlencoded":
        return Body("form", decode_form(text))
    if media.endswith("json"):  # application/json and every +json type
        try:
            data = json.loads(text)
        except ValueError:
            pass
        except RecursionError:  # nested deeper than Python's own limit
            return Body("text", TOO_DEEP.format(depth=MAX_BODY_DEPTH, size=len(content)))
        else:
            if not nesting_exceeds(data, MAX_BODY_DEPTH):
                return Body("json", data)
            return Body("text", TOO_DEEP.format(depth=MAX_BODY_DEPTH, size=len(content)))
    return Body("text", text)


def decode_form(raw: str) -> dict[str, Any] | str:
    """Form-encoded text (a body or a query string) as nested data when lossless, else the raw text."""
    if not raw:
        return {}
    try:
        decoded = forms.decode(forms.parse_pairs(raw))
    except UnicodeDecodeError:
        decoded = None
    return decoded if decoded is not None else raw


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, Any] | str = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    body: Body | None = None

    @property
    def query_string(self) -> str:
        return forms.encode(self.query) if isinstance(self.query, dict) else self.query

    @property
    def url_path(self) -> str:
        """Path and query as sent on the wire."""
        query = self.query_string
        return f"{self.path}?{query}" if query else self.path

    def content(self) -> bytes:
        return self.body.to_bytes() if self.body else b""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Body | None = None

    def json(self) -> Any:
        """The JSON body, or None when the body is not JSON."""
        return self.body.value if self.body and self.body.kind == "json" else None


# When an answer was recorded, as stored: UTC to the second, ISO 8601 with a Z (2026-12-07T15:50:10Z).
_RECORDED_AT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def recorded_now() -> datetime:
    """The current time as ``recorded_at`` keeps it: UTC, whole seconds (finer would only add noise to diffs)."""
    return datetime.now(UTC).replace(microsecond=0)


def format_recorded_at(moment: datetime) -> str:
    """``moment`` as stored: converted to UTC, second precision, with a Z."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # a naive time is taken as UTC, the only zone a cassette holds
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_recorded_at(text: str) -> datetime | None:
    """The time a stored ``recorded_at`` names, or None when it is not one (the reader's error says the form)."""
    if not _RECORDED_AT.fullmatch(text):
        return None
    try:
        return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:  # the right shape, not a date (2026-02-30)
        return None


@dataclass
class Interaction:
    request: Request
    response: Response
    endpoint: str = ""  # the profile's name of its route (cards.update); "" until a profile names it
    index: int = 0  # 1-based position in its cassette
    line: int | None = None  # where its document starts in the file (not stored)
    recorded_at: datetime | None = None  # when its answer was recorded (UTC, seconds); None in older cassettes


@dataclass
class Cassette:
    path: Path
    name: str
    interactions: list[Interaction]
    meta: CassetteHeader = field(default_factory=lambda: CassetteHeader())
    warnings: list[str] = field(default_factory=list)


