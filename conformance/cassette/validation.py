"""Validation of cassette documents: from loaded YAML data to the model, or a problem at a key path.

Every problem names the key path inside its document (``response.status``); the
reader turns that path into a line of the file.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Any, cast

from conformance.cassette.model import (
    BODY_KINDS,
    HTTP_METHODS,
    VERSION,
    Body,
    CassetteHeader,
    Interaction,
    Request,
    Response,
    format_recorded_at,
    parse_recorded_at,
)
from conformance.cassette.multipart import PART_KEYS
from conformance.redaction import redact_message

__all__ = ["Invalid", "interaction_from_dict", "interaction_to_dict", "header_from_dict", "HEADER_KEYS",
           "foreign_format"]


def _body_to_dict(body: Body | None, out: dict[str, Any]) -> None:
    if body is not None:
        out[body.kind] = body.value


def interaction_to_dict(interaction: Interaction) -> dict[str, Any]:
    request: dict[str, Any] = {"method": interaction.request.method, "path": interaction.request.path}
    if interaction.request.query:
        request["query"] = interaction.request.query
    if interaction.request.headers:
        request["headers"] = interaction.request.headers
    _body_to_dict(interaction.request.body, request)
    response: dict[str, Any] = {"status": interaction.response.status}
    if interaction.response.headers:
        response["headers"] = interaction.response.headers
    _body_to_dict(interaction.response.body, response)
    document: dict[str, Any] = {"interaction": interaction.index, "endpoint": interaction.endpoint}
    if interaction.recorded_at is not None:
        document["recorded_at"] = format_recorded_at(interaction.recorded_at)
    document["request"] = request
    document["response"] = response
    return document


class Invalid(Exception):
    """A schema problem at a key path inside one document; the reader locates it to a line.

    The problem quotes the input (a path, a key, a value): it is redacted here, once for every line it reaches.
    """

    def __init__(self, path: tuple[Any, ...], problem: str) -> None:
        self.path = path
        self.problem = redact_message(problem)


def _expect(value: Any, kind: type | tuple[type, ...], path: tuple[Any, ...], what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise Invalid(path, f"{'.'.join(map(str, path))} must be {what}, not {_describe(value)}")
    return value


def _describe(value: Any) -> str:
    if value is None:
        return "empty"
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number"}.get(
        type(value), type(value).__name__
    )


def _headers(value: Any, path: tuple[Any, ...]) -> dict[str, str]:
    _expect(value, dict, path, "a mapping of header names to text")
    for name, header in value.items():
        _expect(name, str, path, "a mapping of header names to text")
        _expect(header, str, path + (name,), "text")
    return value


def _body(section: dict[str, Any], path: tuple[Any, ...]) -> Body | None:
    kinds = [kind for kind in BODY_KINDS if kind in section]
    if len(kinds) > 1:
        raise Invalid(path + (kinds[1],), f"{'.'.join(map(str, path))} has more than one body ({', '.join(kinds)})")
    if not kinds:
        return None
    kind = kinds[0]
    value = section[kind]
    if kind == "form":
        _expect(value, (dict, str), path + (kind,), "a mapping (decoded form) or text (raw form)")
    elif kind in ("text", "base64"):
        _expect(value, str, path + (kind,), "text")
        if kind == "base64":
            try:
                base64.b64decode(value, validate=True)
            except ValueError:
                raise Invalid(path + (kind,), f"{'.'.join(map(str, path + (kind,)))} is not valid base64") from None
    elif kind == "multipart":
        _multipart(value, path + (kind,))
    return Body(kind, value)


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _multipart(value: Any, path: tuple[Any, ...]) -> None:
    _expect(value, dict, path, "a mapping with parts")
    _unknown_keys(value, {"parts"}, path)
    for index, part in enumerate(_expect(value.get("parts"), list, path + ("parts",), "a list of parts")):
        where = path + ("parts", index)
        _expect(part, dict, where, "a mapping")
        _unknown_keys(part, set(PART_KEYS), where)
        _expect(part.get("name"), str, where + ("name",), "text")
        for key in ("filename", "content_type", "text", "base64"):
            if key in part:
                _expect(part[key], str, where + (key,), "text")
        contents = [key for key in ("text", "base64", "sha256") if key in part]
        if len(contents) != 1:
            raise Invalid(where, f"{'.'.join(map(str, where))} needs exactly one of text, base64 or sha256 "
                                 f"(has {', '.join(contents) or 'none'})")
        if "base64" in part:
            try:
                base64.b64decode(part["base64"], validate=True)
            except ValueError:
                raise Invalid(where + ("base64",), f"{'.'.join(map(str, where + ('base64',)))} is not valid base64") \
                    from None
        if "sha256" in part:
            if not isinstance(part["sha256"], str) or not _SHA256.fullmatch(part["sha256"]):
                raise Invalid(where + ("sha256",), f"{'.'.join(map(str, where + ('sha256',)))} must be 64 lowercase "
                                                   "hexadecimal digits")
            size = _expect(part.get("size"), int, where + ("size",), "a number of bytes")
            if size < 0:
                raise Invalid(where + ("size",), f"{'.'.join(map(str, where + ('size',)))} must not be negative")


_REQUEST_KEYS = {"method", "path", "query", "headers", *BODY_KINDS}
_RESPONSE_KEYS = {"status", "headers", *BODY_KINDS}
_INTERACTION_KEYS = {"interaction", "endpoint", "recorded_at", "request", "response", "note"}


def _unknown_keys(section: dict[str, Any], allowed: set[str], path: tuple[Any, ...]) -> None:
    for key in section:
        if key not in allowed:
            where = ".".join(map(str, path + (key,)))
            raise Invalid(path + (key,), f"unknown key {where!s} (expected one of: {', '.join(sorted(allowed))})")


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _path_problem(path: str) -> str | None:
    """Why a path cannot be sent as recorded (a client would send another path), or None."""
    if _CONTROL.search(path):
        return "holds a control character"
    if "#" in path:
        return "holds '#' (a fragment is never sent)"
    if any(segment in (".", "..") for segment in path.split("/")):
        return "holds a dot-segment ('.' or '..'), which clients normalize away"
    if "?" in path:
        return "holds '?': the query goes under request.query"
    return None


def interaction_from_dict(doc: Any, index: int) -> Interaction:
    _expect(doc, dict, (), "a mapping")
    _unknown_keys(doc, _INTERACTION_KEYS, ())
    if "request" not in doc or "response" not in doc:
        raise Invalid((), "an interaction needs both request and response")
    req = _expect(doc["request"], dict, ("request",), "a mapping")
    _unknown_keys(req, _REQUEST_KEYS, ("request",))
    method = _expect(req.get("method"), str, ("request", "method"), "an HTTP method")
    if method.upper() not in HTTP_METHODS:
        raise Invalid(("request", "method"), f"request.method {method!r} is not an HTTP method")
    path = _expect(req.get("path"), str, ("request", "path"), "text")
    if not path.startswith("/"):
        raise Invalid(("request", "path"), f"request.path must start with '/', got {path!r}")
    problem = _path_problem(path)
    if problem:
        raise Invalid(("request", "path"), f"request.path {path!r} {problem}")
    query = req.get("query", {})
    _expect(query, (dict, str), ("request", "query"), "a mapping (decoded query) or text (raw query)")
    headers = _headers(req.get("headers", {}), ("request", "headers"))
    request = Request(method.upper(), path, query, headers, _body(req, ("request",)))

    resp = _expect(doc["response"], dict, ("response",), "a mapping")
    _unknown_keys(resp, _RESPONSE_KEYS, ("response",))
    status = _expect(resp.get("status"), int, ("response", "status"), "an HTTP status code")
    if not 100 <= status <= 599:
        raise Invalid(("response", "status"), f"response.status {status} is not an HTTP status code")
    if status < 200:
        raise Invalid(("response", "status"), f"response.status {status} is informational (1xx), never a response "
                                              "a client is answered with")
    response = Response(status, _headers(resp.get("headers", {}), ("response", "headers")), _body(resp, ("response",)))

    endpoint = doc.get("endpoint", "")
    _expect(endpoint, str, ("endpoint",), "text")
    return Interaction(request, response, endpoint, index, recorded_at=_recorded_at(doc))


def _recorded_at(doc: dict[str, Any]) -> datetime | None:
    """When the interaction's answer was recorded; None for a cassette written before the recorder kept it."""
    if "recorded_at" not in doc:
        return None
    text = _expect(doc["recorded_at"], str, ("recorded_at",), "a UTC time such as 2026-12-07T15:50:10Z")
    moment = parse_recorded_at(text)
    if moment is None:
        raise Invalid(("recorded_at",), f"recorded_at {text!r} is not a UTC time to the second such as "
                                        "2026-12-07T15:50:10Z (write it so, quoted; or delete the line: an interaction "
                                        "without it has no known age)")
    return moment


