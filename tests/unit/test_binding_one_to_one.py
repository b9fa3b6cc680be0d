"""``IdBindings.learn(one_to_one=True)``: explore's way back from a candidate's ids to a reference's binds no
actual id twice."""

from __future__ import annotations

from conformance.replay.binding import IdBindings
from conformance.stripe import STRIPE


def test_one_to_one_learning_binds_no_second_id_to_an_actual_id_taken_anywhere():
    """The way back from a candidate's ids to a reference's: the candidate answering one constant id where the
    reference made two objects binds the first only. Without one_to_one, the second object (outside a list)
    binds to the same id too."""
    first = ({"id": "card_Candidate0001"}, {"id": "card_Reference0001"})
    second = ({"id": "card_Candidate0002", "customer": "cus_Candidate0001"},
              {"id": "card_Reference0001", "customer": "cus_Reference0001"})
    back = IdBindings(STRIPE.ids)
    back.learn(*first, one_to_one=True)
    back.learn(*second, one_to_one=True)
    assert back.actual == {"card_Candidate0001": "card_Reference0001", "cus_Candidate0001": "cus_Reference0001"}
    assert back.text("/v1/x/card_Candidate0002") == "/v1/x/card_Candidate0002"  # stays the candidate's own

    loose = IdBindings(STRIPE.ids)
    loose.learn(*first)
    loose.learn(*second)
    assert loose.actual["card_Candidate0002"] == "card_Reference0001"


def test_one_to_one_holds_inside_one_answer_and_for_ids_of_no_known_kind():
    back = IdBindings(STRIPE.ids)
    back.learn({"a": {"id": "card_Candidate0001"}, "b": {"id": "card_Candidate0002"}},
               {"a": {"id": "card_Reference0001"}, "b": {"id": "card_Reference0001"}}, one_to_one=True)
    assert back.actual == {"card_Candidate0001": "card_Reference0001"}
    back.learn({"id": "b1c2d3e4-f5a6"}, {"id": "card_Reference0001"}, one_to_one=True)
    assert "b1c2d3e4-f5a6" not in back.actual
