"""Multipart form bodies (file uploads) as readable parts.

A multipart body is stored as its parts, not as one blob: each part's field
name, file name and content type, then its content — as text when it is UTF-8,
else only its SHA-256 digest and size. An upload is often an identity document
or a dispute's evidence: its bytes are the user's data, not the API's behaviour,
so they never reach the cassette. A part may also carry ``base64`` (written by
hand, to re-send a real file). The client's boundary is not kept: clients draw
a random one per request (stripe-python's is digits, which a Luhn check passes
one time in ten), so the body is framed again with a fixed one, and a
re-recording writes the same file.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the email package is imported when a multipart body is met, not with every cassette
    from email.message import Message

__all__ = ["MULTIPART_TYPE", "PART_KEYS", "BOUNDARY", "decode", "encode", "content_type", "framed", "part_content",
           "part_digest", "placeholder"]

MULTIPART_TYPE = "multipart/form-data"
BOUNDARY = "card-conformance-boundary"
PART_KEYS = ("name", "filename", "content_type", "text", "base64", "sha256", "size")
# A part's Content-Transfer-Encoding (quoted-printable, base64) is undone: the part is stored as its content and
# framed again without one (RFC 7578 deprecates it), so its text is read, and redacted, as sent.
_HEADERS = {"content-disposition", "content-type", "content-transfer-encoding"}
_PARAMS = {"name", "filename"}


def placeholder(size: int) -> bytes:
    """What a part stored as a digest is re-sent as: zero bytes, as many as were recorded."""
    return bytes(size)


def _parse(content: bytes, content_type: str) -> Message | None:
    from email.parser import BytesParser

    # The parser's default policy, compat32: headers stay text (policy.HTTP's header objects cost ten times the
    # parse), and email.policy, whose import costs more than a run's reading of its cassette, stays unimported.
    message = BytesParser().parsebytes(
        b"Content-Type: " + content_type.encode("latin-1", "replace") + b"\r\n\r\n" + content)
    if not message.is_multipart() or message.defects or (message.preamble or "").strip() \
            or (message.epilogue or "").strip():
        return None
    return message


def _utf8_headers(part: Message) -> Message:
    """The part's headers read as UTF-8: clients send a file name raw (RFC 7578), which compat32 keeps as
    escaped bytes."""
    from email.message import Message

    headers = Message()
    for name, value in part.raw_items():
        headers[name] = str(value).encode("ascii", "surrogateescape").decode("utf-8", "replace")
    return headers


def decode(content: bytes, content_type: str) -> dict[str, Any] | None:
    """The body as ``{"parts": [...]}``; None when it is not a multipart form the parts
    describe whole (a part with other headers or parameters, a nested multipart, text around the parts)."""
    if content_type.split(";", 1)[0].strip().lower() != MULTIPART_TYPE:
        return None
    import email.utils
    from email.message import Message

    message = _parse(content, content_type)
    if message is None:
        return None
    stored = []
    parts = message.get_payload()
    if not isinstance(parts, list):
        return None
    for part in parts:
        if not isinstance(part, Message) or {name.lower() for name in part} - _HEADERS or part.is_multipart() \
                or part.defects:
            return None
        headers = _utf8_headers(part)
        params = headers.get_params(header="content-disposition") or []
        if not params or params[0][0].lower() != "form-data" or {key.lower() for key, _ in params[1:]} - _PARAMS:
            return None
        data = part.get_payload(decode=True)
        if not isinstance(data, bytes):
            return None
        named = {key.lower(): email.utils.collapse_rfc2231_value(value) for key, value in params[1:]}
        entry: dict[str, Any] = {"name": named.get("name", "")}
        if "filename" in named:
            entry["filename"] = named["filename"]
        if headers.get("Content-Type") is not None:
            entry["content_type"] = str(headers.get("Content-Type"))
        text = _text(data)
        if text is not None:
            entry["text"] = text
        else:
            entry["sha256"] = hashlib.sha256(data).hexdigest()
            entry["size"] = len(data)
        stored.append(entry)
    return {"parts": stored}


_BINARY = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _text(data: bytes) -> str | None:
    """The content as text when it reads as text: UTF-8 without control characters but line breaks and tabs."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if _BINARY.search(text) else text


def part_content(part: dict[str, Any]) -> bytes:
    """The bytes a stored part stands for (a digest's placeholder when only the digest was kept)."""
    if "text" in part:
        return str(part["text"]).encode("utf-8")
    if "base64" in part:
        return base64.b64decode(part["base64"])
    return placeholder(int(part.get("size", 0)))


def part_digest(part: dict[str, Any]) -> str:
    """What identifies a part's content: the digest of its bytes, the recorded one for a part kept as a digest."""
    if "sha256" in part and "text" not in part and "base64" not in part:
        return str(part["sha256"])
    return hashlib.sha256(part_content(part)).hexdigest()


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _boundary(contents: list[bytes]) -> bytes:
    """The fixed boundary, numbered on when a part's content happens to hold it."""
    boundary, number = BOUNDARY.encode(), 0
    while any(boundary in content for content in contents):
        number += 1
        boundary = f"{BOUNDARY}-{number}".encode()
    return boundary


def framed(value: dict[str, Any]) -> tuple[str, bytes]:
    """The body as a client sends it and the ``Content-Type`` header naming the boundary it is framed with."""
    contents = [part_content(part) for part in value["parts"]]
    boundary = _boundary(contents)
    out = bytearray()
    for part, content in zip(value["parts"], contents):
        disposition = f"form-data; name={_quoted(str(part['name']))}"
        if "filename" in part:
            disposition += f"; filename={_quoted(str(part['filename']))}"
        out += b"--" + boundary + b"\r\nContent-Disposition: " + disposition.encode("utf-8") + b"\r\n"
        if "content_type" in part:
            out += b"Content-Type: " + str(part["content_type"]).encode("latin-1") + b"\r\n"
        out += b"\r\n" + content + b"\r\n"
    out += b"--" + boundary + b"--\r\n"
    return f"{MULTIPART_TYPE}; boundary={boundary.decode()}", bytes(out)


def content_type(value: dict[str, Any]) -> str:
    """The ``Content-Type`` header of the body :func:`encode` writes."""
    return f"{MULTIPART_TYPE}; boundary={_boundary([part_content(part) for part in value['parts']]).decode()}"


def encode(value: dict[str, Any]) -> bytes:
    """The body as a client sends it, framed with the boundary :func:`content_type` names."""
    return framed(value)[1]
