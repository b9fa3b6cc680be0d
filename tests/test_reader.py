"""The line reader for the emitter's subset must read exactly what libyaml reads, or step aside."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance.emitter import dump_document
from conformance.reader import _libyaml_documents, _subset_documents, _Unsupported, read_documents

from .test_emitter import TRICKY, json_data, same

ROOT = Path(__file__).resolve().parent.parent


def outcome(documents):
    """The documents read, or the error (type and line) that stopped the reading."""
    read = []
    try:
        for line, data in documents:
            read.append((line, data))
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        return read, type(error).__name__, mark.line if mark else None
    return read, None, None


def same_documents(a, b):
    return len(a) == len(b) and all(la == lb and same(da, db) for (la, da), (lb, db) in zip(a, b))


@settings(max_examples=400, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=10, alphabet=st.characters(exclude_categories=("Cs",))) |
                                st.sampled_from(TRICKY), json_data, max_size=6), min_size=1, max_size=3))
def test_everything_the_emitter_writes_is_read_by_the_line_reader_alike(documents):
    text = "# a comment first\n" + "".join(dump_document(data) for data in documents)
    fast = list(_subset_documents(text.splitlines(keepends=True)))  # no fallback: _Unsupported would fail this
    assert same_documents(fast, list(_libyaml_documents(text)))
    assert all(same(data, expected) for (_, data), expected in zip(fast, documents))


def test_the_reference_cassettes_are_in_the_subset():
    for path in sorted((ROOT / "cassettes").glob("*.yaml")):
        with open(path, "rb") as stream:
            fast = list(_subset_documents(stream))
        assert same_documents(fast, list(_libyaml_documents(path.read_bytes()))), path


# Lines a person might write by hand: inside and outside the subset, valid YAML or not.
HAND_WRITTEN = [
    "key: value", "key: value # a comment", "key: 'single'", 'key: "double"', 'key: "a\\/b"', 'key: "\\x41"',
    'key: "\\ud83d\\ude00"', 'key: "\\u00e9"', "key: [1, 2]", "key: {a: 1}", "key: &anchor 1", "key: *anchor",
    "key: !!str 1", "key: >", "key: |", "key: |-", "key: |+", "key:", "key:  spaced", "  nested: 1", "    deeper: 2",
    "- item", "- key: value", "  - item", "-", "- - x", "? complex", ": value", "key:value", "\tkey: tab",
    "key: yes", "key: 2023-08-16", "key: 1_000", "key: 0x1F", "key: .inf", "key: -1", "key: -", "key: ~",
    '"quoted key": 1', '"q": x', "key: null", "<<: {a: 1}", "%YAML 1.1", "# comment", "", "   ", "  text line",
    "  #comment inside", "key: a\\\\b", "dup: 1", "dup: 2", "key: {}", "key: []", "- {}", "- []", "key: 'it''s'",
    "key: \"unterminated", "  continued\"", "key: ---", "key: ...", "email: a@b.c", "url: http://x/y?z=1",
]


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.lists(st.sampled_from(HAND_WRITTEN), min_size=1, max_size=8), min_size=1, max_size=3),
       st.booleans())
def test_hand_written_yaml_reads_the_same_with_or_without_the_line_reader(documents, ends):
    text = "".join("---\n" + "\n".join(lines) + ("\n...\n" if ends else "\n") for lines in documents)
    mine, libyaml = outcome(read_documents(text)), outcome(_libyaml_documents(text))
    assert same_documents(mine[0], libyaml[0]) and mine[1:] == libyaml[1:]


def test_a_document_outside_the_subset_is_read_by_libyaml_from_there_on(tmp_path):
    path = tmp_path / "mixed.yaml"
    path.write_text("---\na: 1\n...\n---\nb: [1, 2]  # flow, with a comment\n...\n---\nc: 3\n...\n")
    with pytest.raises(_Unsupported):
        list(_subset_documents(path.read_text().splitlines(keepends=True)))
    with open(path, "rb") as stream:
        assert list(read_documents(stream)) == [(2, {"a": 1}), (5, {"b": [1, 2]}), (8, {"c": 3})]


def test_an_error_after_documents_in_the_subset_names_its_own_line():
    text = "---\na: 1\n...\n---\nb: 2\nb: 3\n...\n"
    read, error, line = outcome(read_documents(text))
    assert read == [(2, {"a": 1})] and error == "ReaderError" and line == 5  # 0-based: the 6th line


MUTATIONS = st.lists(st.tuples(st.sampled_from(["indent", "dedent", "value", "insert", "delete", "blank"]),
                               st.integers(0, 200), st.sampled_from(HAND_WRITTEN)), min_size=1, max_size=3)


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.dictionaries(st.sampled_from(TRICKY) | st.text(max_size=5), json_data, min_size=1, max_size=5),
                min_size=1, max_size=3), MUTATIONS)
def test_emitted_yaml_edited_by_hand_reads_the_same_with_or_without_the_line_reader(documents, mutations):
    lines = "".join(dump_document(data) for data in documents).split("\n")
    for kind, position, fragment in mutations:
        at = position % len(lines)
        if kind == "indent":
            lines[at] = " " + lines[at]
        elif kind == "dedent":
            lines[at] = lines[at][1:] if lines[at].startswith(" ") else lines[at]
        elif kind == "value":
            indent = len(lines[at]) - len(lines[at].lstrip(" "))
            head = lines[at].split(": ", 1)[0] if ": " in lines[at] else lines[at].strip()
            lines[at] = " " * indent + (f"{head.strip()}: {fragment.split(': ', 1)[-1]}" if head else fragment)
        elif kind == "insert":
            lines.insert(at, " " * (len(lines[at]) - len(lines[at].lstrip(" "))) + fragment)
        elif kind == "delete":
            del lines[at]
        else:
            lines.insert(at, "")
    text = "\n".join(lines)
    mine, libyaml = outcome(read_documents(text)), outcome(_libyaml_documents(text))
    assert same_documents(mine[0], libyaml[0]) and mine[1:] == libyaml[1:]
