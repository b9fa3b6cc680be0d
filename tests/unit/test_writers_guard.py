"""The writers' guard: whatever the recorder (or import) writes, the loader reads back; what no cassette can hold
is refused by name, not written, and (by the recorder) not answered."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given
from hypothesis import strategies as st
from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response, load
from conformance.cassette.guard import Unwritable, wire_path, wire_target
from conformance_proxy.recorder import Recorder

from ..conftest import examples

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def flow(method: bytes = b"GET", path: bytes = b"/v1/customers/cus_1", status: int = 200,
         request_headers: tuple[tuple[bytes, bytes], ...] = (), request_body: bytes = b"",
         response_headers: tuple[tuple[bytes, bytes], ...] = ((b"Content-Type", JSON.encode()),),
         response_body: bytes = b'{"id": "cus_1"}') -> http.HTTPFlow:
    request = tutils.treq(method=method, path=path, content=request_body,
                          headers=http.Headers(((b"Authorization", b"Bearer sk_test_123"), *request_headers)))
    response = tutils.tresp(status_code=status, content=response_body, headers=http.Headers(response_headers))
    return tflow.tflow(req=request, resp=response)


def record(path: Path, *flows: http.HTTPFlow) -> list[bool]:
    """Each flow through the recorder's response hook; whether it was answered (not killed)."""
    recorder = Recorder()
    with taddons.context(recorder) as tctx:
        tctx.configure(recorder, cassette=str(path), record_echo=False, record_paths=".*",
                       record_headers=["Request-Id", "X-Note"])
        for each in flows:
            recorder.request(each)
            recorder.response(each)
    recorder.close()
    return [each.error is None for each in flows]


# what the loader refused, or a document it cannot read, written before the guard (issue 35)
STRANDING = {
    "a lone surrogate in JSON": flow(response_body=b'{"id": "cus_\\ud800"}'),
    "a lone surrogate in a JSON key": flow(response_body=b'{"\\udfff": 1}'),
    "a header value that is not UTF-8": flow(response_headers=((b"Content-Type", JSON.encode()),
                                                               (b"Request-Id", b"req_\xff\xfe"))),
    "a request header value that is not UTF-8": flow(request_headers=((b"X-Note", b"caf\xe9"),)),
    "a path that is not UTF-8": flow(path=b"/v1/customers/cus_\xff"),
    "a query that is not UTF-8": flow(path=b"/v1/customers?email=\xff@x"),
    "NUL in the request line": flow(path=b"/v1/customers/cus\x00_1"),
    "a control character in the query": flow(path=b"/v1/customers?a=\x01"),
    "a dot-segment": flow(path=b"/v1/customers/../charges"),
    "a single-dot segment": flow(path=b"/v1/./customers"),
    "a fragment": flow(path=b"/v1/customers#x"),
}

REFUSED = {
    "status 101": flow(status=101),
    "status 600": flow(status=600),
    "status 999": flow(status=999),
    "PROPFIND": flow(method=b"PROPFIND"),
    "TRACE": flow(method=b"TRACE"),
    "a method that is not UTF-8": flow(method=b"G\xffT"),
}


@pytest.mark.parametrize("case", STRANDING, ids=list(STRANDING))
def test_what_used_to_strand_a_cassette_is_written_so_that_it_loads(case, tmp_path):
    path = tmp_path / "c.yaml"
    good = flow(path=b"/v1/customers/cus_2")
    assert record(path, good, STRANDING[case]) == [True, True]
    interactions = load(path).interactions  # the whole cassette loads
    assert len(interactions) == 2
    assert interactions[0].request.path == "/v1/customers/cus_2"


def test_escapes_say_what_was_sent():
    assert wire_path("/v1/customers/cus_\udcff") == "/v1/customers/cus_%FF"
    assert wire_path("/v1/a/../b/./c") == "/v1/a/%2E%2E/b/%2E/c"
    assert wire_path("/v1/a\x00b#c") == "/v1/a%00b%23c"
    assert wire_path("/v1/..x/.hidden/a.b") == "/v1/..x/.hidden/a.b"  # only whole dot-segments
    assert wire_path("/v1/\ud800") == "/v1/%EF%BF%BD"
    assert wire_target("/v1/a/../b?x=\udcff&y=\x01#z") == "/v1/a/%2E%2E/b?x=%FF&y=%01%23z"
    assert wire_target("/v1/customers?limit=3") == "/v1/customers?limit=3"


@pytest.mark.parametrize("case", REFUSED, ids=list(REFUSED))
def test_what_no_cassette_can_hold_is_refused_unanswered_and_the_rest_loads(case, tmp_path, capsys):
    path = tmp_path / "c.yaml"
    answered = record(path, flow(path=b"/v1/customers/cus_2"), REFUSED[case], flow(path=b"/v1/customers/cus_3"))
    assert answered == [True, False, True]
    assert [i.request.path for i in load(path).interactions] == ["/v1/customers/cus_2", "/v1/customers/cus_3"]
    assert [i.index for i in load(path).interactions] == [1, 2]
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("error: not recorded")]
    assert len(lines) == 1, lines


