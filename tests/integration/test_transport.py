"""The connection to the target: what reaches a server on 127.0.0.1 is what the replay meant to send."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from conformance.replay.transport import TargetClient


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: list[tuple[str, str, dict[str, str], bytes]]

    def log_message(self, *args: object) -> None:
        pass

    def answer(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.seen.append((self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Set-Cookie", "session=abc; Path=/")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    do_GET = do_POST = do_DELETE = answer


@pytest.fixture
def echo():
    handler = type("Handler", (Echo,), {"seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler.seen
    server.shutdown()
    server.server_close()


def test_requests_go_out_as_given_under_the_targets_path(echo):
    url, seen = echo
    with TargetClient(url + "/stripe/", timeout=5) as client:
        first = client.request("POST", "/v1/customers/cus_1/sources/card_1", {"Content-Type": "application/x-www-form-urlencoded"},
                               b"name=Jenny+Rosen")
        client.request("GET", "/v1/customers/cus_1/cards?limit=2", {})
    assert first.status_code == 200 and first.json() == {}
    (method, path, headers, body), (_, second_path, second_headers, _) = seen
    assert (method, path, body) == ("POST", "/stripe/v1/customers/cus_1/sources/card_1", b"name=Jenny+Rosen")
    assert second_path == "/stripe/v1/customers/cus_1/cards?limit=2"
    assert "cookie" not in second_headers  # the Set-Cookie of the first answer is not sent back
    assert headers["user-agent"].startswith("card-conformance/")


def test_a_path_with_non_ascii_text_is_percent_encoded(echo):
    url, seen = echo
    with TargetClient(url, timeout=5) as client:
        client.request("GET", "/v1/customers/cus_1/cards/é?q=ü b", {})
    assert seen[0][1] == "/v1/customers/cus_1/cards/%C3%A9?q=%C3%BC%20b"


def test_faults_are_httpx_errors():
    with TargetClient("http://127.0.0.1:9", timeout=1) as client, pytest.raises(httpx.ConnectError):
        client.request("GET", "/v1/customers", {})