HEADER_KEYS = ("version", "name", "host", "api_version", "fixtures", "compare", "source", "meta")


def foreign_format(doc: Any) -> str | None:
    """The name of a recording format of another tool that a first document is in, or None."""
    if not isinstance(doc, dict):
        return None
    if isinstance(doc.get("log"), dict) and "entries" in doc["log"]:
        return "HAR"
    if "http_interactions" in doc:
        return "Ruby VCR cassette"
    interactions = doc.get("interactions")
    if isinstance(interactions, list) and isinstance(doc.get("version"), int) and all(
            isinstance(item, dict) and "request" in item and "response" in item for item in interactions):
        return "VCR.py cassette"  # what VCR.py writes: a version and request/response pairs, not any `interactions`
    return None


def own_output(doc: Any) -> str | None:
    """What this tool wrote that is no cassette (a run report, a matrix, a history), by its ``schema``; or None."""
    schema = doc.get("schema") if isinstance(doc, dict) else None
    if isinstance(schema, str) and schema.startswith("card-conformance/"):
        kind = schema.split("/")[1] if schema.count("/") >= 1 else "output"
        return {"report": "run report", "matrix": "matrix", "matrix-history": "matrix history"}.get(kind, kind)
    return None


def header_from_dict(doc: Any, fallback_name: str) -> tuple[str, CassetteHeader]:
    """(name, the other header fields) of a header document; raises Invalid."""
    own = own_output(doc)
    if own:
        raise Invalid((), f"a card-conformance {own} (JSON), not a cassette: give the cassettes it was made from, "
                          "or read it with `conformance compare`")
    foreign = foreign_format(doc)
    if foreign:
        raise Invalid((), f"a {foreign}, not a card-conformance cassette; convert it with: "
                          "conformance import FILE --out DIR")
    if not isinstance(doc, dict) or "version" not in doc:
        raise Invalid((), "not a cassette: the first document must be a header with 'version: 1'")
    version = doc["version"]
    if version != VERSION or type(version) is not int:  # not `true`, not `1.0`
        raise Invalid(("version",), f"unsupported cassette version {version!r} "
                                    f"(this card-conformance reads version {VERSION})")
    name = doc.get("name", fallback_name)
    if not isinstance(name, str):
        raise Invalid(("name",), "name must be text")
    for key in doc:
        if key not in HEADER_KEYS:
            raise Invalid((key,), f"unknown header key {key!r} (expected one of: {', '.join(HEADER_KEYS)}; "
                                  "free-form metadata goes under meta:)")
    if not isinstance(doc.get("host", ""), str):
        raise Invalid(("host",), "host must be text (the host the interactions were recorded from)")
    fixtures = doc.get("fixtures", [])
    if not isinstance(fixtures, list) or not all(isinstance(f, str) for f in fixtures):
        raise Invalid(("fixtures",), "fixtures must be a list of ids")
    compare = doc.get("compare", {})
    if not isinstance(compare, dict) or set(compare) - {"ignore", "exact", "loose", "nullable"} or not all(
            isinstance(v, list) and all(isinstance(p, str) for p in v) for v in compare.values()):
        raise Invalid(("compare",), "compare must be a mapping of ignore, exact, loose and nullable to lists of keys "
                                    "or paths")
    if not isinstance(doc.get("api_version", ""), str):
        raise Invalid(("api_version",), "api_version must be text: the Stripe API version the answers follow "
                                        "(quote a date: \"2023-08-16\")")
    if not isinstance(doc.get("source", ""), str):
        raise Invalid(("source",), "source must be text: where the cassette's expectations come from")
    return name, cast(CassetteHeader, {k: v for k, v in doc.items() if k not in ("version", "name")})
