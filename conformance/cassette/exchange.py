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
from conformance.cassette.bodies import Reading, charset_of, read_body, rereadings, unreadable_marker
from conformance.cassette.model import Body, Interaction, Request, Response, body_from_bytes, decode_form
from conformance.redaction import REQUEST_FIELDS, RESPONSE_FIELDS, Redactor

__all__ = ["GENERATED_KEY", "build_interaction", "redacted_query", "redact_body", "redact_interaction", "stored_body"]

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


# A number spelt as a float or with an exponent (4242424242424242.0, 4.242424242424242e15): no digit run the quick
# scan knows, yet a card number once JSON reads it.
_SPELT_NUMBER = re.compile(r"[0-9]{4}\.[0-9]|[0-9][eE]\+?[0-9]")


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
        if not redactor.finds_secret(text, fields) and not (body.kind == "json" and _SPELT_NUMBER.search(text)):
            return body
        return Body(body.kind, redactor.data(body.value, fields))
    return Body(body.kind, redactor.text_body(body.value, fields))


def stored_body(content: bytes, content_type: str, redactor: Redactor, *, request: bool,
                content_encoding: str = "", stored: Body | None = None) -> tuple[Body | None, str]:
    """(the body as a cassette stores it, redacted; the ``Content-Type`` it is stored under) — the one way every
    writer stores a body, whatever its coding and charset (``content_encoding``: the codings ``content`` is still
    in, "" when undone or none; codings its bytes betray are undone anyway).

    The redactor sees the body as a reader would (:func:`~conformance.cassette.bodies.read_body`); a body in
    another charset than UTF-8 is stored as its text in UTF-8 and its ``Content-Type`` says so; a body that
    reads as no text — or whose bytes show a secret read in another charset than the one chosen — is stored as
    a line saying so with its SHA-256 and size, never as its bytes. ``stored``: the body as a cassette holds it
    (``content`` is its bytes), kept in its kind when those bytes are stored as they are.
    """
    if not content:
        return None, content_type
    reading = read_body(content, content_type, content_encoding)
    if content_type.split(";", 1)[0].strip().lower() == multipart.MULTIPART_TYPE:
        parts = multipart.decode(reading.content, content_type)  # a binary file in it is kept as its digest
        if parts is not None:
            return redact_body(Body("multipart", parts), reading.content, redactor, request=request), content_type
    if reading.text is None:
        return _unread(reading, content_type, "it reads as no text")
    if not reading.plain and _shows_secret_otherwise(reading.text, reading.charset, redactor, request):
        return _unread(reading, content_type, "its bytes read in another charset show a secret")
    data = reading.content
    if not reading.utf8 and not (reading.charset == "latin-1" and not charset_of(content_type)) \
            and reading.text.encode("utf-8") != data:
        # a declared charset, a byte-order mark, UTF-16/32 by its NULs: stored as the text, in UTF-8
        data = reading.text.encode("utf-8")
        content_type = _charset_utf8(content_type)
    body = stored if stored is not None and data is reading.content and data == content else \
        body_from_bytes(data, content_type)
    return redact_body(body, data, redactor, request=request), content_type


def _unread(reading: Reading, content_type: str, why: str) -> tuple[Body, str]:
    """The line stored for a body not recorded, and its Content-Type: a charset it declared is UTF-8's now."""
    return Body("text", unreadable_marker(reading, content_type, why)), \
        _charset_utf8(content_type) if charset_of(content_type) else content_type


def _shows_secret_otherwise(text: str, charset: str, redactor: Redactor, request: bool) -> bool:
    """Whether the text, redacted and written back in its charset, shows a secret read in another one."""
    cleaned = redactor.text_body(text, REQUEST_FIELDS if request else RESPONSE_FIELDS)
    return any(redactor.finds_secret(other, names=False) for other in rereadings(cleaned, charset))


_CHARSET_PARAMETER = re.compile(r";\s*charset\s*=\s*(\"[^\"]*\"|[^;]*)", re.IGNORECASE)


def _charset_utf8(content_type: str) -> str:
    """``content_type`` naming UTF-8 as its charset (the text is stored, and re-sent, in UTF-8)."""
    if not content_type:
        return content_type
    return _CHARSET_PARAMETER.sub("", content_type).rstrip("; ") + "; charset=utf-8"


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


