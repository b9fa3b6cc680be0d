"""A target that misbehaves in one chosen way, on 127.0.0.1, for the fault matrix of ``conformance run``."""

from __future__ import annotations

import functools
import gzip
import socket
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAULTS = ("http-500", "html-502", "text-plain", "invalid-json", "empty-body", "truncated", "reset", "slow", "redirect",
          "deep-json", "drip", "drip-headers", "echo-auth")
# Answers larger than a run should hold: sent endlessly, announced, or small and compressed ("bombs").
OVERSIZE = ("endless", "huge-length", "gzip-bomb", "gzip-gzip-bomb", "zstd-bomb", "br-bomb", "deflate-bomb",
            "chunked-bomb")
BOMB = 200_000_000  # what a bomb decodes to: far beyond the default cap, and beyond what a test process should hold


@functools.cache
def bomb(coding: str) -> bytes:
    """``BOMB`` zero bytes compressed with ``coding`` (``gzip, gzip``: twice), made once per test session."""
    zeros = bytes(1 << 20)
    if coding in ("gzip", "deflate"):
        packer = zlib.compressobj(9, zlib.DEFLATED, 31 if coding == "gzip" else 15)
        return b"".join([*(packer.compress(zeros) for _ in range(BOMB >> 20)), packer.flush()])
    if coding == "gzip, gzip":
        return gzip.compress(bomb("gzip"), 9)
    if coding == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=19).compress(bytes(BOMB))
    import brotli

    return bytes(brotli.compress(bytes(BOMB), quality=5))


class FaultHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fault = "http-500"

    def log_message(self, *args: object) -> None:
        pass

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        fault = self.fault
        if fault in OVERSIZE:
            self.oversize(fault)
            return
        if fault == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.connection.close()
            self.close_connection = True
            return
        if fault == "slow":
            time.sleep(3)
        if fault == "echo-auth":  # an error page that quotes the request's credentials, in Latin-1
            page = (f"<html><p>Caf\xe9: 401 for Authorization: {self.headers.get('Authorization')}</p>"
                    f"<p>again: {self.headers.get('Authorization')}</p></html>").encode("latin-1")
            self.send_response(401)
            self.send_header("Content-Type", "text/html; charset=latin-1")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            self.wfile.write(page)
            return
        if fault == "drip-headers":  # the status line and headers a byte at a time: each read in time, never done
            head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" + b"X-Padding: " + b"x" * 200 + b"\r\n"
            for byte in head:
                try:
                    self.wfile.write(bytes([byte]))
                    self.wfile.flush()
                except OSError:
                    break
                time.sleep(0.05)
            self.close_connection = True
            return
        if fault == "drip":  # every byte in time, the whole answer far too late
            body = b'{"id": "card_1", "object": "card"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            for byte in body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.1)
            return
        status, content_type, body = {
            "http-500": (500, "application/json", b'{"error": {"type": "api_error", "message": "boom"}}'),
            "html-502": (502, "text/html", b"<html><body><h1>502 Bad Gateway</h1></body></html>"),
            "text-plain": (200, "text/plain", b"ok"),
            "invalid-json": (200, "application/json", b'{"id": "card_1", '),
            "empty-body": (200, "application/json", b""),
            "truncated": (200, "application/json", b'{"id": "card_1", "object": "card"}'),
            "slow": (200, "application/json", b"{}"),
            "redirect": (302, "text/html", b""),
            "deep-json": (200, "application/json", b"[" * 100_000 + b"]" * 100_000),
        }[fault]
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if fault == "redirect":
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
        # a truncated body: announce more than is sent, then close
        self.send_header("Content-Length", str(len(body) + (100 if fault == "truncated" else 0)))
        self.end_headers()
        self.wfile.write(body)
        if fault == "truncated":
            self.close_connection = True

    def oversize(self, fault: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.close_connection = True
        if fault in ("endless", "chunked-bomb"):  # no length: a body until the client gives up
            self.send_header("Transfer-Encoding", "chunked")
            if fault == "chunked-bomb":
                self.send_header("Content-Encoding", "gzip")
            self.end_headers()
            payload = bomb("gzip") if fault == "chunked-bomb" else b'{"data": [' + b"0, " * 30_000
            chunk, at = 1 << 16, 0
            try:
                while fault == "endless" or at < len(payload):
                    piece = payload[at:at + chunk] if fault == "chunked-bomb" else payload[:chunk]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
                    at += chunk
                self.wfile.write(b"0\r\n\r\n")
            except OSError:
                pass
            return
        if fault == "huge-length":  # announces 10 GB, sends a little, then waits
            self.send_header("Content-Length", str(10**10))
            self.end_headers()
            self.wfile.write(b'{"id": "card_1"')
            self.wfile.flush()
            time.sleep(2)
            return
        coding = {"gzip-bomb": "gzip", "gzip-gzip-bomb": "gzip, gzip", "zstd-bomb": "zstd", "br-bomb": "br",
                  "deflate-bomb": "deflate"}[fault]
        body = bomb(coding)
        self.send_header("Content-Encoding", coding)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except OSError:
            pass

    do_GET = do_POST = do_DELETE = answer


class FaultTarget:
    def __init__(self, fault: str) -> None:
        self.fault = fault

    def __enter__(self) -> str:
        handler = type("Handler", (FaultHandler,), {"fault": self.fault})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client that gave up is not news
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


class MintingTarget:
    """A target that answers every request with an object whose ``id`` is ``id_json``, as JSON text (a lone
    surrogate escape, a number, 5 MB of letters…): what a replay binds and sends back in its next URL."""

    def __init__(self, id_json: bytes) -> None:
        self.id_json = id_json
        self.paths: list[str] = []

    def __enter__(self) -> str:
        body = b'{"id": ' + self.id_json + b', "object": "customer", "email": "a@example.com"}'
        paths = self.paths

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                paths.append(self.path[:300])
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_DELETE = answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
