"""Turning one HTTP exchange into a redacted :class:`~conformance.cassette.Interaction`.

Independent of mitmproxy so the same rules serve the recorder addon and tests:
keep only the headers that matter, decode bodies for review, and redact
everything before the interaction exists as data anyone could write out.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from conformance.api_profile import OTHER, ApiProfile, Headers
from conformance.cassette import multipart
from conformance.cassette.model import Body, Interaction, Request, Response, body_from_bytes, decode_form
from conformance.redaction import REQUEST_FIELDS, RESPONSE_FIELDS, Redactor

__all__ = ["GENERATED_KEY", "build_interaction", "redacted_query", "redact_body", "redact_interaction"]

# The SDKs send a random UUID as the idempotency key on every POST (the profile names the header); storing it
# would change the file on each re-recording, and replaying it could hit the API's idempotency cache. It is
# stored as this placeholder and sent fresh on replay.
GENERATED_KEY = "<generated>"
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def _canonical(name: str) -> str:
    return "-".join(part.capitalize() for part in name.split("-"))


@lru_cache(maxsize=64)
def _wanted(keep: tuple[str, ...]) -> dict[str, str]:
    return {name.lower(): _canonical(name) for name in keep}


def select_headers(headers: Iterable[tuple[str, str]], keep: tuple[str, ...], redactor: Redactor,
                   idempotency: str = "") -> dict[str, str]:
    """The headers of ``keep``, in canonical spelling and redacted; a random key in ``idempotency``, the
    placeholder."""
    wanted = _wanted(keep)
    selected: dict[str, str] = {}
    for name, value in headers:
        canonical = wanted.get(name.lower())
        if canonical is None:
            continue
        if idempotency and canonical == idempotency and _UUID.fullmatch(value.strip()):
            value = GENERATED_KEY
        selected[canonical] = redactor.header(canonical, value)
    return dict(sorted(selected.items()))


def redacted_query(raw: str, redactor: Redactor) -> dict[str, Any] | str:
    """A query string decoded like a form (raw when that would lose something), secrets redacted."""
    query = decode_form(raw)
    return redactor.request_data(query) if isinstance(query, dict) else redactor.form_text(query, REQUEST_FIELDS)


def redact_body(body: Body | None, raw: bytes, redactor: Redactor, *, request: bool) -> Body | None:
    """The body with every secret redacted, whatever its encoding (``raw``: its bytes as sent)."""
    if body is None:
        return None
    fields = REQUEST_FIELDS if request else RESPONSE_FIELDS
    if body.kind == "base64":
        # Not UTF-8: read as Latin-1 (every byte is a character), redact, store the same bytes but the markers.
        text = raw.decode("latin-1")
        redacted = redactor.text_body(text, fields)
        return body if redacted == text else Body("base64", base64.b64encode(redacted.encode("latin-1")).decode())
    if body.kind == "multipart":
        return Body("multipart", _redacted_parts(body.value, redactor, fields))
    if body.kind == "form" and isinstance(body.value, str):
        return Body("form", redactor.form_text(body.value, fields))
    if body.kind in ("json", "form"):
        # Walking every string of a body is the recorder's main cost; most bodies hold no secret,
        # which one scan of the raw text shows — unless JSON escapes (\u005f) hide what it would see.
        text = raw.decode("utf-8")
        if body.kind == "form":
            text = unquote_plus(text)
        if not redactor.finds_secret(text, fields):
            return body
        return Body(body.kind, redactor.data(body.value, fields))
    return Body(body.kind, redactor.text_body(body.value, fields))


def _redacted_parts(value: dict[str, Any], redactor: Redactor, fields: Mapping[str, str]) -> dict[str, Any]:
    """Each part's text through the field rules by its name, file names through the patterns; a part kept as
    a digest holds nothing to redact."""
    parts = []
    for part in value["parts"]:
        part = dict(part)
        if "text" in part:
            part["text"] = redactor.named_value(part["name"], part["text"], fields)
        if "filename" in part:
            part["filename"] = redactor.text(part["filename"])
        part["name"] = redactor.text(part["name"])
        parts.append(part)
    return {"parts": parts}


def _multipart_header(headers: dict[str, str], body: Body | None) -> dict[str, str]:
    """The headers with the Content-Type of a multipart body as it is stored: framed with the fixed boundary."""
    if body is None or body.kind != "multipart":
        return headers
    return {**headers, "Content-Type": multipart.content_type(body.value)}


def build_interaction(
    *,
    method: str,
    url_path: str,
    request_headers: Iterable[tuple[str, str]],
    request_content: bytes,
    status: int,
    response_headers: Iterable[tuple[str, str]],
    response_content: bytes,
    redactor: Redactor,
    extra_headers: Iterable[str] = (),
    profile: ApiProfile | None = None,
) -> Interaction:
    """One redacted interaction from the raw parts of an exchange (bodies already content-decoded): the headers
    ``profile`` says matter, its endpoint named by it (``other`` without one)."""
    wire = profile.headers if profile is not None else Headers()
    request_headers = list(request_headers)
    response_headers = list(response_headers)
    split = urlsplit(url_path)
    query = redacted_query(split.query, redactor)
    request_body = redact_body(body_from_bytes(request_content, _content_type(request_headers)), request_content,
                               redactor, request=True)
    request = Request(
        method=method.upper(),
        path=redactor.text(split.path or "/"),
        query=query,
        headers=_multipart_header(select_headers(request_headers, (*wire.request, *extra_headers), redactor, wire.idempotency),
                                  request_body),
        body=request_body,
    )
    response_body = redact_body(body_from_bytes(response_content, _content_type(response_headers)), response_content,
                                redactor, request=False)
    response = Response(
        status=status,
        headers=_multipart_header(select_headers(response_headers, (*wire.response, *extra_headers), redactor, wire.idempotency),
                                  response_body),
        body=response_body,
    )
    return Interaction(request, response, profile.label(request.method, request.path) if profile else OTHER)


def redact_interaction(interaction: Interaction, redactor: Redactor) -> Interaction:
    """An interaction (a stored one: from a cassette) through the same redaction as a recorded exchange.

    ``conformance check`` compares a cassette with this to find what an older
    recorder, an import or a hand edit left unredacted.
    """
    request, response = interaction.request, interaction.response
    query = request.query
    redacted_request = Request(
        method=request.method,
        path=redactor.text(request.path),
        query=redactor.request_data(query) if isinstance(query, dict) else redactor.form_text(query, REQUEST_FIELDS),
        headers={name: redactor.header(name, value) for name, value in request.headers.items()},
        body=redact_body(request.body, request.content(), redactor, request=True),
    )
    raw = response.body.to_bytes() if response.body is not None else b""
    redacted_response = Response(
        status=response.status,
        headers={name: redactor.header(name, value) for name, value in response.headers.items()},
        body=redact_body(response.body, raw, redactor, request=False),
    )
    return Interaction(redacted_request, redacted_response, interaction.endpoint, interaction.index, interaction.line)


def _content_type(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> str:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.lower() == "content-type":
            return value
    return ""