def _stored_headers(headers: dict[str, str], body: Body | None, content_type: str, redactor: Redactor) -> dict[str, str]:
    """The headers with the Content-Type of the body as it is stored: a multipart body framed with the fixed
    boundary, a text in UTF-8; no Content-Encoding (the body is stored decoded)."""
    headers = {name: value for name, value in headers.items() if name != "Content-Encoding"}
    if body is not None and body.kind == "multipart":
        return {**headers, "Content-Type": multipart.content_type(body.value)}
    if "Content-Type" in headers and content_type and redactor.text(content_type) != headers["Content-Type"]:
        return {**headers, "Content-Type": redactor.text(content_type)}
    return headers


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
    request_encoding: str = "",
    response_encoding: str = "",
) -> Interaction:
    """One redacted interaction from the raw parts of an exchange: the headers ``profile`` says matter, its
    endpoint named by it (``other`` without one). ``request_encoding``/``response_encoding``: the
    ``Content-Encoding`` a body is still in ("" when undone already); a coding left on, declared or not, is
    undone for redaction by :func:`stored_body`."""
    wire = profile.headers if profile is not None else Headers()
    request_headers = list(request_headers)
    response_headers = list(response_headers)
    split = urlsplit(url_path)
    query = redacted_query(split.query, redactor)
    request_body, request_type = stored_body(request_content, _content_type(request_headers), redactor, request=True,
                                             content_encoding=request_encoding)
    request = Request(
        method=method.upper(),
        path=redactor.text(split.path or "/"),
        query=query,
        headers=_stored_headers(select_headers(request_headers, (*wire.request, *extra_headers), redactor,
                                               wire.idempotency), request_body, request_type, redactor),
        body=request_body,
    )
    response_body, response_type = stored_body(response_content, _content_type(response_headers), redactor,
                                               request=False, content_encoding=response_encoding)
    response = Response(
        status=status,
        headers=_stored_headers(select_headers(response_headers, (*wire.response, *extra_headers), redactor,
                                               wire.idempotency), response_body, response_type, redactor),
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
    request_headers = {name: redactor.header(name, value) for name, value in request.headers.items()}
    request_body = _restored(request.body, request_headers, redactor, request=True)
    redacted_request = Request(
        method=request.method,
        path=redactor.text(request.path),
        query=redactor.request_data(query) if isinstance(query, dict) else redactor.form_text(query, REQUEST_FIELDS),
        headers=request_headers,
        body=request_body,
    )
    response_headers = {name: redactor.header(name, value) for name, value in response.headers.items()}
    redacted_response = Response(
        status=response.status,
        headers=response_headers,
        body=_restored(response.body, response_headers, redactor, request=False),
    )
    return Interaction(redacted_request, redacted_response, interaction.endpoint, interaction.index, interaction.line,
                       recorded_at=interaction.recorded_at)  # a time is no secret


_NOT_RECORDED = re.compile(r"\[NOT RECORDED: [^\]\n]*\]")


def _restored(body: Body | None, headers: dict[str, str], redactor: Redactor, *, request: bool) -> Body | None:
    """A stored body through the redaction a writer applies now: bytes and text as :func:`stored_body` reads
    them (a gzip or UTF-16 body an older recorder kept), decoded data as it is. ``headers``' Content-Type is
    updated to the one the body would be stored under."""
    if body is None:
        return None
    raw = body.to_bytes()
    if body.kind not in ("text", "base64") or (body.kind == "text" and _NOT_RECORDED.fullmatch(body.value)):
        return redact_body(body, raw, redactor, request=request)
    content_type = _content_type(headers)
    stored, stored_type = stored_body(raw, content_type, redactor, request=request, stored=body)
    if stored_type != content_type and "Content-Type" in headers:
        headers["Content-Type"] = redactor.text(stored_type)
    return stored


def _content_type(headers: Iterable[tuple[str, str]] | Mapping[str, str]) -> str:
    items = headers.items() if isinstance(headers, Mapping) else headers
    for name, value in items:
        if name.lower() == "content-type":
            return value
    return ""
