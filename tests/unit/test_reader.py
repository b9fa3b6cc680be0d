"""The one cassette reader: JSON-shaped YAML only, each refusal at its line, agreeing with libyaml elsewhere."""

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from conformance.cassette.emitter import dump_document
from conformance.cassette.reader import MAX_DEPTH, locate_line, read_documents

from ..conftest import examples
from .test_emitter import json_data, same


def error_of(text: str) -> yaml.MarkedYAMLError:
    with pytest.raises(yaml.MarkedYAMLError) as caught:
        list(read_documents(text))
    return caught.value


def line_of(error: yaml.MarkedYAMLError) -> int:
    mark = error.problem_mark or error.context_mark
    assert mark is not None
    return mark.line + 1


@pytest.mark.parametrize(
    ("text", "problem", "line"),
    [
        ("a: 1\nb: &x [1]\nc: *x\n", "aliases", 3),
        ("a: 1\nb: &x v\nc: [*x]\n", "aliases", 3),
        ("a: !!python/object/apply:os.system [true]\n", "tags such as", 1),
        ("a: 1\nb: !!binary aGVsbG8=\n", "tags such as", 2),
        ("a: !!set {x, y}\n", "tags such as", 1),
        ("a: 1\nb: 2\na: 3\n", "duplicate key 'a'", 3),
        ("? [x]\n: 1\n", "cannot be a key", 1),
        ("x: " + "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1) + "\n", f"deeper than {MAX_DEPTH}", 1),
        ("---\nversion: 1\n...   name: foo\n", "did not find expected <document start>", 3),
        ("---\nversion: 1\n...\n---   x: 1\n", "mapping values are not allowed", 4),
    ],
)
def test_what_a_cassette_never_holds_is_refused_at_its_line(text, problem, line):
    error = error_of(text)
    assert problem in str(error)
    assert line_of(error) == line


def test_libyaml_bounds_nesting_before_we_build_anything():
    error = error_of("x: " + "[" * 100_000 + "\n")
    assert "nesting" in str(error)


def test_dates_stay_text_and_json_types_resolve_like_yaml():
    ((_, data),) = read_documents("v: 2023-08-16\nt: 2023-08-16 12:00:00\nn: null\nb: true\ni: 12\nf: 1.5\ns: '12'\n"
                                  "m: <<\n")
    assert data == {"v": "2023-08-16", "t": "2023-08-16 12:00:00", "n": None, "b": True, "i": 12, "f": 1.5,
                    "s": "12", "m": "<<"}


def test_each_document_comes_with_its_first_line():
    text = "# comment\n---\nversion: 1\n...\n---\n\ninteraction: 1\n...\n"
    assert list(read_documents(text)) == [(3, {"version": 1}), (7, {"interaction": 1})]


def test_locate_line_follows_keys_and_list_indexes():
    text = "---\nversion: 1\n---\nrequest:\n  method: GET\n  query:\n    expand:\n    - a\n    - b\n"
    assert locate_line(text, 1, ("request", "method")) == 5
    assert locate_line(text, 1, ("request", "query", "expand", 1)) == 9
    assert locate_line(text, 1, ("request", "nothing")) == 4
    assert locate_line("a: [unclosed\n", 0, ("a",)) is None


@examples(ci=100, deep=1500)
@given(st.lists(st.dictionaries(st.text(max_size=8), json_data, max_size=5), min_size=1, max_size=4))
def test_what_the_emitter_writes_reads_back_as_libyaml_reads_it(documents):
    text = "".join(dump_document(document) for document in documents)
    ours = [data for _, data in read_documents(text)]
    assert len(ours) == len(documents)
    assert all(same(a, b) for a, b in zip(ours, documents))
    theirs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    assert all(same(a, b) for a, b in zip(ours, theirs))


@examples(ci=150, deep=2500)
@given(st.text(alphabet=st.sampled_from(list("ab:-.#[]{}&*!?|>'\" \n\t0123")), max_size=60))
def test_any_text_is_read_or_refused_as_libyaml_would(text):
    """A document libyaml refuses is refused by us too; one it reads we read alike or refuse by a rule of ours."""
    try:
        theirs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    except yaml.YAMLError:
        with pytest.raises(yaml.YAMLError):
            list(read_documents(text))
        return
    except (TypeError, ValueError):  # unhashable keys and the like: libyaml's constructor fails too
        return
    try:
        ours = [data for _, data in read_documents(text)]
    except yaml.MarkedYAMLError as error:
        assert any(rule in str(error) for rule in ("aliases", "tags", "duplicate key", "cannot be a key", "deeper", "keys are text"))
        return
    assert len(ours) == len(theirs)


CASSETTE = "---\nversion: 1\nname: x\n---\ninteraction: 1\nrequest:\n  method: GET\n  path: /v1/customers\nresponse:\n" \
           "  status: 200\n"


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"])
def test_a_cassette_in_utf16_or_utf32_is_one_line_naming_the_fix(tmp_path, encoding):
    """libyaml reads UTF-16 with a BOM silently (so `run` passed it) while `check` and every writer read UTF-8."""
    from conformance.cassette import load
    from conformance.errors import CassetteError

    path = tmp_path / "wide.yaml"
    path.write_bytes(CASSETTE.encode(encoding))
    with pytest.raises(CassetteError) as caught:
        load(path)
    line = str(caught.value)
    assert "\n" not in line and line.startswith(str(path))
    assert f"is {encoding[:6].upper()} text" in line and "iconv" in line
    with open(path, "rb") as stream, pytest.raises(yaml.MarkedYAMLError):
        list(read_documents(stream))


def test_a_utf8_cassette_with_a_bom_still_reads():
    ((_, data),) = read_documents(b"\xef\xbb\xbfversion: 1\n")
    assert data == {"version": 1}


SK_LIVE = "sk_live_" + "51HbcdEfGhIjKlMnOpQrStUvWx"


@pytest.mark.parametrize(
    ("document", "secret"),
    [
        ("request:\n  method: GET\n  path: v1/customers/" + SK_LIVE + "\n", SK_LIVE),  # validation quotes the path
        ("request:\n  method: GET\n  path: /v1/cards/4000056655665556#x\n", "4000056655665556"),
        ("request:\n  method: GET\n  path: /v1\n" + SK_LIVE + ": 1\n", SK_LIVE),  # an unknown key
        ("request:\n  method: GET\n  path: /v1\n  4000056655665556: 1\n", "4000056655665556"),  # a key read as int
        ("request:\n  method: " + SK_LIVE + "\n  path: /v1\n", SK_LIVE),
        ("request:\n  method: GET\n  path: /v1\n  query: {a: 1, a: " + SK_LIVE + "}\n", None),
        ("request:\n  method: GET\n  path: /v1\n  query: {" + SK_LIVE + ": 1, " + SK_LIVE + ": 2}\n", SK_LIVE),
        ("request:\n  method: GET\n  path: /v1/x\n  body: 1\n", None),
    ],
)
def test_an_error_line_never_prints_the_secret_it_quotes(tmp_path, document, secret):
    from conformance.cassette import load
    from conformance.errors import CassetteError

    path = tmp_path / "bad.yaml"
    path.write_text("---\nversion: 1\n---\ninteraction: 1\n" + document + "response:\n  status: 200\n")
    with pytest.raises(CassetteError) as caught:
        load(path)
    line = str(caught.value)
    assert line.startswith(f"{path}:")
    if secret is not None:
        assert secret not in line and "[REDACTED:" in line, line
