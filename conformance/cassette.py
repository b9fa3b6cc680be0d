"""The cassette: the one model of recorded traffic, shared by the recorder, the replay server and the runner.

A cassette file is a stream of YAML documents (format in ``docs/cassette-format.md``):
a header document (``version``, ``name``) followed by one document per interaction.
The recorder appends each interaction as one document in one ``write()``, so a
recorder killed at any moment leaves a file that loads; nothing is ever rewritten.

Loading is safe (no tags that construct objects, no aliases, no duplicate keys)
and every problem is a :class:`CassetteError` naming the file and the line.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from . import emitter, forms
from .cache import CacheWriter, cached_documents
from .reader import read_documents
from .routes import endpoint_for

__all__ = [
    "VERSION",
    "Body",
    "Request",
    "Response",
    "Interaction",
    "Cassette",
    "CassetteError",
    "CassetteWriter",
    "load",
    "iter_interactions",
    "find_cassettes",
    "body_from_bytes",
]

VERSION = 1
BODY_KINDS = ("form", "json", "text", "base64")
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"}
SUFFIXES = (".yaml", ".yml")

_BaseLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CassetteError(Exception):
    """A cassette that cannot be used, with the place and the problem in one line."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.problem}"


# --------------------------------------------------------------------------- model


@dataclass
class Body:
    """A body as stored: decoded form data, JSON data, text, or base64 for bytes."""

    kind: str
    value: Any

    def to_bytes(self) -> bytes:
        if self.kind == "form":
            return (forms.encode(self.value) if isinstance(self.value, dict) else self.value).encode()
        if self.kind == "json":
            return json.dumps(self.value, ensure_ascii=False).encode()
        if self.kind == "text":
            return self.value.encode()
        return base64.b64decode(self.value)


def body_from_bytes(content: bytes, content_type: str) -> Body | None:
    """Choose the most readable lossless way to store a body."""
    if not content:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return Body("base64", base64.b64encode(content).decode("ascii"))
    if media == "application/x-www-form-urlencoded":
        try:
            data = forms.decode(forms.parse_pairs(text))
        except UnicodeDecodeError:
            data = None
        return Body("form", data if data is not None else text)
    if media.endswith("json") or media.endswith("+json"):
        try:
            return Body("json", json.loads(text))
        except ValueError:
            pass
    return Body("text", text)


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


@dataclass
class Interaction:
    request: Request
    response: Response
    endpoint: str = ""
    index: int = 0  # 1-based position in its cassette
    line: int | None = None  # where its document starts in the file (not stored)

    def __post_init__(self) -> None:
        if not self.endpoint:
            self.endpoint = endpoint_for(self.request.method, self.request.path)


@dataclass
class Cassette:
    path: Path
    name: str
    interactions: list[Interaction]
    meta: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


# ----------------------------------------------------------------- serialization


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
    return {
        "interaction": interaction.index,
        "endpoint": interaction.endpoint,
        "request": request,
        "response": response,
    }


class _Invalid(Exception):
    """A schema problem at a path inside one document; located to a line later."""

    def __init__(self, path: tuple[Any, ...], problem: str) -> None:
        self.path = path
        self.problem = problem


def _expect(value: Any, kind: type | tuple[type, ...], path: tuple[Any, ...], what: str) -> Any:
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise _Invalid(path, f"{'.'.join(map(str, path))} must be {what}, not {_describe(value)}")
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
        raise _Invalid(path + (kinds[1],), f"{'.'.join(map(str, path))} has more than one body ({', '.join(kinds)})")
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
                raise _Invalid(path + (kind,), f"{'.'.join(map(str, path + (kind,)))} is not valid base64")
    return Body(kind, value)


_REQUEST_KEYS = {"method", "path", "query", "headers", *BODY_KINDS}
_RESPONSE_KEYS = {"status", "headers", *BODY_KINDS}
_INTERACTION_KEYS = {"interaction", "endpoint", "request", "response", "note"}


def _unknown_keys(section: dict[str, Any], allowed: set[str], path: tuple[Any, ...]) -> None:
    for key in section:
        if key not in allowed:
            where = ".".join(map(str, path + (key,)))
            raise _Invalid(path + (key,), f"unknown key {where!s} (expected one of: {', '.join(sorted(allowed))})")


