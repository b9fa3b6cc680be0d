"""``IdBindings.bind`` (a binding a caller knows, no answer to learn it from) and ``learn(one_to_one=True)``;
explore's cassette names a stand-in through ``bind``, as a replay substitutes bound ids."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from conformance.explore import Failure, Step, write_failure
from conformance.redaction import Redactor
from conformance.replay.binding import IdBindings
from conformance.stripe import STRIPE

STAND_IN = "card_000000000000000000000001"


@pytest.mark.parametrize("handle", ["acct_1032D82eZvKYlo2C", "acct_1", "x9", "8c7e3d2a-6f0b-4f55-9d43-0d3c1f2b7a11"])
def test_a_bound_id_of_any_kind_and_length_is_replaced_as_a_whole_id_only(handle):
    """Known kind, a known prefix too short for the scheme, a short word, a UUID: each replaced wherever it
    stands whole — a path segment, a value, a key — and never inside a longer id or word (an ``_`` may follow
    it, as a client secret continues its id)."""
    names = IdBindings(STRIPE.ids)
    names.bind(handle, STAND_IN)
    assert names.renames
    assert names.text(f"/v1/customers/cus_A/sources/{handle}?expand[]=x") == \
        f"/v1/customers/cus_A/sources/{STAND_IN}?expand[]=x"
    body = {"id": handle, "list": [handle, f"{handle}9", f"pre{handle}"], handle: 1}
    assert names.substitute(body) == {"id": STAND_IN, "list": [STAND_IN, f"{handle}9", f"pre{handle}"],
                                      STAND_IN: 1}
    assert names.substitute({"other": "acct_OtherAccount01"}) == {"other": "acct_OtherAccount01"}


def test_bind_refuses_what_no_substitution_carries_and_a_second_name_for_one_id():
    names = IdBindings(STRIPE.ids)
    for odd in ('acct "quoted"', "has space", "é_accent", "", "x" * 256):
        with pytest.raises(ValueError, match="no id a binding can substitute"):
            names.bind(odd, STAND_IN)
    assert not names.renames and names.actual == {}
    names.bind("acct_1032D82eZvKYlo2C", STAND_IN)
    names.bind("acct_1032D82eZvKYlo2C", STAND_IN)  # the same binding again: nothing changes
    with pytest.raises(ValueError, match="one to one"):
        names.bind("acct_1032D82eZvKYlo2C", "card_000000000000000000000002")
    assert names.actual == {"acct_1032D82eZvKYlo2C": STAND_IN}


def test_explore_s_cassette_names_a_stand_in_as_the_card_it_should_have_been(tmp_path: Path):
    """The attach answered an account (stand-in ``acct_…``): every later path, form and body of the cassette
    names it by the stand-in card id, and an id that merely begins like it is left alone."""
    handle = "acct_1032D82eZvKYlo2C"
    card = {"id": STAND_IN, "object": "card", "customer": "cus_Customer00001", "metadata": {}}
    steps = [
        Step("POST", "/v1/customers/cus_Customer00001/sources", {"source": "tok_visa"}, 200,
             {"id": handle, "object": "account"}, b"{}", [], expected_status=200, expected_body=card,
             alias=(handle, STAND_IN)),
        Step("POST", f"/v1/customers/cus_Customer00001/sources/{handle}", {"metadata": {"note": handle}}, 200,
             {"id": handle, "object": "account", "other": f"{handle}x"}, b"{}", []),
    ]
    path = write_failure(Failure("object", "attaching tok_visa: answers an account", steps, seed=3), tmp_path,
                         target="http://127.0.0.1", api_key=STRIPE.default_api_key, profile=STRIPE,
                         redactor=Redactor(cards=STRIPE.cards))
    first, second = list(yaml.safe_load_all(path.read_text()))[1:]
    assert first["response"]["json"]["id"] == STAND_IN
    assert second["request"]["path"] == f"/v1/customers/cus_Customer00001/sources/{STAND_IN}"
    assert second["response"]["json"] == {"id": STAND_IN, "object": "account", "other": f"{handle}x"}
    assert handle not in json.dumps(second["request"]).replace(f"{handle}x", "")
