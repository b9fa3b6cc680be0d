"""The recorder addon, driven by mitmproxy's own test helpers."""

import gzip
import json

import pytest
from mitmproxy import exceptions
from mitmproxy.test import taddons, tflow, tutils

from conformance.cassette import load
from conformance_proxy.recorder import Recorder

KEY = "sk_test_" + "51HxYzAbCdEfGhIjKlMn"


def card_flow(path="/v1/customers/cus_1/sources/card_1", body=b"name=Jenny+Rosen&metadata[order_id]=6735", status=200):
    request = tutils.treq(method=b"POST", path=path.encode(), content=body)
    request.headers.clear()
    request.headers["Authorization"] = f"Bearer {KEY}"
    request.headers["Content-Type"] = "application/x-www-form-urlencoded"
    request.headers["User-Agent"] = "Stripe/v1 PythonBindings/16.1.0"
    request.headers["Idempotency-Key"] = "8d3a2c1e-0b7f-4a5e-9c3d-2e1f0a9b8c7d"
    response = tutils.tresp(status_code=status, content=b"")
    response.headers.clear()
    response.headers["Content-Type"] = "application/json"
    response.headers["Content-Encoding"] = "gzip"
    response.headers["Request-Id"] = "req_123"
    response.headers["Date"] = "Thu, 01 Jan 2026 00:00:00 GMT"
    response.raw_content = gzip.compress(json.dumps(
        {"id": "card_1", "object": "card", "name": "Jenny Rosen", "metadata": {"order_id": "6735"}}
    ).encode())
    return tflow.tflow(req=request, resp=response)


@pytest.fixture
def recorder():
    addon = Recorder()
    yield addon
    addon.close()


def record(recorder, tmp_path, *flows, **options):
    path = tmp_path / "session.yaml"
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, cassette=str(path), **options)
        for flow in flows:
            recorder.response(flow)
    recorder.close()
    return path


def test_records_a_decoded_redacted_interaction(recorder, tmp_path):
    path = record(recorder, tmp_path, card_flow())
    text = path.read_text()
    assert KEY not in text
    (interaction,) = load(path).interactions
    assert interaction.endpoint == "cards.update"
    assert interaction.request.body.value == {"name": "Jenny Rosen", "metadata": {"order_id": "6735"}}
    assert interaction.request.headers == {
        "Authorization": "Bearer [REDACTED:sk_test]",
        "Content-Type": "application/x-www-form-urlencoded",
        "Idempotency-Key": "<generated>",
    }
    # gzip is decoded; volatile headers are left out, the retry contract's request id is kept
    assert interaction.response.headers == {"Content-Type": "application/json", "Request-Id": "req_123"}
    assert interaction.response.json() == {"id": "card_1", "object": "card", "name": "Jenny Rosen",
                                           "metadata": {"order_id": "6735"}}


def test_only_matching_paths_are_recorded(recorder, tmp_path):
    flows = [card_flow(), card_flow(path="/healthz"), card_flow(path="/v1/customers/cus_1/cards?limit=3")]
    path = record(recorder, tmp_path, *flows)
    loaded = load(path).interactions
    assert [i.request.path for i in loaded] == ["/v1/customers/cus_1/sources/card_1", "/v1/customers/cus_1/cards"]
    assert loaded[1].request.query == {"limit": "3"}


def test_extra_headers_are_recorded_on_request_and_response(recorder, tmp_path):
    flow = card_flow()
    flow.request.headers["X-Tenant"] = "acme"
    flow.response.headers["x-tenant"] = "acme-eu"
    flow.response.headers["Set-Cookie"] = "session=abc"
    path = record(recorder, tmp_path, flow, record_headers=["X-Tenant", "Set-Cookie"])
    (interaction,) = load(path).interactions
    assert interaction.request.headers["X-Tenant"] == "acme"
    assert interaction.response.headers == {"Content-Type": "application/json", "Set-Cookie": "[REDACTED:set-cookie]",
                                            "X-Tenant": "acme-eu", "Request-Id": "req_123"}
    assert interaction.response.json()["name"] == "Jenny Rosen"  # still gunzipped


def test_user_redaction_and_path_options(recorder, tmp_path):
    flow = card_flow(path="/api/customers/cus_1/sources/card_1", body=b"name=Jenny+Rosen&metadata[email]=j@example.com")
    path = record(recorder, tmp_path, flow, record_paths="^/api/", redact_fields=["email"])
    (interaction,) = load(path).interactions
    assert interaction.request.body.value["metadata"] == {"email": "[REDACTED:email]"}
    assert interaction.endpoint == "other"


def test_secrets_in_paths_queries_and_echoed_responses_are_redacted(recorder, tmp_path):
    flow = card_flow(path=f"/v1/customers/cus_1/cards?key={KEY}&card[number]=4242424242424242")
    flow.response.headers["Content-Encoding"] = "identity"
    flow.response.content = json.dumps({"error": {"message": f"Invalid API Key provided: {KEY}",
                                                  "client_secret": "seti_1_secret_2"}}).encode()
    path = record(recorder, tmp_path, flow)
    text = path.read_text()
    assert KEY not in text and "4242424242424242" not in text and "seti_1_secret_2" not in text
    (interaction,) = load(path).interactions
    assert interaction.request.query == {"key": "[REDACTED:sk_test]", "card": {"number": "[REDACTED:card-number:visa-4242]"}}


def test_invalid_options_are_refused(recorder, tmp_path):
    with taddons.context(recorder) as tctx:
        with pytest.raises(exceptions.OptionsError, match="record_paths"):
            tctx.configure(recorder, record_paths="(")
        with pytest.raises(exceptions.OptionsError, match="cannot write cassette"):
            tctx.configure(recorder, cassette=str(tmp_path / "missing-dir" / "x.yaml"))


def test_the_header_says_where_the_expectations_come_from_and_what_is_disputed(recorder, tmp_path):
    path = record(recorder, tmp_path, card_flow(), cassette_source="api.stripe.com, test mode",
                  cassette_ignore=["wallet"], cassette_loose=["error.param", "error.code"])
    cassette = load(path)
    assert cassette.meta["source"] == "api.stripe.com, test mode"
    assert cassette.meta["compare"] == {"ignore": ["wallet"], "loose": ["error.param", "error.code"]}
