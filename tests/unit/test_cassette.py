import pytest

from conformance import cassette
from conformance.cassette import Body, CassetteError, CassetteWriter, Interaction, Request, Response, load
from conformance.stripe import STRIPE


def sample(i=1):
    return Interaction(
        Request("POST", "/v1/customers/cus_1/sources/card_1", {}, {"Content-Type": "application/x-www-form-urlencoded"},
                Body("form", {"name": "Jenny Rosen", "metadata": {"order_id": "6735"}})),
        Response(200, {"Content-Type": "application/json"},
                 Body("json", {"id": "card_1", "object": "card", "exp_year": 2032, "address_line2": None,
                               "note": "two\nlines", "version": "2023-08-16"})),
    )


def write(path, *interactions):
    with CassetteWriter(path, "sample") as writer:
        for interaction in interactions:
            writer.append(interaction)


def test_roundtrip_keeps_order_types_and_endpoint(tmp_path):
    path = tmp_path / "c.yaml"
    write(path, sample(), sample())
    assert load(path).interactions[0].endpoint == "other"  # no API profile names it
    loaded = load(path, STRIPE)
    assert loaded.name == "sample"
    assert [i.index for i in loaded.interactions] == [1, 2]
    first = loaded.interactions[0]
    assert first.endpoint == "cards.update"
    assert first.request.body.value == {"name": "Jenny Rosen", "metadata": {"order_id": "6735"}}
    assert list(first.response.json()) == ["id", "object", "exp_year", "address_line2", "note", "version"]
    assert first.response.json()["version"] == "2023-08-16"  # a date-looking string stays text
    assert first.response.json()["address_line2"] is None
    assert first.request.content() == b"name=Jenny+Rosen&metadata%5Border_id%5D=6735"
    assert first.line == 7  # comment, ---, header (2 lines), ..., ---, then this document


def test_output_is_stable_and_readable(tmp_path):
    a, b = tmp_path / "a.yaml", tmp_path / "b.yaml"
    write(a, sample())
    write(b, sample())
    assert a.read_bytes().replace(b"name: a", b"") == b.read_bytes().replace(b"name: b", b"")
    text = a.read_text()
    assert 'order_id: "6735"' in text  # a numeric-looking form value stays text
    assert "note: |-\n      two\n      lines" in text


def error_for(tmp_path, text, name="bad.yaml"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(CassetteError) as caught:
        load(path)
    return str(caught.value)


HEADER = "version: 1\nname: x\n"
GOOD = "---\nrequest:\n  method: GET\n  path: /v1/x\nresponse:\n  status: 200\n"


def test_errors_name_file_line_and_problem(tmp_path):
    message = error_for(tmp_path, HEADER + "---\nrequest:\n  method: GET\n  path: /v1/x\nresponse:\n  status: '200'\n")
    assert message.startswith(f"{tmp_path / 'bad.yaml'}:8: ")
    assert "response.status must be an HTTP status code, not text" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "text, problem, line",
    [
        ("version: 2\n", "unsupported cassette version 2", 1),
        ("- a list\n", "not a cassette", 1),
        (HEADER + GOOD + "---\nrequest: [unclosed\n", "invalid YAML", None),
        (HEADER + "---\nrequest: !!python/object/apply:os.system ['true']\nresponse: {status: 200}\n",
         "tags such as 'tag:yaml.org,2002:python/object/apply:os.system' are not allowed", 4),
        (HEADER + "---\nrequest: {method: GET, path: /v1/x, method: POST}\nresponse: {status: 200}\n", "duplicate key", 4),
        (HEADER + "---\na: &a [x, x]\nb: &b [*a, *a]\nrequest: {method: GET, path: /v1/x}\nresponse: {status: 200}\n",
         "aliases", 5),
        (HEADER + "---\nrequest: {method: FETCH, path: /v1/x}\nresponse: {status: 200}\n", "not an HTTP method", 4),
        (HEADER + "---\nrequest: {method: GET, path: v1/x}\nresponse: {status: 200}\n", "must start with '/'", 4),
        (HEADER + "---\nrequest: {method: GET, path: /v1/x, colour: red}\nresponse: {status: 200}\n", "unknown key request.colour", 4),
        (HEADER + "---\nrequest: {method: GET, path: /v1/x}\n", "needs both request and response", 4),
        (b"version: 1\n\xff\xfe garbage", "not valid UTF-8", None),
        ("", "empty file", None),
        # values a client could never have sent or been answered with
        ("version: true\n", "unsupported cassette version True", 1),
        ("version: '1'\n", "unsupported cassette version '1'", 1),
        (HEADER + "---\nrequest: {method: GET, path: /v1/x}\nresponse: {status: 101}\n", "informational (1xx)", 5),
        (HEADER + "---\nrequest: {method: GET, path: /v1/x}\nresponse: {status: 600}\n", "not an HTTP status code", 5),
        (HEADER + "---\nrequest: {method: GET, path: \"/v1/x\\ty\"}\nresponse: {status: 200}\n", "control character", 4),
        (HEADER + "---\nrequest: {method: GET, path: '/v1/x#frag'}\nresponse: {status: 200}\n", "fragment", 4),
        (HEADER + "---\nrequest: {method: GET, path: /v1/customers/../tokens}\nresponse: {status: 200}\n",
         "dot-segment", 4),
        (HEADER + "---\nrequest: {method: GET, path: /v1/./x}\nresponse: {status: 200}\n", "dot-segment", 4),
        (HEADER + "---\nrequest: {method: GET, path: '/v1/x?a=1'}\nresponse: {status: 200}\n", "request.query", 4),
        (HEADER + "---\nrequest: {method: GET, path: /v1/x}\nresponse: {status: 200, json: {1: one}}\n",
         "keys are text", 5),
        ("version: 1\nsource: [API reference]\n", "source must be text", 2),
        ("version: 1\ncompare: {lose: [error.param]}\n", "ignore, exact, loose and nullable", 2),
        ("version: 1\napi_version: 20230816\n", "api_version must be text", 2),
    ],
)
def test_malformed_cassettes_give_one_clear_line(tmp_path, text, problem, line):
    message = error_for(tmp_path, text)
    assert problem in message
    assert "\n" not in message
    if line is not None:
        assert f"bad.yaml:{line}: " in message


