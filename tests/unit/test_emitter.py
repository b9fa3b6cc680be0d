"""The fast emitter must write YAML that reads back as exactly the data it was given."""

import math
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from conformance.cassette import CassetteWriter
from conformance.cassette import load as load_cassette
from conformance.cassette.emitter import dump_document
from conformance.cassette.reader import read_documents

from ..conftest import examples

TRICKY = [
    "", " ", "yes", "No", "on", "null", "~", "true", "1", "-1", "0x1F", "1e3", "1_000", "12:30", ".5", ".inf",
    "2023-08-16", "2023-08-16 12:00:00", "<<", "=", "- a", "? a", ": a", "a: b", "a #b", "a:", "#x", "&a", "*a",
    "!tag", "|", ">", "'q'", '"q"', "%x", "@x", "`x", "trailing ", " leading", "two\nlines", "end\n", "end\n\n",
    "\n", "tab\there", "cr\r\n", "Zürich", "\u2028", "\x85", "\ufeff", "\x00", "\x7f", "emoji 🙂", "[x]", "{x}",
    "a,b", "<generated>", "[REDACTED:sk_test]", "/v1/customers/cus_1/cards", "https://example.com/x?y=1",
    "  indented\nblock", "x\n  indented second", "ends with space \nx", "line\n#comment",
    "k" * 1200, "a" + "[b]" * 400, "\x00" * 200,  # keys too long for YAML's one-line form
]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(
    alphabet=st.characters(exclude_categories=("Cs",))
) | st.sampled_from(TRICKY)
json_data = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=8) | st.sampled_from(TRICKY),
        children, max_size=4),
    max_leaves=20,
)


def load(text):
    ((_, data),) = read_documents(text)
    return data


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return a == b or (math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b if not isinstance(a, (dict, list)) else (
        isinstance(b, type(a)) and len(a) == len(b) and (
            all(k1 == k2 and same(v1, v2) for (k1, v1), (k2, v2) in zip(a.items(), b.items()))
            if isinstance(a, dict) else all(same(x, y) for x, y in zip(a, b))))


def test_tricky_strings_read_back_unchanged():
    data = {value: value for value in TRICKY}
    data["list"] = TRICKY
    assert same(load(dump_document(data)), data)


@examples(ci=150, deep=2500)
@given(st.dictionaries(st.text(max_size=10, alphabet=st.characters(exclude_categories=("Cs",))), json_data, max_size=6))
def test_any_json_shaped_data_reads_back_unchanged(data):
    text = dump_document(data)
    assert same(load(text), data)
    assert same(yaml.safe_load(text), data)  # other YAML tools read cassettes alike


def test_layout_matches_pyyaml_block_style():
    data = {"a": {"b": [1, {"c": "d", "e": [2, 3]}], "f": {}}, "g": []}
    assert dump_document(data) == "---\n" + yaml.safe_dump(data, sort_keys=False) + "...\n"


def test_multiline_text_is_a_literal_block():
    assert dump_document({"note": "two\nlines"}) == "---\nnote: |-\n  two\n  lines\n...\n"


@pytest.mark.parametrize("cassette", sorted((Path(__file__).parents[2] / "cassettes").glob("*.yaml")),
                         ids=lambda path: path.name)
def test_committed_cassettes_round_trip_byte_identically(cassette, tmp_path):
    """Read into the model and written back by the recorder's writer: not one byte changes."""
    loaded = load_cassette(cassette)
    copy = tmp_path / cassette.name
    with CassetteWriter(copy, loaded.name, loaded.meta) as writer:
        for interaction in loaded.interactions:
            writer.append(interaction)
    assert copy.read_bytes() == cassette.read_bytes()
