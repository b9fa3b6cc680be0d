"""The connection to the target: httpx's transport, keep-alive, with nothing added.

A replay sends exactly what the cassette holds, so ``httpx.Client``'s extras are
not wanted here: a cookie jar would send back cookies the target set (a header
that is not in the cassette), and redirects are findings, not something to
follow. Going straight to the transport also skips the client's per-request URL
merging and cookie bookkeeping, which cost more CPU than the rest of a replay.

An answer is read with a cap (``max_body``, ``--max-body``) on its size as sent
and as decoded: a target that sends an endless body, or a small gzip, zstd or
brotli "bomb" (stacked codings too), ends in :class:`AnswerTooLarge` after at
most the cap and one step of decoding, not in a process out of memory.
"""

from __future__ import annotations

import json
import math
import re
import ssl
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpcore
import httpx
from httpx._decoders import SUPPORTED_DECODERS, ContentDecoder

from conformance import __version__
from conformance.net import DEFAULT_MAX_BODY, size_text

__all__ = ["TargetClient", "TargetAnswer", "AnswerTooLarge"]

# How much of an encoded body one decoder call is given, per coding: what one call can give back stays about a
# megabyte (gzip and deflate expand at most ~1,000 times, zstd ~30,000, brotli a metablock of up to 16 MB from a
# few bytes), so a bomb stops within a step of the cap however the codings are stacked.
_STEP = {"gzip": 1024, "deflate": 1024, "zstd": 32, "br": 4}