def interaction_from_dict(doc: Any, index: int) -> Interaction:
    _expect(doc, dict, (), "a mapping")
    _unknown_keys(doc, _INTERACTION_KEYS, ())
    if "request" not in doc or "response" not in doc:
        raise _Invalid((), "an interaction needs both request and response")
    req = _expect(doc["request"], dict, ("request",), "a mapping")
    _unknown_keys(req, _REQUEST_KEYS, ("request",))
    method = _expect(req.get("method"), str, ("request", "method"), "an HTTP method")
    if method.upper() not in HTTP_METHODS:
        raise _Invalid(("request", "method"), f"request.method {method!r} is not an HTTP method")
    path = _expect(req.get("path"), str, ("request", "path"), "text")
    if not path.startswith("/"):
        raise _Invalid(("request", "path"), f"request.path must start with '/', got {path!r}")
    query = req.get("query", {})
    _expect(query, (dict, str), ("request", "query"), "a mapping (decoded query) or text (raw query)")
    headers = _headers(req.get("headers", {}), ("request", "headers"))
    request = Request(method.upper(), path, query, headers, _body(req, ("request",)))

    resp = _expect(doc["response"], dict, ("response",), "a mapping")
    _unknown_keys(resp, _RESPONSE_KEYS, ("response",))
    status = _expect(resp.get("status"), int, ("response", "status"), "an HTTP status code")
    if not 100 <= status <= 599:
        raise _Invalid(("response", "status"), f"response.status {status} is not an HTTP status code")
    response = Response(status, _headers(resp.get("headers", {}), ("response", "headers")), _body(resp, ("response",)))

    endpoint = doc.get("endpoint", "")
    _expect(endpoint, str, ("endpoint",), "text")
    return Interaction(request, response, endpoint, index)


def _trusted_interaction(doc: dict[str, Any], index: int) -> Interaction:
    """An interaction from a document validated when it was cached."""
    req, resp = doc["request"], doc["response"]
    request = Request(req["method"].upper(), req["path"], req.get("query", {}), req.get("headers", {}), _any_body(req))
    response = Response(resp["status"], resp.get("headers", {}), _any_body(resp))
    return Interaction(request, response, doc.get("endpoint", ""), index)


def _any_body(section: dict[str, Any]) -> Body | None:
    for kind in BODY_KINDS:
        if kind in section:
            return Body(kind, section[kind])
    return None


# ---------------------------------------------------------------------- loading


def _yaml_error(path: Path, error: Exception) -> CassetteError:
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if isinstance(error, yaml.reader.ReaderError):
        problem = "not valid UTF-8 text: " + str(error).splitlines()[0]
    return CassetteError(path, line, f"invalid YAML: {problem}" if "YAML" not in problem else problem)


def _locate(path: Path, document: int, inner: tuple[Any, ...]) -> int | None:
    """Line of a key inside the n-th document (0-based); only used to report errors."""
    try:
        with open(path, "rb") as stream:
            for number, node in enumerate(yaml.compose_all(stream, Loader=_BaseLoader)):
                if number != document:
                    continue
                line = node.start_mark.line + 1
                for key in inner:
                    if not isinstance(node, yaml.MappingNode):
                        break
                    for key_node, value_node in node.value:
                        if key_node.value == key:
                            line = key_node.start_mark.line + 1
                            node = value_node
                            break
                    else:
                        break
                return line
    except (yaml.YAMLError, OSError, RecursionError):
        return None
    return None


def _documents(path: Path, use_cache: bool = True) -> Iterator[tuple[int, Any, bool]]:
    """(line, data, validated before) of each document, streaming; raises CassetteError.

    A cassette read completely once is read again from the parse cache (cache.py);
    only cassettes whose every document was valid are cached.
    """
    cached = cached_documents(path) if use_cache else None
    if cached is not None:
        for line, data in cached:
            yield line, data, True
        return
    try:
        stream = open(path, "rb")
    except OSError as error:
        raise CassetteError(path, None, f"cannot read: {error.strerror or error}")
    writer = CacheWriter(path) if use_cache else None
    with stream:
        try:
            for line, data in read_documents(stream):
                if writer is not None:
                    writer.add(line, data)
                yield line, data, False
            if writer is not None:
                writer.commit()
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise _yaml_error(path, error) from None
        except RecursionError:
            raise CassetteError(path, None, "nested too deeply to be a cassette") from None
        finally:
            if writer is not None:
                writer.abandon()  # a no-op after commit; an interrupted read leaves no entry


