"""``conformance serve`` as a real process: the stripe SDK gets the recorded answers, offline."""

from __future__ import annotations

import httpx
import pytest
import stripe

from conformance.suite.scenarios import Session, card_lifecycle

from ..conftest import API_KEY, CLIProcess
from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
READY = r"point the application's API base at (http://127\.0\.0\.1:\d+)"
OTHER_KEY = "sk_test_" + "b" * 24  # serving ignores which key a client uses


@pytest.fixture(scope="session")
def recorded_lifecycle(tmp_path_factory):
    """A cassette recorded by `conformance record`, and what the SDK got while recording it."""
    path = tmp_path_factory.mktemp("served") / "lifecycle.yaml"
    with FakeStripe() as upstream:
        recorder = CLIProcess(["record", "--upstream", upstream, "--cassette", str(path)])
        try:
            address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
            session = Session(address, API_KEY)
            card_lifecycle(session)
            assert recorder.interrupt() == 0
        finally:
            recorder.close()
    return path, session


def test_the_sdk_gets_exactly_the_recorded_objects_in_reverse_mode(cli, recorded_lifecycle):
    path, recording = recorded_lifecycle
    server = cli("serve", path)
    address = server.wait_for(READY).group(1)
    replayed = Session(address, OTHER_KEY)
    card_lifecycle(replayed)
    assert replayed.steps == recording.steps
    assert replayed.results == recording.results
    assert server.interrupt() == 0
    assert "MISS" not in server.text


def test_forward_mode_serves_api_stripe_com_through_the_proxy(cli, recorded_lifecycle, tmp_path, monkeypatch):
    path, recording = recorded_lifecycle
    server = cli("serve", path, "--mode", "forward", "--confdir", tmp_path / "mitm")
    proxy = server.wait_for(r"use (http://127\.0\.0\.1:\d+) as the application's HTTPS proxy").group(1)
    monkeypatch.setattr(stripe, "ca_bundle_path", str(tmp_path / "mitm" / "mitmproxy-ca-cert.pem"))
    replayed = Session("https://api.stripe.com", OTHER_KEY)
    replayed.client = stripe.StripeClient(OTHER_KEY, proxy=proxy, max_network_retries=0)
    card_lifecycle(replayed)
    assert replayed.results == recording.results
    assert server.interrupt() == 0


def test_a_miss_answers_599_with_the_closest_candidates_and_is_printed(cli, recorded_lifecycle):
    path, recording = recorded_lifecycle
    server = cli("serve", path)
    address = server.wait_for(READY).group(1)
    customer = recording.results[0]["id"]
    card = recording.results[1]["id"]
    response = httpx.post(f"{address}/v1/customers/{customer}/sources/{card}", data={"name": "Someone Else"},
                          headers={"Authorization": f"Bearer {OTHER_KEY}"})
    assert response.status_code == 599
    error = response.json()["error"]
    assert error["type"] == "cassette_miss"
    best = error["candidates"][0]
    assert best["endpoint"] == "cards.update"
    assert any("body: recorded has" in reason and "request has name=Someone Else" in reason for reason in best["why_not"])
    server.wait_for(r"MISS POST /v1/customers/\S+/sources/\S+; closest: POST")
    assert OTHER_KEY not in server.text + response.text


def test_one_miss_is_one_miss_for_an_sdk_that_retries(cli, recorded_lifecycle):
    """The official SDK retries a 5xx unless told not to: the miss says Stripe-Should-Retry: false."""
    path = recorded_lifecycle[0]
    server = cli("serve", path)
    address = server.wait_for(READY).group(1)
    client = stripe.StripeClient(OTHER_KEY, base_addresses={"api": address}, max_network_retries=2)
    with pytest.raises(stripe.APIError) as raised:
        client.v1.customers.retrieve("cus_NeverRecorded")
    assert raised.value.http_status == 599 and raised.value.headers.get("stripe-should-retry") == "false"
    assert server.interrupt() == 1  # a miss fails the session
    live = [line for line in server.text.splitlines() if line.startswith("MISS GET /v1/customers/cus_NeverRecorded")]
    assert len(live) == 1, server.text  # as it happened; the session's summary repeats it, indented
    assert "1 miss," in server.text


