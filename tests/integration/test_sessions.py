"""Capture sessions around a command: `record -- CMD`, `serve -- CMD`, with the official stripe SDK configured only
from the environment the wrapper exports."""

from __future__ import annotations

import os
import re
import signal
import ssl
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import pytest

from conformance.cassette import load

from ..conftest import Sentinel
from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration

APP = textwrap.dedent('''
    """An application that knows nothing of card-conformance but the variables it exports."""
    import os
    import sys

    import stripe

    stripe.api_key = "sk_test_" + "A" * 24
    if "STRIPE_API_BASE" in os.environ:  # reverse mode
        stripe.api_base = os.environ["STRIPE_API_BASE"]
    else:  # forward mode: the SDK pins its own CA bundle; the proxy's CA must be named
        stripe.api_base = os.environ["APP_API_BASE"]
        stripe.ca_bundle_path = os.environ["SSL_CERT_FILE"]
    stripe.max_network_retries = 0
    name = sys.argv[1] if len(sys.argv) > 1 else "Jenny Rosen"
    customer = stripe.Customer.create(email="jenny.rosen@example.com")
    card = stripe.Customer.create_source(customer.id, source="tok_visa")
    try:
        stripe.Customer.modify_source(customer.id, card.id, name=name)
    except stripe.StripeError as error:
        print(f"stripe error: {error}")
        sys.exit(5)
    sys.stdout.write(f"updated {card.last4}\\n")  # one write: the proxy's lines share this stdout
    sys.exit(int(os.environ.get("APP_EXIT", "0")))
''')


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(APP)
    return path


def conformance(*args: object, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **(env or {})})


def without_addresses(text: str) -> str:
    return re.sub(r"127\.0\.0\.1:\d+", "ADDRESS", text)


def test_record_around_an_app_then_serve_it_offline_as_sessions(app, tmp_path):
    cassette = tmp_path / "app.yaml"
    with FakeStripe() as upstream:
        recorded = conformance("record", "--upstream", upstream, "--cassette", cassette, "--", sys.executable, app,
                               env={"APP_EXIT": "3"})
    assert recorded.returncode == 3, recorded.stdout + recorded.stderr  # the app's own exit code
    assert "with CONFORMANCE_PROXY_URL, STRIPE_API_BASE set" in recorded.stdout
    assert [i.endpoint for i in load(cassette).interactions] == ["customers.create", "sources.create", "cards.update"]

    sentinel = Sentinel()  # nothing may reach the network while the app runs against serve
    try:
        first = conformance("serve", cassette, "--", sys.executable, app)
        second = conformance("serve", cassette, "--", sys.executable, app)
    finally:
        sentinel.close()
    assert first.returncode == 0, first.stdout + first.stderr
    assert "Session: 3 requests answered, 0 misses, 0 recorded interactions never asked for" in first.stdout
    assert without_addresses(first.stdout) == without_addresses(second.stdout)  # each run is a fresh session
    assert sentinel.connections == 0

    changed = conformance("serve", cassette, "--", sys.executable, app, "Someone Else")
    assert changed.returncode == 5  # the app failed, and says why: the reason reached the SDK's exception
    assert "stripe error: no recorded interaction matches POST /v1/customers/" in changed.stdout
    assert "body: recorded has name=Jenny Rosen; request has name=Someone Else" in changed.stdout
    assert "Session: 2 requests answered, 1 miss, 1 recorded interaction never asked for" in changed.stdout
    assert re.search(r"unused: \S+app\.yaml #3 cards\.update POST", changed.stdout)


def test_a_miss_fails_the_session_unless_allowed(tmp_path):
    cassette = tmp_path / "c.yaml"
    with FakeStripe() as upstream:
        conformance("record", "--upstream", upstream, "--cassette", cassette, "--", sys.executable, "-c",
                    "import os, httpx; httpx.post(os.environ['STRIPE_API_BASE'] + '/v1/customers', "
                    "headers={'Authorization': 'Bearer sk_test_' + 'A' * 24}, data={'email': 'a@b.c'})")
    asks_more = ("import os, httpx; base = os.environ['STRIPE_API_BASE']; "
                 "r = httpx.get(base + '/v1/customers/cus_nope'); print(r.status_code, r.headers['Conformance-Miss'])")
    missed = conformance("serve", cassette, "--", sys.executable, "-c", asks_more)
    assert missed.returncode == 1, missed.stdout + missed.stderr
    assert "599 closest POST /v1/customers: method: GET is not POST" in missed.stdout
    assert "1 miss" in missed.stdout and "unused: " in missed.stdout
    assert conformance("serve", cassette, "--allow-misses", "--", sys.executable, "-c", asks_more).returncode == 0


