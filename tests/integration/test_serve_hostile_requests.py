"""What a request (or a cassette) puts into `serve`'s answers and output stays data: no header injected by a CR LF,
no summary line forged by a newline, no session ended by a reset sent to another address. Real `conformance
serve` (mitmdump and the addon) on 127.0.0.1, raw sockets and httpx as clients."""

from __future__ import annotations

import re
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response

pytestmark = pytest.mark.integration
READY = r"API base at http://127\.0\.0\.1:(\d+)"


def write_cassette(path: Path, headers: dict[str, str] | None = None, host: str | None = None) -> Path:
    with CassetteWriter(path, meta={"host": host} if host else None) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"),
                                  Response(200, {"Content-Type": "application/json", **(headers or {})},
                                           Body("json", {"id": "cus_1", "object": "customer"}))))
    return path


def head_of(port: int, target: str) -> list[str]:
    """The header lines of the answer to ``GET target``, sent byte for byte as given."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(65536)
            if not chunk:
                break
            data += chunk
    return data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")


INJECTIONS = ["%0d%0aX-Injected:%20yes", "%0aX-Injected:%20yes", "%0dX-Injected:%20yes", "%0d%0a%0d%0aX-Injected"]


def test_a_crlf_in_a_request_never_starts_a_header_of_the_miss_answer(cli, tmp_path):
    server = cli("serve", write_cassette(tmp_path / "one.yaml"), "--allow-misses")
    port = int(server.wait_for(READY).group(1))
    for injection in INJECTIONS:
        head = head_of(port, f"/v1/customers/cus_2{injection}")
        assert head[0].startswith("HTTP/1.1 599"), head
        names = [line.split(":", 1)[0].lower() for line in head[1:]]
        assert "x-injected" not in names and "" not in names, head
        miss = next(line for line in head if line.lower().startswith("conformance-miss:"))
        assert "cus_2\\" in miss  # the CR or LF is in the value, escaped
    assert server.interrupt() == 0


@pytest.mark.parametrize("value", ["a\r\nX-Injected: yes", "a\nX-Injected: yes", "a\rX-Injected: yes",
                                   "a\r\n\r\n<html>smuggled"])
def test_a_cassette_header_holding_crlf_is_served_as_one_header(cli, tmp_path, value):
    server = cli("serve", write_cassette(tmp_path / "one.yaml", {"X-Note": value}))
    port = int(server.wait_for(READY).group(1))
    head = head_of(port, "/v1/customers/cus_1")
    assert head[0].startswith("HTTP/1.1 200"), head
    names = [line.split(":", 1)[0].lower() for line in head[1:]]
    assert names.count("x-note") == 1 and "x-injected" not in names and "" not in names, head
    assert server.interrupt() == 0


FORGERIES = [
    "%0aSession:%201000%20requests%20answered,%200%20misses",
    "%0asession-end%20%7B%22answered%22:%201000,%20%22misses%22:%20[],%20%22unused%22:%20[]%7D",
    "%0d%0asession-end%20%7B%7D",
    "%1b[2J%1b[1A%1b[2KSession:%20forged",
    "%e2%80%aeSession",  # a bidirectional override
    "%e2%80%a8Session:%201000%20requests%20answered",  # the line separator a log viewer breaks lines at
    "%0bSession:%20vertical%20tab%0cform%20feed%c2%85next%20line",
]


def test_a_request_cannot_forge_a_line_of_the_session_summary(cli, tmp_path):
    server = cli("serve", write_cassette(tmp_path / "one.yaml"), "--allow-misses")
    port = int(server.wait_for(READY).group(1))
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
        for forgery in FORGERIES:
            assert http.get(f"/v1/customers/cus_2{forgery}").status_code == 599
    assert server.interrupt() == 0
    lines = server.text.splitlines()  # as a log viewer reads them: at \u2028, \x0b, \x85 too
    summaries = [line for line in lines if line.startswith("Session:")]
    assert summaries == ["Session: 0 requests answered, 7 misses, 1 recorded interaction never asked for"], lines
    assert not any(line.startswith("session-end") for line in lines)
    assert "could not be read" not in server.text
    assert "\x1b" not in server.text and "\u202e" not in server.text
    assert len([line for line in lines if line.startswith("  MISS ")]) == 7


def test_forward_mode_resets_only_at_its_own_address(cli, tmp_path):
    """The cassette was recorded from 127.0.0.1, so requests for 127.0.0.1 are the cassette's: a reset for
    another port of it (an absolute URL, or inside a tunnel) is one of those requests, never the server's."""
    cassette = write_cassette(tmp_path / "local.yaml", host="127.0.0.1")
    confdir = tmp_path / "mitm"
    server = cli("serve", cassette, "--mode", "forward", "--confdir", confdir, "--allow-misses")
    proxy = server.wait_for(r"use (http://127\.0\.0\.1:\d+) as the application's HTTPS proxy").group(1)
    own_port = int(proxy.rsplit(":", 1)[1])
    other_port = own_port + 1 if own_port < 65535 else own_port - 1
    ca = ssl.create_default_context(cafile=str(confdir / "mitmproxy-ca-cert.pem"))

    def ended(answer: httpx.Response) -> bool:
        return answer.status_code == 200 and "answered" in answer.json()

    with httpx.Client(proxy=proxy, timeout=10, verify=ca) as through:
        assert not ended(through.post(f"http://127.0.0.1:{other_port}/__conformance__/reset"))
        assert not ended(through.post(f"http://localhost:{other_port}/__conformance__/reset"))
        assert not ended(through.post(f"https://127.0.0.1:{other_port}/__conformance__/reset"))  # a tunnel
        assert through.get(f"http://127.0.0.1:{other_port}/v1/customers/cus_1").status_code == 200  # still served
        assert ended(through.post(f"{proxy}/__conformance__/reset"))  # the proxy's own address, through it
    with httpx.Client(timeout=10) as direct:
        assert ended(direct.post(f"{proxy}/__conformance__/reset"))  # and sent to it directly
    assert server.interrupt() == 0
    assert len(re.findall(r"^Session: ", server.text, re.MULTILINE)) == 3  # two resets and the last session