@pytest.mark.parametrize(("options", "said"), [
    (["--set", "serve_cassete=CASSETTES"], "unknown option serve_cassete: the serve addon's options are"),
    ([], "no interaction to serve: give cassettes with --set serve_cassettes=PATH"),
])
def test_plain_mitmdump_refuses_to_serve_nothing(recorded_lifecycle, options, said):
    """Under a plain `mitmdump -s`, a typo'd or missing option stops it at once instead of missing every request."""
    import subprocess
    import sys
    from pathlib import Path

    from conformance.mitm import addon_path

    mitmdump = Path(sys.executable).parent / "mitmdump"
    args = [str(mitmdump), "--listen-host", "127.0.0.1", "-p", "0", "-s", addon_path("server"),
            *[o.replace("CASSETTES", str(recorded_lifecycle[0])) for o in options]]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and said in done.stdout + done.stderr


def test_repeated_requests_follow_the_recorded_order_then_the_exhausted_policy(cli, tmp_path):
    path = tmp_path / "before-after.yaml"
    with FakeStripe() as upstream:
        recorder = cli("record", "--upstream", upstream, "--cassette", path)
        address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
        with httpx.Client(base_url=address, headers={"Authorization": f"Bearer {API_KEY}"}) as client:
            customer = client.post("/v1/customers", data={"email": "o@example.com"}).json()["id"]
            card = client.post(f"/v1/customers/{customer}/sources", data={"source": "tok_visa"}).json()["id"]
            url = f"/v1/customers/{customer}/cards/{card}"
            before = client.get(url).json()
            client.post(f"/v1/customers/{customer}/sources/{card}", data={"name": "Jenny Rosen"})
            after = client.get(url).json()
        assert recorder.interrupt() == 0
    assert before["name"] is None and after["name"] == "Jenny Rosen"
    # in recorded order: the first GET gets the first body, the second GET the second
    server = cli("serve", path, "--exhausted", "miss")
    address = server.wait_for(READY).group(1)
    with httpx.Client(base_url=address) as client:
        assert client.get(url).json() == before
        assert client.get(url).json() == after
        assert client.get(url).status_code == 599
    server.interrupt()
    server = cli("serve", path)  # default: repeat the last answer
    address = server.wait_for(READY).group(1)
    with httpx.Client(base_url=address) as client:
        assert [client.get(url).json()["name"] for _ in range(3)] == [None, "Jenny Rosen", "Jenny Rosen"]
    server.interrupt()


def test_a_changed_cassette_is_reloaded(cli, recorded_lifecycle, tmp_path):
    source, _ = recorded_lifecycle
    path = tmp_path / "live.yaml"
    path.write_bytes(source.read_bytes())
    server = cli("serve", path)
    address = server.wait_for(READY).group(1)
    text = path.read_text()
    path.write_text(text.replace("jenny.rosen@example.com", "reloaded@example.com"))
    server.wait_for(r"reloaded: 17 interactions", timeout=10)
    response = httpx.post(f"{address}/v1/customers", data={"email": "reloaded@example.com",
                                                            "description": "card lifecycle"})
    assert response.status_code == 200 and response.json()["email"] == "reloaded@example.com"
    server.interrupt()


def test_what_was_asked_before_a_reload_still_counts_as_asked(cli, recorded_lifecycle, tmp_path):
    path = tmp_path / "live.yaml"
    path.write_bytes(recorded_lifecycle[0].read_bytes())
    server = cli("serve", path)
    address = server.wait_for(READY).group(1)
    response = httpx.post(f"{address}/v1/customers", data={"email": "jenny.rosen@example.com",
                                                            "description": "card lifecycle"})
    assert response.status_code == 200, response.text
    with path.open("a") as cassette:
        cassette.write("# touched\n")  # the same interactions, a changed file: it is read again
    server.wait_for(r"reloaded: 17 interactions", timeout=10)
    server.interrupt()
    assert "Session: 1 request answered, 0 misses, 16 recorded interactions never asked for" in server.text


def test_bad_input_is_one_line_and_exit_2(cli, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 7\n")
    process = cli("serve", bad)
    assert process.finish() == 2
    assert process.text.strip() == f"Error: {bad}:1: unsupported cassette version 7 (this card-conformance reads version 1)"
    empty = tmp_path / "empty"
    empty.mkdir()
    process = cli("serve", empty)
    assert process.finish() == 2 and "no cassettes" in process.text
