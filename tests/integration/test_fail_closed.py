"""`serve` fails closed: whatever a client sends, nothing reaches the network, and the answer is the documented miss.

A sentinel listener (the ``sentinel`` fixture) stands where the requests are addressed.
"""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx
import pytest

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response

pytestmark = pytest.mark.integration
@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    path = tmp_path / "one.yaml"
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"),
                                  Response(200, {"Content-Type": "application/json"},
                                           Body("json", {"id": "cus_1", "object": "customer"}))))
    return path


def attacks(base: str) -> list[tuple[str, dict[str, object]]]:
    deep_json = "[" * 100_000 + "]" * 100_000
    return [
        ("unknown Content-Encoding", dict(method="POST", url=f"{base}/v1/customers", content=b"a=1",
                                           headers={"Content-Type": "application/x-www-form-urlencoded",
                                                    "Content-Encoding": "rot13"})),
        ("JSON nested 100,000 deep", dict(method="POST", url=f"{base}/v1/customers", content=deep_json.encode(),
                                          headers={"Content-Type": "application/json"})),
        ("form key nested 5,000 deep", dict(method="POST", url=f"{base}/v1/customers",
                                            content=("a" + "[b]" * 5000 + "=1").encode(),
                                            headers={"Content-Type": "application/x-www-form-urlencoded"})),
        ("query key nested 5,000 deep", dict(method="GET", url=f"{base}/v1/customers?a" + "[b]" * 5000 + "=1")),
        ("unknown path", dict(method="GET", url=f"{base}/v1/never/recorded")),
    ]


def assert_miss(response: httpx.Response) -> None:
    assert response.status_code == 599, response.text[:300]
    assert response.headers["content-type"] == "application/json"
    assert json.loads(response.content)["error"]["type"] == "cassette_miss"
    assert b"SENTINEL" not in response.content and response.content != b"upstream"


def test_forward_mode_answers_every_attack_with_a_miss_and_never_connects(cli, cassette, sentinel, tmp_path):
    server = cli("serve", cassette, "--mode", "forward", "--confdir", tmp_path / "mitm")
    proxy = server.wait_for(r"use (http://127\.0\.0\.1:\d+) as the application's HTTPS proxy").group(1)
    with httpx.Client(proxy=proxy, timeout=20) as client:
        for name, request in attacks(f"http://127.0.0.1:{sentinel.port}"):
            response = client.request(**request)  # type: ignore[arg-type]
            assert_miss(response)
            assert sentinel.connections == 0, name
    server.interrupt()


def test_reverse_mode_answers_every_attack_with_the_documented_miss(cli, cassette, sentinel):
    server = cli("serve", cassette)
    address = server.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
    with httpx.Client(timeout=20) as client:
        for name, request in attacks(address):
            assert_miss(client.request(**request))  # type: ignore[arg-type]
            assert sentinel.connections == 0, name
    server.interrupt()


def test_raw_bytes_after_a_connect_are_never_relayed(cli, cassette, sentinel, tmp_path):
    server = cli("serve", cassette, "--mode", "forward", "--confdir", tmp_path / "mitm")
    proxy = server.wait_for(r"use http://127\.0\.0\.1:(\d+) as the application's HTTPS proxy").group(1)
    received = b""
    with socket.create_connection(("127.0.0.1", int(proxy)), timeout=5) as connection:
        connection.sendall(f"CONNECT 127.0.0.1:{sentinel.port} HTTP/1.1\r\n\r\n".encode())
        time.sleep(0.3)
        connection.sendall(b"SSH-2.0-x\r\n")
        deadline = time.monotonic() + 3
        connection.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                chunk = connection.recv(4096)
            except TimeoutError:
                continue
            except OSError:
                break
            if not chunk:
                break
            received += chunk
    assert b"SENTINEL" not in received
    assert received.startswith(b"HTTP/1.1 599")  # not a host of the cassettes: the tunnel is refused
    assert sentinel.connections == 0
    server.interrupt()