# A JSON escape of half a UTF-16 surrogate pair with no other half (``"\ud800"``): valid JSON grammar, but no
# Unicode text — it would end the run where a report or the terminal writes it as UTF-8. The backslashes before it
# are counted so an escaped backslash followed by "ud800" (``"\\ud800"``, text) is left alone.
_SURROGATE = re.compile(rb"(?<!\\)((?:\\\\)*)\\u([dD][89abAB][0-9a-fA-F]{2})(\\u[dD][c-fC-F][0-9a-fA-F]{2})?"
                        rb"|(?<!\\)((?:\\\\)*)\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def _whole_pairs(content: bytes) -> tuple[bytes, tuple[str, ...]]:
    """``content`` with every lone surrogate escape replaced by the escape of U+FFFD, and a note saying how many."""
    if b"\\u" not in content:
        return content, ()
    lone = 0

    def repair(match: re.Match[bytes]) -> bytes:
        nonlocal lone
        if match.group(3) is not None:  # a high and a low half: one character
            return match.group(0)
        lone += 1
        return (match.group(1) if match.group(1) is not None else match.group(4)) + b"\\ufffd"

    repaired = _SURROGATE.sub(repair, content)
    if not lone:
        return content, ()
    return repaired, (f"the body holds {lone} lone surrogate escape{'s' if lone > 1 else ''} (\\ud800-\\udfff without "
                      "its other half), which is no Unicode text: read as U+FFFD",)


# The most URLs a client keeps made (each a few hundred bytes): the targets of a cassette are far fewer.
_MAX_URLS = 4096


class RequestNotSent(httpx.RequestError):
    """A request that cannot go out as composed (its path longer than any URL httpx sends): a finding of its
    exchange, as a fault of the target would be."""


class AnswerTooLarge(httpx.DecodingError):
    """The target's answer is larger than the cap: a finding of that exchange (an ``httpx.HTTPError``, as every
    fault of the target is), never a run out of memory."""


class _BoundedBody:
    """The decoded body of one answer, read raw from the stream and decoded here in bounded steps (httpx's own
    decoders, one per coding of ``Content-Encoding``, the last applied undone first)."""

    def __init__(self, headers: httpx.Headers, limit: int) -> None:
        self.limit = limit
        codings = [c.strip().lower() for c in headers.get_list("content-encoding", split_commas=True)]
        self.codings = [c for c in codings if c in SUPPORTED_DECODERS and c != "identity"]
        self.stages: list[tuple[ContentDecoder, int]] = [(SUPPORTED_DECODERS[c](), _STEP.get(c, 1 << 16))
                                                         for c in reversed(self.codings)]
        self.chunks: list[bytes] = []
        self.raw = self.decoded = 0

    def feed(self, raw: bytes) -> None:
        self.raw += len(raw)
        if self.raw > self.limit:
            raise self._too_large(f"more than {size_text(self.limit)} sent")
        self._through(0, raw)

    def finish(self) -> bytes:
        for index, (decoder, _) in enumerate(self.stages):
            self._through(index + 1, decoder.flush())
        return b"".join(self.chunks)

    def _through(self, index: int, data: bytes) -> None:
        """``data`` decoded by the stages from ``index`` on, a step at a time, the size checked after each."""
        if not data:
            return
        if index == len(self.stages):
            self.decoded += len(data)
            if self.decoded > self.limit:
                how = f" (decoded from {size_text(self.raw)} of {', '.join(self.codings)})" if self.codings else ""
                raise self._too_large(f"more than {size_text(self.limit)}{how}")
            self.chunks.append(data)
            return
        decoder, step = self.stages[index]
        for start in range(0, len(data), step):
            self._through(index + 1, decoder.decode(data[start:start + step]))

    def _too_large(self, how: str) -> AnswerTooLarge:
        self.chunks.clear()
        return AnswerTooLarge(f"the answer's body is larger than --max-body {size_text(self.limit)}: {how}; "
                              "reading stopped there")


@dataclass(frozen=True)
class TargetAnswer:
    """The target's whole answer: status, headers and the body (content-decoded). ``notes``: what the reading
    changed so every reader can hold it (a lone surrogate escape read as U+FFFD), to be said where it is judged."""

    status_code: int
    headers: httpx.Headers
    content: bytes
    notes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        charset = self.headers.get("content-type", "").partition("charset=")[2].split(";")[0].strip()
        try:
            return self.content.decode(charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class _Deadline(threading.local):
    """The current exchange's deadline (``time.monotonic()``), per replay thread; None outside one."""

    at: float | None = None

    def bound(self, timeout: float | None) -> float | None:
        """``timeout`` for one socket operation, cut to what is left of the exchange's deadline."""
        if self.at is None:
            return timeout
        left = self.at - time.monotonic()
        if left <= 0:
            raise httpcore.ReadTimeout("the whole exchange took longer than its deadline")
        return min(left, math.inf if timeout is None else timeout)


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every read and write waits no longer than the exchange has left."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream, self._deadline = stream, deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.bound(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._deadline.bound(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context: ssl.SSLContext, server_hostname: str | None = None,
                  timeout: float | None = None) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.bound(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> Any:
        return self._stream.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's own socket backend, every operation bounded by the exchange's deadline.

    httpx's timeouts bound each socket operation: a target that sends its status
    line a byte at a time, each in time, would hold a replay for ever. This
    bounds the exchange as a whole, from connecting to the last byte.
    """

    def __init__(self, deadline: _Deadline) -> None:
        self._backend, self._deadline = httpcore.SyncBackend(), deadline

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, local_address: str | None = None,
                    socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_tcp(host, port, self._deadline.bound(timeout), local_address, socket_options)
        return _DeadlineStream(stream, self._deadline)

    def connect_unix_socket(self, path: str, timeout: float | None = None,
                            socket_options: Iterable[Any] | None = None) -> httpcore.NetworkStream:
        stream = self._backend.connect_unix_socket(path, self._deadline.bound(timeout), socket_options)
        return _DeadlineStream(stream, self._deadline)

    def sleep(self, seconds: float) -> None:
        self._backend.sleep(seconds)


class TargetClient:
    """Sends requests to one target over a keep-alive pool; safe to share between replay threads."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, connections: int = 2, verify: bool | str = True,
                 transport: httpx.BaseTransport | None = None, max_body: int = DEFAULT_MAX_BODY) -> None:
        """``transport``: another way to the target than the network — an ``httpx.MockTransport`` in a unit test,
        an ``httpx.WSGITransport`` for an app in the same process; the whole-exchange deadline is the network's.
        ``max_body``: the most bytes an answer's body may have, as sent and as decoded."""
        self.base_url = httpx.URL(base_url)
        self.timeout = timeout
        self.max_body = max_body
        self._prefix = self.base_url.raw_path.rstrip(b"/")  # a target mounted under a path, e.g. a gateway
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._headers = {"User-Agent": f"card-conformance/{__version__}", "Accept": "application/json"}
        self._deadline = _Deadline()
        self._urls: dict[str, httpx.URL] = {}  # a target sent before -> its URL (see _url)
        self._transport: httpx.BaseTransport
        if transport is not None:
            self._transport = transport
            return
        # A plain-http target needs no CA bundle: loading one costs ~30 ms of start-up.
        https = self.base_url.scheme == "https"
        context: bool | ssl.SSLContext = False
        if https:
            context = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        ssl_context = context if isinstance(context, ssl.SSLContext) else httpx.create_ssl_context(verify=context)
        network = httpx.HTTPTransport(verify=ssl_context)
        # httpx's transport (its request and exception mapping) over a pool whose sockets keep the deadline:
        # httpx takes no network backend of its own, httpcore's pool does.
        network._pool = httpcore.ConnectionPool(
            ssl_context=ssl_context, max_connections=connections, max_keepalive_connections=connections,
            network_backend=_DeadlineBackend(self._deadline))
        self._transport = network

    def request(self, method: str, target: str, headers: dict[str, str], content: bytes = b"") -> TargetAnswer:
        """Send one request (``target`` is the path and query) and read the whole answer.

        ``timeout`` is a deadline for the whole exchange, not only for each read:
        a target that drips its answer byte by byte times out too. Raises
        ``httpx.TimeoutException``, ``httpx.ConnectError`` or another
        ``httpx.HTTPError`` when the exchange fails.
        """
        deadline = time.monotonic() + self.timeout
        url = self._url(target)
        request = httpx.Request(method, url, headers={**self._headers, **headers}, content=content,
                                extensions={"timeout": self._timeouts})
        self._deadline.at = deadline
        try:
            try:
                response = self._transport.handle_request(request)
                try:
                    content = self._read(response, request)
                finally:
                    response.close()
            except httpx.TimeoutException as error:
                if time.monotonic() >= deadline:
                    raise type(error)(f"the whole exchange took longer than {self.timeout}s", request=request) from None
                raise
        finally:
            self._deadline.at = None
        content, notes = _whole_pairs(content)
        return TargetAnswer(response.status_code, response.headers, content, notes)

    def _url(self, target: str) -> httpx.URL:
        """The target's URL, made by httpx once per target: httpx checks a URL character by character (as long as
        judging a card takes), and a cassette sends the same target again and again (a card retrieved, a list read
        after each change: 2 requests in 5 of the reference suite's). Bounded: a replay of ever new targets keeps
        no more than ``_MAX_URLS``."""
        url = self._urls.get(target)
        if url is not None:
            return url
        wire = target
        if not wire.isascii() or " " in wire:
            wire = quote(wire, safe="/?&=%:@!$'()*+,;[]~")  # as it goes on the wire, like httpx.Client
        try:
            url = self.base_url.copy_with(raw_path=self._prefix + wire.encode())
        except httpx.InvalidURL as error:
            raise RequestNotSent(f"the request cannot be sent: {error} ({len(wire):,} characters)") from None
        if len(self._urls) >= _MAX_URLS:
            self._urls.clear()
        self._urls[target] = url
        return url

    def _read(self, response: httpx.Response, request: httpx.Request) -> bytes:
        """The body, decoded as the headers say (gzip…), within ``max_body``."""
        announced = response.headers.get("content-length", "")
        if announced.strip().isdigit() and int(announced) > self.max_body:
            raise AnswerTooLarge(f"the answer's body is larger than --max-body {size_text(self.max_body)}: its "
                                 f"Content-Length says {size_text(int(announced))}; it was not read",
                                 request=request)
        body = _BoundedBody(response.headers, self.max_body)
        try:
            if response.is_stream_consumed:  # read already by a transport in this process (MockTransport)
                body.codings, body.stages = [], []
                body.feed(response.content)
                return body.finish()
            for raw in response.iter_raw():
                body.feed(raw)
            return body.finish()
        except AnswerTooLarge as error:
            raise AnswerTooLarge(str(error), request=request) from None

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
