"""Recordings of other tools turned into cassettes: VCR.py / pytest-recording, Ruby VCR, HAR 1.2, mitmproxy flows.

Each reader yields :class:`Exchange` values — one HTTP exchange with its raw
parts, bodies content-decoded — and every exchange then goes through the
recorder's own :func:`~conformance.cassette.exchange.build_interaction`: the same
redaction (VCR cassettes often hold live keys), the same decoding of forms and
JSON, the same endpoint names. mitmproxy's own reader reads flow files, and its
content decoders undo ``Content-Encoding``.
"""

from __future__ import annotations

import base64
import json
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.api_profile import ApiProfile
from conformance.cassette import CassetteWriter, foreign_recording
from conformance.cassette.exchange import build_interaction
from conformance.cassette.guard import Unwritable
from conformance.cassette.model import RecordMode
from conformance.cassette.validation import foreign_format
from conformance.errors import ConformanceError
from conformance.redaction import Redactor

__all__ = ["Exchange", "ImportResult", "NotARecording", "recording_format", "read_exchanges", "import_recording",
           "cassette_names", "FORMATS"]

FORMATS = ("VCR.py cassette", "Ruby VCR cassette", "HAR", "mitmproxy flow file")


class NotARecording(ConformanceError):
    """A file that is no recording this tool can import."""


class _Malformed(Exception):
    """A part of a recording that is not what its format says, at ``where`` (``interactions[2].response``)."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        self.problem = problem


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_content: bytes
    status: int
    response_headers: list[tuple[str, str]]  # without Content-Encoding
    response_content: bytes
    response_encoding: str = ""  # the content-codings response_content is still in ("": none)
    request_encoding: str = ""
    recorded_at: datetime | None = None  # when the source recorded it, where its format says (VCR.py does not)

    @property
    def path(self) -> str:
        return urlsplit(self.url).path or "/"

    @property
    def host(self) -> str:
        return urlsplit(self.url).hostname or ""


@dataclass
class ImportResult:
    source: Path
    format: str
    cassette: Path
    imported: int = 0
    skipped: list[str] = field(default_factory=list)  # "METHOD url" of what was left out, and why
    refused: list[str] = field(default_factory=list)  # what no cassette can hold: "METHOD path -> status: why"


# A recording whose YAML aliases would expand past this many nodes is an alias bomb, not a recording.
MAX_NODES = 1_000_000
MAX_DEPTH = 100  # nested deeper than any recording's bodies (kept as text) need


def _yaml_loader_class() -> Any:
    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it; !!binary read


def _expanded_size(root: yaml.Node) -> tuple[int, int]:
    """(nodes, depth) of a composed YAML document as its aliases would expand it, counted without expanding:
    each node's size once (memoized), so a billion laughs costs its own size to measure."""
    sizes: dict[int, tuple[int, int]] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        if id(node) in sizes:
            continue
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        elif isinstance(node, yaml.MappingNode):
            children = [item for pair in node.value for item in pair]
        if children_done or not children:
            size = 1 + sum(sizes[id(child)][0] for child in children)
            depth = 1 + max((sizes[id(child)][1] for child in children), default=0)
            sizes[id(node)] = (min(size, MAX_NODES + 1), depth)
            if depth > MAX_DEPTH:
                return size, depth
            continue
        stack.append((node, True))
        stack.extend((child, False) for child in children if id(child) not in sizes)
    return sizes[id(root)]


