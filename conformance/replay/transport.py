"""The connection to the target: httpx's transport, keep-alive, with nothing added.

A replay sends exactly what the cassette holds, so ``httpx.Client``'s extras are
not wanted here: a cookie jar would send back cookies the target set (a header
that is not in the cassette), and redirects are findings, not something to
follow. Going straight to the transport also skips the client's per-request URL
merging and cookie bookkeeping, which cost more CPU than the rest of a replay.
"""

from __future__ import annotations

import json
import ssl
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx

from conformance import __version__

__all__ = ["TargetClient", "TargetAnswer"]


@dataclass(frozen=True)
class TargetAnswer:
    """The target's whole answer: status, headers and the body (content-decoded)."""

    status_code: int
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        charset = self.headers.get("content-type", "").partition("charset=")[2].split(";")[0].strip()
        try:
            return self.content.decode(charset or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


class TargetClient:
    """Sends requests to one target over a keep-alive pool; safe to share between replay threads."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, connections: int = 2, verify: bool | str = True) -> None:
        self.base_url = httpx.URL(base_url)
        self.timeout = timeout
        self._prefix = self.base_url.raw_path.rstrip(b"/")  # a target mounted under a path, e.g. a gateway
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self._headers = {"User-Agent": f"card-conformance/{__version__}", "Accept": "application/json"}
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        # A plain-http target needs no CA bundle: loading one costs ~30 ms of start-up.
        https = self.base_url.scheme == "https"
        context: bool | ssl.SSLContext = False
        if https:
            context = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
        self._transport = httpx.HTTPTransport(limits=limits, verify=context)

    def request(self, method: str, target: str, headers: dict[str, str], content: bytes = b"") -> TargetAnswer:
        """Send one request (``target`` is the path and query) and read the whole answer.

        ``timeout`` is a deadline for the whole exchange, not only for each read:
        a target that drips its answer byte by byte times out too. Raises
        ``httpx.TimeoutException``, ``httpx.ConnectError`` or another
        ``httpx.HTTPError`` when the exchange fails.
        """
        deadline = time.monotonic() + self.timeout
        if not target.isascii() or " " in target:
            target = quote(target, safe="/?&=%:@!$'()*+,;[]~")  # as it goes on the wire, like httpx.Client
        url = self.base_url.copy_with(raw_path=self._prefix + target.encode())
        request = httpx.Request(method, url, headers={**self._headers, **headers}, content=content,
                                extensions={"timeout": self._timeouts})
        response = self._transport.handle_request(request)
        try:
            chunks = []
            for chunk in response.iter_bytes():  # decoded as the headers say (gzip…)
                chunks.append(chunk)
                if time.monotonic() > deadline:
                    raise httpx.ReadTimeout(f"the whole answer took longer than {self.timeout}s", request=request)
        finally:
            response.close()
        return TargetAnswer(response.status_code, response.headers, b"".join(chunks))

    def close(self) -> None:
        self._transport.close()

    def __enter__(self) -> TargetClient:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()