DOCUMENT_END = b"\n...\n"


def _cut_after_line(path: Path) -> int | None:
    """For a recorded cassette whose last write was cut short, the line after which it was cut.

    The recorder ends every document with ``...``; a file that starts that way but
    does not end with it was killed in the middle of a write. Hand-written
    cassettes without ``...`` are never considered cut.
    """
    try:
        with open(path, "rb") as stream:
            if DOCUMENT_END not in stream.read(4096):
                return None
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - len(DOCUMENT_END)))
            if stream.read() == DOCUMENT_END:
                return None
            stream.seek(0)
            data = stream.read()
    except OSError:
        return None
    return data[: data.rfind(DOCUMENT_END) + len(DOCUMENT_END)].count(b"\n")


def _header(path: Path, line: int, doc: Any) -> tuple[str, dict[str, Any]]:
    if not isinstance(doc, dict) or "version" not in doc:
        raise CassetteError(path, line, "not a cassette: the first document must be a header with 'version: 1'")
    version = doc["version"]
    if version != VERSION:
        raise CassetteError(
            path, _locate(path, 0, ("version",)) or line,
            f"unsupported cassette version {version!r} (this card-conformance reads version {VERSION})",
        )
    name = doc.get("name", path.stem)
    if not isinstance(name, str):
        raise CassetteError(path, _locate(path, 0, ("name",)) or line, "name must be text")
    return name, {k: v for k, v in doc.items() if k not in ("version", "name")}


def iter_interactions(path: str | os.PathLike[str], header: dict[str, Any] | None = None) -> Iterator[Interaction]:
    """Stream the interactions of one cassette, validating each; raises CassetteError.

    ``header``, when given, is filled with the header document's fields.
    """
    path = Path(path)
    cut = _cut_after_line(path)
    number = -1
    try:
        for number, (line, doc, trusted) in enumerate(_documents(path, use_cache=cut is None)):
            if cut is not None and line > cut:
                break
            if number == 0:
                name, meta = _header(path, line, doc)
                if header is not None:
                    header.update(meta, name=name)
                continue
            try:
                interaction = _trusted_interaction(doc, number) if trusted else interaction_from_dict(doc, number)
            except _Invalid as invalid:
                line = _locate(path, number, invalid.path) or line
                raise CassetteError(path, line, f"interaction {number}: {invalid.problem}") from None
            interaction.line = line
            yield interaction
    except CassetteError as error:
        if cut is None or (error.line is not None and error.line <= cut):
            raise
    if cut is not None and header is not None:
        header.setdefault("warnings", []).append(
            f"{path}:{cut + 1}: the last interaction is incomplete (the recording was interrupted) and was skipped"
        )
    if number < 0:
        raise CassetteError(path, None, "empty file: not a cassette (expected a header with 'version: 1')")


def load(path: str | os.PathLike[str]) -> Cassette:
    """Load and validate a whole cassette."""
    header: dict[str, Any] = {}
    interactions = list(iter_interactions(path, header))
    warnings = header.pop("warnings", [])
    name = header.pop("name")
    return Cassette(Path(path), name, interactions, header, warnings)


def find_cassettes(paths: list[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and directories into cassette files, in a stable order."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()))
        elif path.exists():
            found.append(path)
        else:
            raise CassetteError(path, None, "no such file or directory")
    return found


# ---------------------------------------------------------------------- writing


def dump_document(data: dict[str, Any]) -> bytes:
    return emitter.dump_document(data).encode("utf-8")


HEADER_COMMENT = b"# card-conformance cassette (format: docs/cassette-format.md)\n"


class CassetteWriter:
    """Append-only writer: each interaction is one document in one write() call.

    A reader never sees half a document unless the writing process is killed
    inside a single large write; the loader skips such a cut-off last document.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None, meta: dict[str, Any] | None = None) -> None:
        self.path = Path(path)
        self.count = 0
        header: dict[str, Any] = {"version": VERSION, "name": name or self.path.stem}
        header.update(meta or {})
        self._fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
        self._write(HEADER_COMMENT + dump_document(header))

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]

    def append(self, interaction: Interaction) -> int:
        self.count += 1
        interaction.index = self.count
        self._write(dump_document(interaction_to_dict(interaction)))
        return self.count

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

