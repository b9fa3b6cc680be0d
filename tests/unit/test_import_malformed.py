"""Malformed recordings given to ``conformance import``: each is one line and exit 2, never a traceback, never a
cassette written, never an alias bomb expanded."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main

GOOD_VCR = {"request": {"method": "GET", "uri": "https://api.stripe.com/v1/customers/cus_1", "body": None,
                        "headers": {}},
            "response": {"status": {"code": 200, "message": "OK"}, "headers": {"Content-Type": ["application/json"]},
                         "body": {"string": '{"id": "cus_1"}'}}}
GOOD_HAR_ENTRY = {"request": {"method": "GET", "url": "https://api.stripe.com/v1/customers/cus_1", "headers": []},
                  "response": {"status": 200, "headers": [], "content": {"text": '{"id": "cus_1"}'}}}


def vcr(*interactions: object) -> str:
    return json.dumps({"interactions": list(interactions), "version": 1})


def vcr_with(section: str, key: str, value: object) -> str:
    interaction = json.loads(json.dumps(GOOD_VCR))
    interaction[section][key] = value
    return vcr(interaction)


def har(*entries: object) -> str:
    return json.dumps({"log": {"version": "1.2", "entries": list(entries)}})


def har_with(section: str, key: str, value: object) -> str:
    entry = json.loads(json.dumps(GOOD_HAR_ENTRY))
    entry[section][key] = value
    return har(entry)


def ruby(interaction: str) -> str:
    return "---\nhttp_interactions:\n" + interaction + "recorded_with: VCR 6.2.0\n"


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + n)}: &{chr(98 + n)} [*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, "
    f"*{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}, *{chr(97 + n)}]\n" for n in range(9)
) + "interactions: [*j]\n"

MALFORMED = {
    # whole files
    "empty": "",
    "binary": b"\x00\xff\xfe\x00garbage",
    "not UTF-8 text": b"interactions:\n- \xff\xfe\n",
    "a number": "42",
    "a list": "[1, 2, 3]",
    "plain text": "hello world",
    "invalid YAML": "interactions: [\n",
    "invalid JSON and YAML": "{\"interactions\": [}",
    "YAML alias bomb": ALIAS_BOMB,
    "YAML python tag": "interactions: !!python/object/apply:os.system ['true']\n",
    "YAML deep nesting": "interactions: " + "[" * 20000 + "]" * 20000 + "\n",
    "JSON deep nesting": '{"interactions": ' + "[" * 100000 + "]" * 100000 + "}",
    "JSON huge integer": '{"interactions": [{"request": {}, "response": {"status": {"code": ' + "9" * 5000 + "}}}]}",
    "two YAML documents": "interactions: []\n---\ninteractions: []\n",
    # VCR.py
    "VCR: interactions is a mapping": json.dumps({"interactions": {"a": 1}}),
    "VCR: interaction is text": vcr("GET /"),
    "VCR: interaction is null": vcr(None),
    "VCR: request is a list": vcr_with("request", "method", ["GET"]),
    "VCR: request missing": vcr({"response": GOOD_VCR["response"]}),
    "VCR: response is text": vcr({"request": GOOD_VCR["request"], "response": "200 OK"}),
    "VCR: status is text": vcr_with("response", "status", {"code": "OK"}),
    "VCR: status is a list": vcr_with("response", "status", [200]),
    "VCR: status is a float": vcr_with("response", "status", {"code": 200.5}),
    "VCR: status is negative": vcr_with("response", "status", {"code": -5}),
    "VCR: status is huge": vcr_with("response", "status", {"code": 10 ** 30}),
    "VCR: headers is a list": vcr_with("response", "headers", ["Content-Type: x"]),
    "VCR: headers is text": vcr_with("request", "headers", "Authorization: Bearer x"),
    "VCR: header value is a mapping": vcr_with("response", "headers", {"Content-Type": [{"a": 1}]}),
    "VCR: body is a list": vcr_with("response", "body", ["x"]),
    "VCR: body string is a mapping": vcr_with("response", "body", {"string": {"a": 1}}),
    "VCR: uri is a number": vcr_with("request", "uri", 5),
    "VCR: uri is a bad IPv6 URL": vcr_with("request", "uri", "http://[::1/v1/x"),
    "VCR: uri is missing": vcr({"request": {"method": "GET"}, "response": GOOD_VCR["response"]}),
    "VCR: method is a mapping": vcr_with("request", "method", {"a": 1}),
    # Ruby VCR
    "Ruby: interactions is text": "http_interactions: nope\n",
    "Ruby: interaction is a number": ruby("- 5\n"),
    "Ruby: status is text": ruby("- request: {method: get, uri: 'https://api.stripe.com/v1/x'}\n"
                                 "  response: {status: 'OK', body: {string: ''}}\n"),
    "Ruby: status code is text": ruby("- request: {method: get, uri: 'https://api.stripe.com/v1/x'}\n"
                                      "  response: {status: {code: OK}, body: {string: ''}}\n"),
    "Ruby: bad base64": ruby("- request: {method: get, uri: 'https://api.stripe.com/v1/x'}\n"
                             "  response: {status: {code: 200}, body: {base64_string: '!!!notbase64'}}\n"),
    "Ruby: base64 is a list": ruby("- request: {method: get, uri: 'https://api.stripe.com/v1/x'}\n"
                                   "  response: {status: {code: 200}, body: {base64_string: [1]}}\n"),
    "Ruby: request is text": ruby("- request: GET\n  response: {status: {code: 200}}\n"),
    # HAR
    "HAR: log is a list": json.dumps({"log": [1]}),
    "HAR: entries is a mapping": json.dumps({"log": {"entries": {"a": 1}}}),
    "HAR: entries is null": json.dumps({"log": {"entries": None, "version": "1.2"}}),
    "HAR: entry is text": har("GET /"),
    "HAR: request is a list": har({"request": [], "response": GOOD_HAR_ENTRY["response"]}),
    "HAR: status is text": har_with("response", "status", "OK"),
    "HAR: status is null": har_with("response", "status", None),
    "HAR: headers is a mapping": har_with("request", "headers", {"a": "b"}),
    "HAR: header is text": har_with("request", "headers", ["Authorization: x"]),
    "HAR: content is a list": har_with("response", "content", [1]),
    "HAR: content text is a number": har_with("response", "content", {"text": 5}),
    "HAR: bad base64": har_with("response", "content", {"text": "***", "encoding": "base64"}),
    "HAR: postData is text": har_with("request", "postData", "a=1"),
    "HAR: postData mimeType is a list": har_with("request", "postData", {"mimeType": [1], "text": "a=1"}),
    "HAR: url is a number": har_with("request", "url", 7),
    # mitmproxy flows
    "flows: truncated": b"10:5:hello,",
    "flows: wrong type": b"3:1:x,}",
    "flows: bad length": b"999999:",
}


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    suffix = ".mitm" if name.startswith("flows") else ".har" if name.startswith("HAR") else ".yaml"
    path = tmp_path / f"input{suffix}"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    return path


@pytest.mark.parametrize("name", MALFORMED, ids=list(MALFORMED))
def test_malformed_input_is_one_line_and_exit_2(name, tmp_path):
    source = write(tmp_path, name, MALFORMED[name])
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(out)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert str(source) in lines[0], lines[0]  # it names the file
    assert not list(out.glob("*.yaml")) if out.exists() else True  # nothing written


def test_a_fifo_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.har"
    os.mkfifo(fifo)
    result = CliRunner().invoke(main, ["import", str(fifo), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "not a regular file" in result.output, result.output


def test_an_interaction_no_cassette_can_hold_is_left_out_by_name_the_rest_imported(tmp_path):
    odd = json.loads(json.dumps(GOOD_VCR))
    odd["request"]["method"] = "PROPFIND"
    source = tmp_path / "odd.json"
    source.write_text(vcr(GOOD_VCR, odd, GOOD_VCR))
    result = CliRunner().invoke(main, ["import", str(source), "--out", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "2 interactions into" in result.output and "1 not written" in result.output, result.output
    assert "PROPFIND /v1/customers/cus_1 -> 200: request.method 'PROPFIND' is not an HTTP method" in result.output
    from conformance.cassette import load

    assert len(load(tmp_path / "out" / "odd.yaml").interactions) == 2