def test_a_running_serve_resets_its_session_on_request_and_on_sighup(cli, tmp_path):
    cassette = tmp_path / "c.yaml"
    with FakeStripe() as upstream:
        conformance("record", "--upstream", upstream, "--cassette", cassette, "--", sys.executable, "-c",
                    "import os, httpx; [httpx.get(os.environ['STRIPE_API_BASE'] + '/v1/customers', "
                    "headers={'Authorization': 'Bearer sk_test_' + 'A' * 24}) for _ in range(2)]")
    server = cli("serve", cassette, "--exhausted", "miss")
    address = server.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
    with httpx.Client(base_url=address, timeout=10) as http:
        recorded = http.get("/v1/customers").status_code
        assert recorded != 599
        assert [http.get("/v1/customers").status_code for _ in range(2)] == [recorded, 599]  # the order is spent
        summary = http.post("/__conformance__/reset").json()
        assert summary["answered"] == 2 and len(summary["misses"]) == 1
        assert [http.get("/v1/customers").status_code for _ in range(2)] == [recorded, recorded]  # a new session
        server.process.send_signal(signal.SIGHUP)  # to `conformance serve`, which ends the session
        server.wait_for(r"Session: 2 requests answered, 0 misses, 0 recorded interactions never asked for")
        assert http.get("/v1/customers").status_code == recorded
    assert server.interrupt() == 0  # no miss in the last session


def test_forward_mode_record_around_an_app_with_the_sdk_trusting_the_proxy_ca(app, tmp_path):
    from ..tls import self_signed

    cert, key = self_signed(tmp_path)
    cassette = tmp_path / "forward.yaml"
    with FakeStripe(tls=(cert, key)) as upstream:
        recorded = conformance("record", "--mode", "forward", "--cassette", cassette, "--confdir", tmp_path / "mitm",
                               "--host", "127.0.0.1", "--set", f"ssl_verify_upstream_trusted_ca={cert}", "--",
                               sys.executable, app,
                               env={"APP_API_BASE": upstream.replace("localhost", "127.0.0.1")})
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "SSL_CERT_FILE" in recorded.stdout and "updated 4242" in recorded.stdout, recorded.stdout
    assert len(load(cassette).interactions) == 3
    assert f"trusting {(tmp_path / 'mitm' / 'mitmproxy-ca-cert.pem').resolve()}" in recorded.stdout  # absolute


def test_forward_mode_records_stripe_only_and_leaves_other_hosts_untouched(cli, tmp_path):
    from ..tls import self_signed

    cert, key = self_signed(tmp_path)
    cassette = tmp_path / "stripe-only.yaml"
    recorder = cli("record", "--mode", "forward", "--cassette", cassette, "--confdir", tmp_path / "mitm")
    proxy = recorder.wait_for(r"use (http://127\.0\.0\.1:\d+) as the application's HTTPS proxy").group(1)
    with FakeStripe(tls=(cert, key)) as other, FakeStripe() as plain:
        # trusting only the other service's own certificate: it works only if the proxy did not intercept
        with httpx.Client(proxy=proxy, verify=ssl.create_default_context(cafile=str(cert)), timeout=10,
                          headers={"Authorization": "Bearer sk_test_" + "A" * 24}) as http:
            assert http.post(f"{other}/v1/customers", data={"email": "a@b.c"}).status_code == 200
        with httpx.Client(proxy=proxy, timeout=10, headers={"Authorization": "Bearer sk_test_" + "A" * 24}) as http:
            assert http.post(f"{plain}/v1/customers", data={"email": "a@b.c"}).status_code == 200
    assert recorder.interrupt() == 0
    assert "Recorded nothing" in recorder.text and not cassette.exists()


NODE_CLIENT = """
// A Node client in forward mode: CONNECT through HTTPS_PROXY, TLS trusting NODE_EXTRA_CA_CERTS (mitmproxy's CA).
const http = require("http"), https = require("https"), tls = require("tls");
const proxy = new URL(process.env.HTTPS_PROXY), target = new URL(process.env.APP_API_BASE);
const connect = http.request({host: proxy.hostname, port: proxy.port, method: "CONNECT",
                              path: `${target.hostname}:${target.port}`});
connect.on("connect", (res, socket) => {
  const agent = new https.Agent({socket});
  agent.createConnection = () => tls.connect({socket, servername: target.hostname});
  const body = "email=node%40example.com";
  const req = https.request({host: target.hostname, port: target.port, path: "/v1/customers", method: "POST", agent,
    headers: {"Authorization": "Bearer sk_test_" + "N".repeat(24), "Content-Type": "application/x-www-form-urlencoded",
              "Content-Length": body.length}}, (answer) => {
    let data = ""; answer.on("data", (c) => data += c);
    answer.on("end", () => { console.log("node got", answer.statusCode, JSON.parse(data).object); process.exit(0); });
  });
  req.on("error", (e) => { console.error("node error", e.message); process.exit(7); });
  req.end(body);
});
connect.on("error", (e) => { console.error("proxy error", e.message); process.exit(8); });
connect.end();
"""


def test_a_node_client_recorded_in_forward_mode(tmp_path):
    import shutil

    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed on this machine")
    from ..tls import self_signed

    cert, key = self_signed(tmp_path)
    script = tmp_path / "client.js"
    script.write_text(NODE_CLIENT)
    cassette = tmp_path / "node.yaml"
    with FakeStripe(tls=(cert, key)) as upstream:
        recorded = conformance("record", "--mode", "forward", "--cassette", cassette, "--confdir", tmp_path / "mitm",
                               "--host", "127.0.0.1", "--set", f"ssl_verify_upstream_trusted_ca={cert}", "--",
                               node, script, env={"APP_API_BASE": upstream})
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert "node got 200 customer" in recorded.stdout
    (interaction,) = load(cassette).interactions
    assert interaction.endpoint == "customers.create" and interaction.request.body.value == {"email": "node@example.com"}
    assert load(cassette).meta.get("host") == "127.0.0.1"
