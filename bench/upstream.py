"""A fast Stripe-like upstream for benchmarks: answers every request with a fixed card.

Runs as its own process so it does not share a GIL with the client being measured.

    python bench/upstream.py PORT [DELAY_MS]
"""

from __future__ import annotations

import json
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CARD = json.dumps({
    "id": "card_1NBLeN2eZvKYlo2CIg1o7Pzs", "object": "card", "address_city": None, "address_country": None,
    "address_line1": None, "address_line1_check": None, "address_line2": None, "address_state": None,
    "address_zip": None, "address_zip_check": None, "brand": "Visa", "country": "US",
    "customer": "cus_NhD8HD2bY8dP3V", "cvc_check": "pass", "dynamic_last4": None, "exp_month": 8,
    "exp_year": 2024, "fingerprint": "Xt5EWLLDS7FJjR1c", "funding": "credit", "last4": "4242",
    "metadata": {"order_id": "6735"}, "name": "Jenny Rosen", "tokenization_method": None,
}, indent=2).encode()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    delay = 0.0

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args: object) -> None:
        pass

    def answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.delay:
            time.sleep(self.delay)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(CARD)))
        self.send_header("Request-Id", "req_bench")
        self.end_headers()
        self.wfile.write(CARD)

    do_GET = do_POST = do_DELETE = answer


if __name__ == "__main__":
    Handler.delay = float(sys.argv[2]) / 1000 if len(sys.argv) > 2 else 0.0
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler)
    server.daemon_threads = True
    server.serve_forever()
