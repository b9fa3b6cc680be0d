"""A cassette's first read: the strict reader's quick path for text and null values keeps every rule.

The reader takes a mapping's text keys and text or null values without a call per node (the bulk of a cassette);
an alias among them, a key of another type, a value of another type still meets the rules of ``_build``.
"""

from __future__ import annotations

import pytest
import yaml

from conformance.cassette.reader import ReaderError, read_documents


def _error(text: str) -> ReaderError:
    with pytest.raises(ReaderError) as caught:
        list(read_documents(text.encode()))
    return caught.value


@pytest.mark.parametrize(("text", "problem", "line"), [
    ("a: 1\nb: &x v\nc: *x\n", "aliases", 3),  # a text value met twice
    ("a: 1\nb: &x ~\nc: *x\n", "aliases", 3),  # a null value met twice
    ("b: &x v\n*x : 1\n", "aliases", 1),  # a text value met again as a key (at the anchor: an alias has no mark)
    ("&k a: 1\nb: *k\n", "aliases", 2),  # a key met again as a value
    ("a: 1\n1: x\n", "keys are text", 2),
    ("a: 1\nnull: x\n", "keys are text", 2),
    ("a: 1\nb: x\na: ~\n", "duplicate key 'a'", 3),
    ("a: !!str 1\nb: !custom x\n", "tags such as", 2),
])
def test_the_quick_path_keeps_the_rules_at_their_lines(text, problem, line):
    error = _error(text)
    assert problem in str(error)
    assert error.problem_mark is not None and error.problem_mark.line + 1 == line


def test_the_quick_path_reads_what_yaml_reads():
    text = "a: text\nb: ~\nc: null\nd: ''\ne: 'null'\nf: 2023-08-16\ng: 1\nh: [x, ~, {i: ~}]\nj: !!str 7\nk: true\n"
    ((_, data),) = read_documents(text.encode())
    assert data == {**yaml.load(text, Loader=yaml.CSafeLoader), "f": "2023-08-16"}  # dates stay text
    assert data["b"] is None and data["c"] is None and data["e"] == "null" and data["j"] == "7"
