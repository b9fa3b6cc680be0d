"""Recordings of other tools turned into cassettes: VCR.py / pytest-recording, Ruby VCR, HAR 1.2, mitmproxy flows.

Each reader yields :class:`Exchange` values — one HTTP exchange with its raw
parts, bodies content-decoded — and every exchange then goes through the
recorder's own :func:`~conformance.record.exchange.build_interaction`: the same
redaction (VCR cassettes often hold live keys), the same decoding of forms and
JSON, the same endpoint names. mitmproxy's own reader reads flow files, and its
content decoders undo ``Content-Encoding``.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.api_profile import ApiProfile
from conformance.cassette import CassetteWriter, foreign_recording
from conformance.cassette.model import RecordMode
from conformance.cassette.validation import foreign_format
from conformance.errors import ConformanceError
from conformance.record.exchange import build_interaction
from conformance.redaction import Redactor

__all__ = ["Exchange", "ImportResult", "NotARecording", "recording_format", "read_exchanges", "import_recording",
           "cassette_names", "FORMATS"]

FORMATS = ("VCR.py cassette", "Ruby VCR cassette", "HAR", "mitmproxy flow file")


class NotARecording(ConformanceError):
    """A file that is no recording this tool can import."""


@dataclass
class Exchange:
    method: str
    url: str
    request_headers: list[tuple[str, str]]
    request_content: bytes
    status: int
    response_headers: list[tuple[str, str]]
    response_content: bytes  # content-decoded

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


def recording_format(path: Path) -> tuple[str, Any]:
    """(format name, its loaded data) of a recording; an NotARecording when it is none of :data:`FORMATS`."""
    if foreign_recording(path) == "mitmproxy flow file":
        return "mitmproxy flow file", None
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        raise NotARecording(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise NotARecording(f"{path}: not a recording this tool imports (binary, and not a mitmproxy flow file)") from None
    try:
        data = json.loads(text)
    except ValueError:
        try:
            data = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # !!binary bodies of VCR.py
        except yaml.YAMLError as error:
            raise NotARecording(f"{path}: neither JSON nor YAML ({str(error).splitlines()[0]})") from None
    found = foreign_format(data)
    if found is None:
        raise NotARecording(f"{path}: not a recording this tool imports (expected one of: {', '.join(FORMATS)})")
    return found, data


def _decoded(content: bytes, headers: Iterable[tuple[str, str]]) -> bytes:
    from mitmproxy.net import encoding

    for name, value in headers:
        if name.lower() == "content-encoding" and value.strip().lower() not in ("", "identity"):
            try:
                decoded = encoding.decode(content, value.strip().lower())
            except ValueError:
                return content
            return decoded if isinstance(decoded, bytes) else decoded.encode("utf-8")
    return content


def _without_encoding(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name.lower() != "content-encoding"]


def _bytes(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    return str(value).encode("utf-8")


def _vcr_headers(headers: Any) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for name, values in (headers or {}).items():
        for value in values if isinstance(values, list) else [values]:
            pairs.append((str(name), str(value)))
    return pairs


def _vcr_py(data: dict[str, Any]) -> Iterator[Exchange]:
    for interaction in data.get("interactions") or []:
        request, response = interaction.get("request", {}), interaction.get("response", {})
        status = response.get("status", {})
        body = response.get("body", {})
        headers = _vcr_headers(response.get("headers"))
        content = _bytes(body.get("string") if isinstance(body, dict) else body)
        yield Exchange(str(request.get("method", "GET")).upper(), str(request.get("uri", "")),
                       _vcr_headers(request.get("headers")), _bytes(request.get("body")),
                       int(status.get("code", 0) if isinstance(status, dict) else status),
                       _without_encoding(headers), _decoded(content, headers))


def _ruby_body(body: Any) -> bytes:
    if not isinstance(body, dict):
        return _bytes(body)
    if "base64_string" in body:
        return base64.b64decode(body["base64_string"])
    return _bytes(body.get("string"))


def _ruby_vcr(data: dict[str, Any]) -> Iterator[Exchange]:
    for interaction in data.get("http_interactions") or []:
        request, response = interaction.get("request", {}), interaction.get("response", {})
        headers = _vcr_headers(response.get("headers"))
        yield Exchange(str(request.get("method", "get")).upper(), str(request.get("uri", "")),
                       _vcr_headers(request.get("headers")), _ruby_body(request.get("body")),
                       int((response.get("status") or {}).get("code", 0)),
                       _without_encoding(headers), _decoded(_ruby_body(response.get("body")), headers))


def _har_headers(headers: Any) -> list[tuple[str, str]]:
    return [(str(h.get("name", "")), str(h.get("value", ""))) for h in headers or [] if isinstance(h, dict)]


def _har(data: dict[str, Any]) -> Iterator[Exchange]:
    for entry in data["log"].get("entries") or []:
        request, response = entry.get("request", {}), entry.get("response", {})
        posted = request.get("postData") or {}
        request_headers = _har_headers(request.get("headers"))
        if posted.get("mimeType") and not any(n.lower() == "content-type" for n, _ in request_headers):
            request_headers.append(("Content-Type", posted["mimeType"]))
        content = response.get("content") or {}
        text = content.get("text") or ""
        body = base64.b64decode(text) if content.get("encoding") == "base64" else text.encode("utf-8")
        headers = _har_headers(response.get("headers"))
        # HAR's content.text is already decoded: the Content-Encoding header no longer applies to it
        yield Exchange(str(request.get("method", "GET")).upper(), str(request.get("url", "")), request_headers,
                       _bytes(posted.get("text")), int(response.get("status", 0)), _without_encoding(headers), body)


def _flows(path: Path) -> Iterator[Exchange]:
    from mitmproxy import http, io

    with open(path, "rb") as stream:
        try:
            for flow in io.FlowReader(stream).stream():
                if not isinstance(flow, http.HTTPFlow) or flow.response is None:
                    continue
                request, response = flow.request, flow.response
                yield Exchange(request.method, request.url,
                               [(k, v) for k, v in request.headers.items(multi=True)],
                               request.get_content(strict=False) or b"", response.status_code,
                               _without_encoding([(k, v) for k, v in response.headers.items(multi=True)]),
                               response.get_content(strict=False) or b"")
        except Exception as error:  # mitmproxy's reader raises its own FlowReadException and others
            raise NotARecording(f"{path}: not a readable mitmproxy flow file ({error})") from None


def read_exchanges(path: Path) -> tuple[str, Iterator[Exchange]]:
    """The format of a recording and its exchanges, in recorded order."""
    found, data = recording_format(path)
    if found == "mitmproxy flow file":
        return found, _flows(path)
    if found == "HAR":
        return found, _har(data)
    if found == "Ruby VCR cassette":
        return found, _ruby_vcr(data)
    return found, _vcr_py(data)


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
    ``name``), redacted like a recording, its endpoints named by ``profile``."""
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
            writer.append(build_interaction(
                method=exchange.method, url_path=split.path + (f"?{split.query}" if split.query else ""),
                request_headers=exchange.request_headers, request_content=exchange.request_content,
                status=exchange.status, response_headers=exchange.response_headers,
                response_content=exchange.response_content, redactor=redactor, profile=profile,
            ))
        result.imported = writer.count
    return result