def _load_yaml(text: str, path: Path) -> Any:
    """One YAML document, its aliases bounded (a billion laughs is refused before it is expanded)."""
    loader = _yaml_loader_class()(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        nodes, depth = _expanded_size(node)
        if nodes > MAX_NODES:
            raise NotARecording(f"{path}: its YAML aliases expand to more than {MAX_NODES:,} values: refused")
        if depth > MAX_DEPTH:
            raise NotARecording(f"{path}: nested deeper than {MAX_DEPTH} levels: not a recording")
        return loader.construct_document(node)
    finally:
        loader.dispose()


def _regular(path: Path) -> None:
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise NotARecording(f"cannot read {path}: {error.strerror or error}") from None
    if not stat.S_ISREG(mode):
        raise NotARecording(f"{path}: not a regular file (a directory, FIFO or device): give a recording's file")


def recording_format(path: Path) -> tuple[str, Any]:
    """(format name, its loaded data) of a recording; an NotARecording when it is none of :data:`FORMATS`."""
    _regular(path)
    if foreign_recording(path) == "mitmproxy flow file":
        return "mitmproxy flow file", None
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise NotARecording(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise NotARecording(f"{path}: not a recording this tool imports (binary, and not a mitmproxy flow file)") from None
    try:
        data = _parse(text, path)
    except (yaml.YAMLError, ValueError) as error:
        raise NotARecording(f"{path}: neither JSON nor YAML ({_first_line(error)})") from None
    except RecursionError:
        raise NotARecording(f"{path}: nested too deep to be a recording") from None
    found = foreign_format(data)
    if found is None:
        raise NotARecording(f"{path}: not a recording this tool imports (expected one of: {', '.join(FORMATS)})")
    return found, data


def _first_line(error: Exception) -> str:
    return (str(error).splitlines() or [type(error).__name__])[0][:200]


def _parse(text: str, path: Path) -> Any:
    """JSON (HAR, VCR.py's JSON serializer), else YAML (VCR.py, Ruby VCR)."""
    try:
        return json.loads(text)
    except ValueError as error:
        if text.lstrip().startswith(("{", "[")) and not isinstance(error, json.JSONDecodeError):
            raise  # JSON, but a number too long to read: not worth a second try as YAML
    return _load_yaml(text, path)


# ---------------------------------------------------------------- the shapes of the formats


def _describe(value: Any) -> str:
    return {dict: "a mapping", list: "a list", str: "text", bool: "a boolean", int: "a number", float: "a number",
            bytes: "binary"}.get(type(value), "empty" if value is None else type(value).__name__)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Malformed(where, f"must be a mapping, not {_describe(value)}")
    return value


def _sequence(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _Malformed(where, f"must be a list, not {_describe(value)}")
    return value


def _text(value: Any, where: str, default: str | None = None) -> str:
    if value is None and default is not None:
        return default
    if isinstance(value, str):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "surrogateescape")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    raise _Malformed(where, f"must be text, not {_describe(value)}")


def _status(value: Any, where: str) -> int:
    if isinstance(value, str) and value.strip().isdigit() and len(value.strip()) <= 3:
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Malformed(where, f"must be an HTTP status code (a number), not {_describe(value)}")
    if not 0 <= value <= 999:
        raise _Malformed(where, f"{value} is not an HTTP status code")
    return value


def _content(value: Any, where: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", "surrogatepass")  # a lone surrogate from JSON: bytes that are no UTF-8
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value).encode()
    raise _Malformed(where, f"must be text, not {_describe(value)}")


def _base64(value: Any, where: str) -> bytes:
    text = _text(value, where)
    try:
        return base64.b64decode("".join(text.split()), validate=True)  # Ruby wraps base64 at 60 characters
    except ValueError:
        raise _Malformed(where, "is not valid base64") from None


def _moment(value: Any, where: str, *, http_date: bool = False) -> datetime | None:
    """A recording's time of an exchange (HAR's ISO 8601 startedDateTime, Ruby VCR's HTTP-date recorded_at),
    kept as the cassette's recorded_at; absent is None, a time that is no time is malformed."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):  # a YAML reader's timestamp
        moment = value
    else:
        text = _text(value, where)
        try:
            moment = parsedate_to_datetime(text) if http_date else datetime.fromisoformat(text)
        except (ValueError, TypeError):
            form = "an HTTP date such as 'Wed, 16 Aug 2023 10:00:00 GMT'" if http_date else \
                "an ISO 8601 time such as 2023-08-16T10:00:00.000Z"
            raise _Malformed(where, f"must be {form}, not {text[:40]!r}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _url(value: Any, where: str) -> str:
    if value is None or value == "":
        raise _Malformed(where, "is missing: every exchange needs its URL")
    if not isinstance(value, str):
        raise _Malformed(where, f"must be a URL (text), not {_describe(value)}")
    url = value
    try:
        urlsplit(url).hostname  # noqa: B018  (raises for a malformed authority)
    except ValueError as error:
        raise _Malformed(where, f"is not a URL ({error})") from None
    return url


def _encoding(headers: Iterable[tuple[str, str]]) -> str:
    """The Content-Encoding its headers say a body is in ("" for none or identity)."""
    codings = [value for name, value in headers if name.lower() == "content-encoding"]
    coding = ", ".join(codings).strip()
    return "" if coding.lower() in ("", "identity") else coding


def _without_encoding(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() != "content-encoding"]


def _vcr_headers(headers: Any, where: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in _mapping(headers, where).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((_text(name, where), _text(value, f"{where}.{name}", default="")))
    return pairs


def _vcr_body(body: Any, where: str) -> bytes:
    if isinstance(body, dict):
        if "base64_string" in body:  # Ruby VCR's binary bodies
            return _base64(body["base64_string"], f"{where}.base64_string")
        return _content(body.get("string"), f"{where}.string")
    return _content(body, where)


def _vcr_status(status: Any, where: str) -> int:
    if isinstance(status, dict):
        return _status(status.get("code"), f"{where}.code")
    return _status(status, where)


def _vcr(data: dict[str, Any], key: str, default_method: str) -> Iterator[Exchange]:
    """VCR.py (``interactions``) and Ruby VCR (``http_interactions``): the same shape, told apart by its key."""
    for number, interaction in enumerate(_sequence(data.get(key), key)):
        where = f"{key}[{number}]"
        interaction = _mapping(interaction, where)
        if not interaction:
            raise _Malformed(where, "must be a mapping with request and response")
        request = _mapping(interaction.get("request"), f"{where}.request")
        response = _mapping(interaction.get("response"), f"{where}.response")
        headers = _vcr_headers(response.get("headers"), f"{where}.response.headers")
        request_headers = _vcr_headers(request.get("headers"), f"{where}.request.headers")
        yield Exchange(_text(request.get("method"), f"{where}.request.method", default_method).upper(),
                       _url(request.get("uri"), f"{where}.request.uri"),
                       _without_encoding(request_headers), _vcr_body(request.get("body"), f"{where}.request.body"),
                       _vcr_status(response.get("status"), f"{where}.response.status"),
                       _without_encoding(headers), _vcr_body(response.get("body"), f"{where}.response.body"),
                       response_encoding=_encoding(headers), request_encoding=_encoding(request_headers),
                       recorded_at=_moment(interaction.get("recorded_at"), f"{where}.recorded_at", http_date=True))


def _har_headers(headers: Any, where: str) -> list[tuple[str, str]]:
    pairs = []
    for number, header in enumerate(_sequence(headers, where)):
        header = _mapping(header, f"{where}[{number}]")
        pairs.append((_text(header.get("name"), f"{where}[{number}].name", default=""),
                      _text(header.get("value"), f"{where}[{number}].value", default="")))
    return pairs


def _har_entry(entry: Any, where: str) -> Exchange:
    entry = _mapping(entry, where)
    request, response = _mapping(entry.get("request"), f"{where}.request"), \
        _mapping(entry.get("response"), f"{where}.response")
    posted = _mapping(request.get("postData"), f"{where}.request.postData")
    request_headers = _har_headers(request.get("headers"), f"{where}.request.headers")
    mime = _text(posted.get("mimeType"), f"{where}.request.postData.mimeType", default="")
    if mime and not any(name.lower() == "content-type" for name, _ in request_headers):
        request_headers.append(("Content-Type", mime))
    content = _mapping(response.get("content"), f"{where}.response.content")
    text = content.get("text") or ""
    if not isinstance(text, str):  # JSON: a body is a string, never a number read from YAML
        raise _Malformed(f"{where}.response.content.text", f"must be text, not {_describe(text)}")
    body = _base64(text, f"{where}.response.content.text") if content.get("encoding") == "base64" else \
        _content(text, f"{where}.response.content.text")
    # HAR's content.text is already decoded: the Content-Encoding header no longer applies to it
    return Exchange(_text(request.get("method"), f"{where}.request.method", default="GET").upper(),
                    _url(request.get("url"), f"{where}.request.url"), request_headers,
                    _content(posted.get("text"), f"{where}.request.postData.text"),
                    _status(response.get("status"), f"{where}.response.status"),
                    _without_encoding(_har_headers(response.get("headers"), f"{where}.response.headers")), body,
                    recorded_at=_moment(entry.get("startedDateTime"), f"{where}.startedDateTime"))


def _har(data: dict[str, Any]) -> Iterator[Exchange]:
    log = _mapping(data.get("log"), "log")
    if not isinstance(log.get("entries"), list):
        raise _Malformed("log.entries", f"must be a list, not {_describe(log.get('entries'))}")
    for number, entry in enumerate(log["entries"]):
        yield _har_entry(entry, f"log.entries[{number}]")


def _flows(path: Path) -> Iterator[Exchange]:
    from mitmproxy import http, io

    with open(path, "rb") as stream:
        try:
            for flow in io.FlowReader(stream).stream():
                if not isinstance(flow, http.HTTPFlow) or flow.response is None:
                    continue
                request, response = flow.request, flow.response
                headers = [(k, v) for k, v in response.headers.items(multi=True)]
                request_headers = [(k, v) for k, v in request.headers.items(multi=True)]
                yield Exchange(request.method, request.url, _without_encoding(request_headers),
                               request.raw_content or b"", response.status_code, _without_encoding(headers),
                               response.raw_content or b"", response_encoding=_encoding(headers),
                               request_encoding=_encoding(request_headers),
                               recorded_at=datetime.fromtimestamp(request.timestamp_start, UTC)
                               if request.timestamp_start else None)
        except Exception as error:  # mitmproxy's reader raises its own FlowReadException and others
            raise NotARecording(f"{path}: not a readable mitmproxy flow file ({_first_line(error)})") from None


def read_exchanges(path: Path) -> tuple[str, list[Exchange]]:
    """The format of a recording and all its exchanges, in recorded order; NotARecording, naming the place, for
    any part that is not what the format says (read whole first: a malformed recording writes nothing)."""
    found, data = recording_format(path)
    if found == "mitmproxy flow file":
        return found, list(_flows(path))
    reader = _har(data) if found == "HAR" else _vcr(data, "http_interactions", "GET") \
        if found == "Ruby VCR cassette" else _vcr(data, "interactions", "GET")
    try:
        return found, list(reader)
    except _Malformed as malformed:
        raise NotARecording(f"{path}: {malformed.where} {malformed.problem} (not a valid {found})") from None


def cassette_names(paths: list[Path]) -> dict[Path, str]:
    """The cassette each recording becomes: its name without the extension, and with it where two recordings
    share a name (``flows.har`` and ``flows.mitm``: ``flows-har``, ``flows-mitm``) — never two into one file."""
    stems = [path.stem for path in paths]
    return {path: f"{path.stem}-{path.suffix.lstrip('.')}" if stems.count(path.stem) > 1 and path.suffix else path.stem
            for path in paths}


def import_recording(path: Path, out_dir: Path, *, paths: str = r"^/v1/", mode: RecordMode = "new",
                     redactor: Redactor | None = None, name: str | None = None,
                     profile: ApiProfile | None = None) -> ImportResult:
    """One recording into one cassette ``out_dir/<name>.yaml`` (its file name without the extension unless
    ``name``), redacted like a recording, its endpoints named by ``profile``. An exchange no cassette can hold
    (a method or status the loader refuses) is left out and named in ``refused``."""
    redactor = redactor or Redactor(cards=profile.cards if profile else None)
    wanted = re.compile(paths)
    found, exchanges = read_exchanges(path)
    name = name or path.stem
    target = out_dir / f"{name}.yaml"
    result = ImportResult(path, found, target)
    out_dir.mkdir(parents=True, exist_ok=True)
    with CassetteWriter(target, name, {"source": f"imported from {path.name} ({found})"}, mode=mode) as writer:
        for exchange in exchanges:
            if exchange.status < 200 or not wanted.search(exchange.path):
                result.skipped.append(redactor.text(f"{exchange.method} {exchange.url}"))
                continue
            split = urlsplit(exchange.url)
            interaction = build_interaction(
                method=exchange.method, url_path=split.path + (f"?{split.query}" if split.query else ""),
                request_headers=exchange.request_headers, request_content=exchange.request_content,
                status=exchange.status, response_headers=exchange.response_headers,
                response_content=exchange.response_content, redactor=redactor, profile=profile,
                request_encoding=exchange.request_encoding, response_encoding=exchange.response_encoding,
            )
            interaction.recorded_at = exchange.recorded_at
            try:
                writer.append(interaction)
            except Unwritable as refused:
                result.refused.append(redactor.text(str(refused)))
        result.imported = writer.count
    return result