def test_the_writer_refuses_by_name_and_writes_nothing_of_it(tmp_path):
    path = tmp_path / "w.yaml"
    with CassetteWriter(path) as writer:
        with pytest.raises(Unwritable, match=r"PROPFIND /v1/x -> 200: request.method 'PROPFIND' is not an HTTP"):
            writer.append(Interaction(Request("PROPFIND", "/v1/x"), Response(200)))
        with pytest.raises(Unwritable, match="GET /v1/x -> 700"):
            writer.append(Interaction(Request("GET", "/v1/x"), Response(700)))
        assert not path.exists()  # nothing written, not even the header
        writer.append(Interaction(Request("get", "/v1/x/../y"), Response(200, {"X": "\udcff"},
                                                                          Body("json", {"\ud800": ["\udfff"]}))))
    (interaction,) = load(path).interactions
    assert interaction.request.method == "GET" and interaction.request.path == "/v1/x/%2E%2E/y"
    assert interaction.response.headers == {"X": "\ufffd"}
    assert interaction.response.body.value == {"\ufffd": ["\ufffd"]}


def test_a_header_the_loader_would_refuse_is_refused_before_anything_is_written(tmp_path):
    path = tmp_path / "h.yaml"
    with pytest.raises(Unwritable, match="the cassette header"):
        CassetteWriter(path, meta={"host": 5})
    assert not path.exists() and not list(tmp_path.iterdir())  # nor a lock left behind
    with CassetteWriter(tmp_path / "n.yaml", name="caf\udce9") as writer:  # a file name that was not UTF-8
        writer.append(Interaction(Request("GET", "/v1/x"), Response(200)))
    assert load(tmp_path / "n.yaml").name == "caf\ufffd"


# ---------------------------------------------------------------- the property: what is accepted loads back

methods = st.sampled_from([b"GET", b"POST", b"DELETE", b"PATCH", b"PUT", b"HEAD", b"OPTIONS", b"PROPFIND", b"TRACE",
                           b"CONNECT", b"get", b"G\xffT", b"M-SEARCH"]) | st.binary(min_size=1, max_size=8)
paths = st.builds(lambda segments, query: b"/" + b"/".join(segments) + (b"?" + query if query else b""),
                  st.lists(st.sampled_from([b"v1", b"customers", b".", b"..", b"cus_1", b"\xff", b"\x00", b"#", b"%",
                                            "é".encode(), b"\xed\xa0\x80"]) | st.binary(max_size=6), max_size=5),
                  st.binary(max_size=12))
header_values = st.binary(max_size=16)
json_texts = st.sampled_from(['"\\ud800"', '"\\udfff x"', '"ok"', "1e400", "NaN", '{"\\ud800": 1}', "[]",
                              '"\\u0000"', '"\\u2028"', "-0", "1.5"])
bodies = st.one_of(
    st.binary(max_size=40).map(lambda raw: (b"application/octet-stream", raw)),
    st.lists(json_texts, max_size=3).map(lambda items: (JSON.encode(), f"[{', '.join(items)}]".encode())),
    st.binary(max_size=40).map(lambda raw: (JSON.encode(), raw)),
    st.binary(max_size=40).map(lambda raw: (FORM.encode(), raw)),
    st.text(max_size=20).map(lambda text: (b"text/plain", text.encode("utf-8", "surrogatepass"))),
)


@st.composite
def exchanges(draw: st.DrawFn) -> http.HTTPFlow:
    request_type, request_body = draw(bodies)
    response_type, response_body = draw(bodies)
    return flow(method=draw(methods), path=draw(paths), status=draw(st.integers(0, 999)),
                request_headers=((b"Content-Type", request_type), (b"X-Note", draw(header_values))),
                request_body=request_body,
                response_headers=((b"Content-Type", response_type), (b"Request-Id", draw(header_values))),
                response_body=response_body)


@examples(ci=100, deep=1500, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(exchanges(), min_size=1, max_size=4))
def test_any_exchange_the_recorder_answers_loads_back(flows):
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "p.yaml"
        answered = record(path, *flows)
        kept = [each for each, ok in zip(flows, answered) if ok]
        if not kept:
            assert not path.exists()
            return
        interactions = load(path).interactions  # never a document the loader refuses
        assert len(interactions) == len(kept)  # every answered exchange, and only those
        for each, interaction in zip(kept, interactions):
            assert interaction.response.status == each.response.status_code
            assert interaction.request.method == each.request.method.upper()
        json.dumps([i.index for i in interactions])
