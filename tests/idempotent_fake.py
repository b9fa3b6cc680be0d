"""tests/stripe_fake.py with Stripe's retry contract (issue 39): a repeated ``Idempotency-Key`` answered with the first
answer (``Idempotent-Replayed: true``, ``Original-Request``), the key with other parameters refused with an
``idempotency_error``, a request that failed validation not saved; and the deviations a suite must catch.

``python -m tests.idempotent_fake --port N [--deviation NAME]`` runs it as a process.
"""

from __future__ import annotations

import io
import json
import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from typing import Any

from tests.stripe_fake import Handler, Store, new_id

# executes-repeats: a repeated key with the same parameters executed again; accepts-reused-key: a key reused with other parameters
# executed; no-replayed-header: replays lack Idempotent-Replayed; constant-request-id: every answer req_123
RETRY_DEVIATIONS = ("executes-repeats", "accepts-reused-key", "no-replayed-header", "constant-request-id")


@dataclass
class Saved:
    request: tuple[str, str, bytes]  # method, path, body
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    request_id: str


@dataclass
class Keys:
    deviation: str | None = None
    saved: dict[str, Saved] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _saved(status: int) -> bool:
    """Stripe saves an answer once the endpoint began executing; not a validation error, a conflict, a rate limit."""
    return status < 400 or status == 402 or status >= 500


class IdempotentHandler(Handler):
    keys: Keys

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        key = self.headers.get("Idempotency-Key", "") if self.command == "POST" else ""
        request = (self.command, self.path, body)
        deviation = self.keys.deviation
        with self.keys.lock:
            saved = self.keys.saved.get(key) if key else None
            if saved is not None and saved.request == request and deviation != "executes-repeats":
                extra = [("Original-Request", saved.request_id)]
                if deviation != "no-replayed-header":
                    extra.append(("Idempotent-Replayed", "true"))
                return self._answer(saved.status, saved.headers + extra, saved.body)
            if saved is not None and saved.request != request and deviation != "accepts-reused-key":
                error = {"error": {"type": "idempotency_error", "message": "Keys for idempotent requests can only "
                                   "be used with the same parameters they were first used with. Try using a key "
                                   "other than '" + key + "' if you meant to execute a different request."}}
                return self._answer(400, [("Content-Type", "application/json")], json.dumps(error, indent=2).encode())
            status, headers, answer = self._executed(body)
            request_id = "req_123" if deviation == "constant-request-id" else new_id("req_")
            if key and _saved(status) and key not in self.keys.saved:
                self.keys.saved[key] = Saved(request, status, headers, answer, request_id)
        self._answer(status, headers, answer, request_id)

    def _executed(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        """The shared fake's answer, caught instead of sent."""
        caught: dict[str, Any] = {"headers": []}
        real_in, real = self.rfile, self.wfile
        self.rfile, self.wfile = io.BytesIO(body), io.BytesIO()
        self.send_response = lambda code, message=None: caught.__setitem__("status", code)  # type: ignore[method-assign]
        self.send_header = lambda name, value: caught["headers"].append((name, value))  # type: ignore[method-assign]
        self.end_headers = lambda: None  # type: ignore[method-assign]
        try:
            super()._serve()
            content = self.wfile.getvalue()
        finally:
            self.rfile, self.wfile = real_in, real
            del self.send_response, self.send_header, self.end_headers
        headers = [(n, v) for n, v in caught["headers"] if n.lower() not in ("content-length", "request-id")]
        return caught.get("status", 500), headers, content

    def _answer(self, status: int, headers: list[tuple[str, str]], body: bytes, request_id: str = "") -> None:
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        rid = "req_123" if self.keys.deviation == "constant-request-id" else request_id or new_id("req_")
        self.send_header("Request-Id", rid)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = _serve


def server(port: int, deviation: str | None = None) -> ThreadingHTTPServer:
    bound = type("BoundIdempotentHandler", (IdempotentHandler,), {"store": Store(), "keys": Keys(deviation)})
    made = ThreadingHTTPServer(("127.0.0.1", port), bound)
    made.daemon_threads = True
    return made


class IdempotentFake:
    """The fake on a free loopback port in a thread; the base URL on enter."""

    def __init__(self, deviation: str | None = None) -> None:
        self.deviation = deviation

    def __enter__(self) -> str:
        self.server = server(0, self.deviation)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def main() -> None:
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--deviation", choices=RETRY_DEVIATIONS)
    args = parser.parse_args()
    server(args.port, args.deviation).serve_forever()


if __name__ == "__main__":
    main()
