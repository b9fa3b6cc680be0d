"""Secrets an operator types or a client sends never reach the terminal through `run`, `record` or `serve`: a live
key dressed in blanks is still refused, an upstream URL's password is never echoed, the hex dump mitmproxy logs
of a ClientHello it cannot parse never spells a key, a key among the wrapped command's arguments is redacted.
Real CLI processes, mitmdump included, on 127.0.0.1."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance.cassette import CassetteWriter, Interaction, Request, Response
from conformance.errors import normalized_key, refuse_live_key

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
LIVE = "sk_live_" + "Z9y8X7w6V5u4T3s2R1q0P9o8"  # not a real key: the shape of one, split so it is no literal


def conformance(*args: object, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


DRESSED = {"leading space": " " + LIVE, "leading tab": "\t" + LIVE, "trailing newline": LIVE + "\n",
           "no-break space": "\u00a0" + LIVE, "byte-order mark": "\ufeff" + LIVE,
           "zero-width space": "\u200b" + LIVE, "upper case": LIVE.upper(), "as a header value": "Bearer " + LIVE,
           "restricted key": " rk_live_" + LIVE[8:]}


@pytest.mark.parametrize("key", DRESSED.values(), ids=DRESSED.keys())
def test_a_live_key_dressed_in_blanks_is_still_refused(key):
    refused = conformance("run", "--suite", "--target", "http://127.0.0.1:9", "--api-key", key)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "refusing a live API key" in refused.stderr
    assert LIVE[8:] not in refused.stdout + refused.stderr and "Traceback" not in refused.stderr


def test_the_key_checked_is_the_key_sent():
    assert normalized_key("\ufeff sk_test_abc\t\n") == "sk_test_abc"
    assert refuse_live_key(" sk_test_abc ", "a run") == "sk_test_abc"
    assert refuse_live_key(" " + LIVE, "a run", allow_live=True) == LIVE


PASSWORD = "s3cret-Pa55word"


@pytest.fixture(scope="module")
def reachable():
    """One upstream for the module: the refusals read no state, and each fake's stop costs its poll interval."""
    with FakeStripe() as url:
        yield url


@pytest.mark.parametrize("upstream", ["{up}", "http://127.0.0.1:9", "http://127.0.0.1:99999", "ftp://127.0.0.1/"],
                         ids=["reachable", "unreachable", "bad-port", "not-http"])
@pytest.mark.parametrize("userinfo", [f"user:{PASSWORD}", PASSWORD, LIVE], ids=["password", "user", "key"])
def test_an_upstream_url_with_credentials_never_prints_them(tmp_path, reachable, upstream, userinfo):
    url = upstream.format(up=reachable).replace("://", f"://{userinfo}@", 1)
    recorded = conformance("record", "--upstream", url, "--cassette", tmp_path / "c.yaml")
    output = recorded.stdout + recorded.stderr
    assert recorded.returncode == 2, output
    assert output.startswith("Error: ") and output.count("\n") == 1, output
    assert PASSWORD not in output and LIVE[8:] not in output and "[REDACTED:credentials]" in output
    assert not (tmp_path / "c.yaml").exists()


def _cassette(path: Path) -> Path:
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"), Response(200)))
    return path


def _unparsable_client_hello(port: int, secret: bytes) -> None:
    """A TLS handshake record mitmproxy cannot parse, after a CONNECT to the cassettes' host: mitmproxy logs its
    bytes as hex ("Cannot parse ClientHello: 1603…")."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(b"CONNECT api.stripe.com:443 HTTP/1.1\r\nHost: api.stripe.com:443\r\n\r\n")
        assert connection.recv(4096).startswith(b"HTTP/1.1 200")
        payload = secret + b"\r\n"
        connection.sendall(b"\x16\x03\x01\x00" + bytes([len(payload) + 4]) + b"\x01\x00\x00" + bytes([len(payload)])
                           + payload)
        connection.settimeout(5)
        try:
            while connection.recv(4096):
                pass
        except OSError:
            pass


SECRETS = {"bearer key": b"Authorization: Bearer " + LIVE.encode(), "key in UTF-16": LIVE.encode("utf-16-le"),
           "card number": b"card[number]=4000056655665556&card[cvc]=123"}


@pytest.mark.parametrize("command", ["serve", "record"])
def test_a_hex_dump_of_a_secret_in_mitmproxys_log_is_withheld(cli, tmp_path, command):
    """Each kind of secret in a ClientHello of its own, one process for all of them."""
    confdir = tmp_path / "mitm"
    if command == "serve":
        process = cli("serve", _cassette(tmp_path / "one.yaml"), "--mode", "forward", "--confdir", confdir)
    else:
        # lazy: no network here, and the ClientHello is read before any connection upstream would be made
        process = cli("record", "--mode", "forward", "--confdir", confdir, "--cassette", tmp_path / "rec.yaml",
                      "--set", "connection_strategy=lazy")
    port = int(process.wait_for(r"use http://127\.0\.0\.1:(\d+) as the application's HTTPS proxy").group(1))
    for secret in SECRETS.values():
        _unparsable_client_hello(port, secret)
        process.wait_for(r"Cannot parse ClientHello")
    process.interrupt()
    assert process.text.count("Cannot parse ClientHello: [REDACTED:hex]") == len(SECRETS), process.text
    for kind, secret in SECRETS.items():
        dump = secret.hex()
        assert dump[len(dump) // 3:] not in process.text and secret.decode("latin-1") not in process.text, kind


def test_a_key_among_the_wrapped_commands_arguments_is_not_printed(tmp_path):
    served = conformance("serve", _cassette(tmp_path / "one.yaml"), "--allow-misses", "--", sys.executable, "-c",
                         "import sys", LIVE)
    assert served.returncode == 0, served.stdout + served.stderr
    assert re.search(r"Running .* \[REDACTED:sk_live\] with ", served.stdout), served.stdout
    assert LIVE[8:] not in served.stdout + served.stderr


def test_a_wrapped_record_with_the_group_interrupted_prints_no_secret_either(tmp_path):
    """The summary read on the way out is relayed like every other line."""
    with FakeStripe() as up:
        process = subprocess.Popen([sys.executable, "-m", "conformance", "record", "--upstream", up, "--cassette",
                                    str(tmp_path / "c.yaml"), "--", sys.executable, "-c", "import time; "
                                    "time.sleep(60)", LIVE], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   text=True, start_new_session=True)
        assert process.stdout is not None
        assert process.stdout.readline().startswith("Recording ")
        assert process.stdout.readline().startswith("Running ")
        time.sleep(0.5)
        os.killpg(process.pid, signal.SIGINT)
        rest = process.communicate(timeout=10)[0]
    assert process.returncode == 130 and LIVE[8:] not in rest
