"""The one cassette reader: JSON-shaped YAML only, each refusal at its line, agreeing with libyaml elsewhere."""

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.cassette.emitter import dump_document
from conformance.cassette.reader import MAX_DEPTH, locate_line, read_documents

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


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), json_data, max_size=5), min_size=1, max_size=4))
def test_what_the_emitter_writes_reads_back_as_libyaml_reads_it(documents):
    text = "".join(dump_document(document) for document in documents)
    ours = [data for _, data in read_documents(text)]
    assert len(ours) == len(documents)
    assert all(same(a, b) for a, b in zip(ours, documents))
    theirs = list(yaml.load_all(text, Loader=yaml.CSafeLoader))
    assert all(same(a, b) for a, b in zip(ours, theirs))


@settings(max_examples=500, deadline=None)
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
