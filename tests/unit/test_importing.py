"""The importers' readers on hand-made files of the formats no tool here writes (Ruby VCR), and HAR's base64."""

from __future__ import annotations

import base64
import json

import pytest

from conformance.cassette import load
from conformance.record.importing import NotARecording, import_recording, read_exchanges
from conformance.stripe import STRIPE

RUBY_VCR = """---
http_interactions:
- request:
    method: post
    uri: https://api.stripe.com/v1/customers/cus_NffrFeUfNV2Hib/sources
    body:
      encoding: UTF-8
      string: source=tok_visa
    headers:
      Authorization:
      - Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc
      Content-Type:
      - application/x-www-form-urlencoded
  response:
    status:
      code: 200
      message: OK
    headers:
      Content-Type:
      - application/json
    body:
      encoding: ASCII-8BIT
      base64_string: {}
recorded_with: VCR 6.2.0
""".format(base64.b64encode(json.dumps({"id": "card_1NBLeN2eZvKYlo2CIg1o7Pzs", "object": "card"}).encode()).decode())


def test_a_ruby_vcr_cassette_is_read_request_and_base64_answer(tmp_path):
    path = tmp_path / "ruby.yml"
    path.write_text(RUBY_VCR)
    found, exchanges = read_exchanges(path)
    (exchange,) = list(exchanges)
    assert found == "Ruby VCR cassette"
    assert (exchange.method, exchange.path, exchange.status) == ("POST", "/v1/customers/cus_NffrFeUfNV2Hib/sources", 200)
    assert json.loads(exchange.response_content)["object"] == "card"
    result = import_recording(path, tmp_path / "out", profile=STRIPE)
    (interaction,) = load(result.cassette).interactions
    assert interaction.endpoint == "sources.create"
    assert interaction.request.headers["Authorization"] == "Bearer [REDACTED:sk_test]"
    assert interaction.response.json() == {"id": "card_1NBLeN2eZvKYlo2CIg1o7Pzs", "object": "card"}


def test_a_har_answer_in_base64_and_a_non_v1_entry(tmp_path):
    har = {"log": {"version": "1.2", "entries": [
        {"request": {"method": "GET", "url": "https://api.stripe.com/v1/customers/cus_1/cards?limit=3",
                     "headers": [{"name": "Authorization", "value": "Bearer sk_test_4eC39HqLyjWDarjtT1zdp7dc"}]},
         "response": {"status": 200, "headers": [{"name": "Content-Type", "value": "application/json"},
                                                  {"name": "Content-Encoding", "value": "gzip"}],
                      "content": {"mimeType": "application/json", "encoding": "base64",
                                  "text": base64.b64encode(b'{"object": "list", "data": []}').decode()}}},
        {"request": {"method": "GET", "url": "https://example.com/index.html", "headers": []},
         "response": {"status": 200, "headers": [], "content": {"text": "<html></html>"}}},
    ]}}
    path = tmp_path / "session.har"
    path.write_text(json.dumps(har))
    result = import_recording(path, tmp_path / "out")
    assert (result.format, result.imported, result.skipped) == ("HAR", 1, ["GET https://example.com/index.html"])
    (interaction,) = load(result.cassette).interactions
    assert interaction.request.query == {"limit": "3"}
    assert interaction.response.json() == {"object": "list", "data": []}
    assert "Content-Encoding" not in interaction.response.headers  # HAR's text is already decoded


def test_what_is_no_recording_is_refused(tmp_path):
    path = tmp_path / "x.json"
    path.write_text('{"a": 1}')
    with pytest.raises(NotARecording, match="not a recording this tool imports"):
        read_exchanges(path)
