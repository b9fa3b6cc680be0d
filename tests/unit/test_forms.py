import pytest

from conformance import forms


def roundtrip(raw):
    return forms.decode(forms.parse_pairs(raw))


def test_bracket_notation_nests_metadata_and_addresses():
    data = roundtrip("name=Jenny+Rosen&metadata[order_id]=6735&card[address][city]=Paris")
    assert data == {"name": "Jenny Rosen", "metadata": {"order_id": "6735"}, "card": {"address": {"city": "Paris"}}}


def test_values_stay_text_and_blank_values_are_kept():
    data = roundtrip("exp_month=12&metadata[note]=&metadata=")
    # "metadata[note]=" then "metadata=" is ambiguous (a key both container and value)
    assert data is None
    assert roundtrip("exp_month=12&metadata[note]=") == {"exp_month": "12", "metadata": {"note": ""}}
    assert roundtrip("metadata=") == {"metadata": ""}


def test_empty_brackets_and_indexes_both_give_lists():
    assert roundtrip("expand[]=a&expand[]=b") == {"expand": ["a", "b"]}
    assert roundtrip("expand[0]=a&expand[1]=b") == {"expand": ["a", "b"]}
    assert roundtrip("items[0][price]=p1&items[0][qty]=2&items[1][price]=p2") == {
        "items": [{"price": "p1", "qty": "2"}, {"price": "p2"}]
    }


def test_sparse_indexes_stay_a_mapping_so_the_wire_form_is_kept():
    data = roundtrip("expand[1]=b")
    assert data == {"expand": {"1": "b"}}
    assert forms.encode(data) == "expand%5B1%5D=b"


@pytest.mark.parametrize("raw", ["a=1&a=2", "a=1&a[b]=2", "a[b]=2&a=1"])
def test_ambiguous_forms_are_not_decoded(raw):
    assert roundtrip(raw) is None


def test_encode_uses_indexed_lists_like_the_sdks_and_keeps_order():
    pairs = forms.encode_pairs({"b": "1", "expand": ["x", "y"], "metadata": {"k": "v"}})
    assert pairs == [("b", "1"), ("expand[0]", "x"), ("expand[1]", "y"), ("metadata[k]", "v")]


def test_keys_that_are_not_clean_bracket_notation_are_kept_whole():
    assert roundtrip("a[b=1") == {"a[b": "1"}
    assert roundtrip("a[b]x[c]=1") == {"a[b]x[c]": "1"}
    assert forms.encode(roundtrip("a[b]x[c]=1")) == "a%5Bb%5Dx%5Bc%5D=1"


from urllib.parse import parse_qsl  # noqa: E402

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from ..conftest import examples  # noqa: E402


@examples(ci=600, deep=10000)
@given(st.lists(st.sampled_from(list("ab=&+%[]é 0F2;") + ["%2", "%C3%A9", "%ZZ", "%FF", "&&", "=="])).map("".join))
def test_parse_pairs_splits_like_the_standard_library(raw):
    try:
        expected = parse_qsl(raw, keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        with pytest.raises(UnicodeDecodeError):
            forms.parse_pairs(raw)
        return
    assert forms.parse_pairs(raw) == expected
