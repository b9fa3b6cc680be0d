"""A small stateful server for traffic beyond the card endpoints, for tests: coupons, payment intents, files.

It mints ids of the styles a card run never meets — a coupon's id with no known
prefix (``_Ro4…``, random), a ``file_`` id of a kind the id table does not know,
embedded in the file's ``url`` and ``links``, a payment intent whose
``client_secret`` embeds its id — and takes a multipart upload. What it answers
follows the shapes of Stripe's API reference for these objects, trimmed to what
the tests need. Bound to 127.0.0.1; ``python tests/generic_fake.py PORT`` runs it
as a process.
"""

from __future__ import annotations

import email.policy
import json
import secrets
import sys
import threading
import time
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit


def _token(size: int = 12) -> str:
    return secrets.token_urlsafe(size)[:size].replace("-", "x")


class Store:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.objects: dict[str, dict[str, Any]] = {}
        self.order: list[str] = []

    def add(self, obj: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.objects[obj["id"]] = obj
            self.order.append(obj["id"])
        return obj


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: without this, 40 ms of delayed ACK each
    store: Store

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _answer(self, status: int, body: dict[str, Any]) -> None:
        content = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    def _retrieve(self, kind: str, parts: list[str]) -> None:
        found = self.store.objects.get(parts[2]) if len(parts) == 3 else None
        if found is not None:
            self._answer(200, found)
            return
        self._answer(404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                                     "message": f"No such {kind}: '{parts[2] if len(parts) > 2 else ''}'",
                                     "param": "id"}})

    def _serve(self, method: str) -> None:
        if not self.headers.get("Authorization", "").startswith("Bearer sk_test_"):
            self._answer(401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}})
            return
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        params = dict(parse_qsl(url.query))
        content_type = self.headers.get("Content-Type", "")
        if content_type.startswith("application/x-www-form-urlencoded"):
            params.update(parse_qsl(raw.decode()))
        store = self.store
        if parts[:2] == ["v1", "coupons"]:
            if method == "POST" and len(parts) == 2:
                coupon = {"id": "_" + _token(11), "object": "coupon", "created": int(time.time()),
                          "duration": params.get("duration"), "percent_off": float(params.get("percent_off", 0)),
                          "valid": True}
                self._answer(200, store.add(coupon))
                return
            if method == "GET" and len(parts) == 2:
                coupons = [store.objects[i] for i in reversed(store.order)
                           if i in store.objects and store.objects[i]["object"] == "coupon"]
                limit = int(params.get("limit", 10))
                self._answer(200, {"object": "list", "data": coupons[:limit], "has_more": len(coupons) > limit,
                                   "url": "/v1/coupons"})
                return
            coupon = store.objects.get(parts[2]) if method == "DELETE" and len(parts) == 3 else None
            if coupon is not None:
                del store.objects[coupon["id"]]
                self._answer(200, {"id": coupon["id"], "object": "coupon", "deleted": True})
            else:
                self._retrieve("coupon", parts)
            return
        if parts[:2] == ["v1", "payment_intents"]:
            if method == "POST" and len(parts) == 2:
                id_ = "pi_" + _token(24)
                intent = {"id": id_, "object": "payment_intent", "amount": int(params.get("amount", 0)),
                          "currency": params.get("currency"), "client_secret": f"{id_}_secret_{_token(24)}",
                          "status": "requires_payment_method", "created": int(time.time())}
                self._answer(200, store.add(intent))
                return
            self._retrieve("payment_intent", parts)
            return
        if parts[:2] == ["v1", "files"]:
            if method == "POST" and len(parts) == 2 and content_type.startswith("multipart/form-data"):
                message = BytesParser(policy=email.policy.HTTP).parsebytes(
                    f"Content-Type: {content_type}\r\n\r\n".encode() + raw)
                fields = {str(p.get_param("name", header="content-disposition")): p for p in message.iter_parts()}
                upload = fields["file"]
                data = upload.get_payload(decode=True) or b""
                id_ = "file_" + _token(24)
                stored = {"id": id_, "object": "file", "purpose": fields["purpose"].get_content().strip(),
                          "filename": upload.get_filename(), "size": len(data), "type": "png",
                          "url": f"https://files.example/v1/files/{id_}/contents", "created": int(time.time()),
                          "links": {"object": "list", "data": [], "has_more": False,
                                    "url": f"/v1/file_links?file={id_}"}}
                self._answer(200, store.add(stored))
                return
            self._retrieve("file", parts)
            return
        self._answer(404, {"error": {"type": "invalid_request_error", "message": f"Unrecognized request URL ({method}: "
                                                                                 f"{url.path})"}})

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")


class GenericFake:
    """The server in a thread of the test process: ``with GenericFake() as url:``."""

    def __enter__(self) -> str:
        handler = type("BoundHandler", (Handler,), {"store": Store()})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), type("BoundHandler", (Handler,), {"store": Store()}))
    server.daemon_threads = True
    server.serve_forever()