def test_unreadable_file(tmp_path):
    with pytest.raises(CassetteError, match="cannot read"):
        load(tmp_path / "missing.yaml")


def test_a_last_document_cut_short_is_skipped_with_a_warning(tmp_path):
    path = tmp_path / "c.yaml"
    write(path, sample(), sample())
    data = path.read_bytes()
    for cut in (4, 40, 200):  # as if killed in the middle of the last write
        path.write_bytes(data[: len(data) - cut])
        loaded = load(path)
        assert len(loaded.interactions) == 1, cut
        assert "incomplete" in loaded.warnings[0]


def test_a_broken_last_document_that_ends_a_line_is_still_an_error(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text(HEADER + GOOD + "---\nrequest: {method: GET}\nresponse: {status: 200}\n")
    with pytest.raises(CassetteError, match=r"request\.path must be text"):
        load(path)


def test_find_cassettes_expands_directories_in_stable_order(tmp_path):
    (tmp_path / "b").mkdir()
    (tmp_path / ".repro-candidates-x").mkdir()  # a repro's candidates left behind by a kill: never replayed
    for name in ["b/2.yaml", "a.yml", "b/1.yaml", "notes.txt", ".repro-candidates-x/c.yaml", "b/.draft.yaml"]:
        (tmp_path / name).write_text(HEADER)
    found = cassette.find_cassettes([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.yml", "b/1.yaml", "b/2.yaml"]
    assert cassette.find_cassettes([tmp_path / "b" / ".draft.yaml"]) == [tmp_path / "b" / ".draft.yaml"]  # named
    with pytest.raises(CassetteError, match="no such file"):
        cassette.find_cassettes([tmp_path / "nope"])


def test_bodies_are_stored_in_their_most_readable_lossless_form():
    assert cassette.body_from_bytes(b"", "application/json") is None
    assert cassette.body_from_bytes(b'{"b":1,"a":[true,null]}', "application/json").value == {"b": 1, "a": [True, None]}
    assert cassette.body_from_bytes(b"{not json", "application/json") == Body("text", "{not json")
    assert cassette.body_from_bytes(b"a=1&a=2", "application/x-www-form-urlencoded") == Body("form", "a=1&a=2")
    binary = cassette.body_from_bytes(b"\x89PNG\xff", "image/png")
    assert binary.kind == "base64" and binary.to_bytes() == b"\x89PNG\xff"
