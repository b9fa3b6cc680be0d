"""Issue 39: what the retry rules read of lists and of the probe's own parameter — a card a faithful-looking repeat
added once more, said once; the probe's metadata key taken out of answers, and found where the undo left it."""

from __future__ import annotations

from conformance.api_profile import RetryExchange
from conformance.rules import Severity
from conformance.stripe import STRIPE
from conformance.stripe.idempotency import IDEMPOTENCY

HEADERS = STRIPE.headers
CARD = {"id": "card_1Nv0aaaaaaaa", "object": "card", "metadata": {"order": "1"}}


def _exchange(index: int, method: str, path: str, key: str, body: object, content: bytes = b"source=tok_visa"):
    return RetryExchange(index, method, path, key, content if method == "POST" else b"", 200, body, {}, {})


def _listing(*ids: str) -> dict[str, object]:
    return {"object": "list", "data": [{"id": i, "object": "card"} for i in ids], "has_more": False}


def test_a_card_a_repeat_answered_then_listed_twice_is_said_once_under_the_replay_rule():
    state = IDEMPOTENCY.new_state()
    first = IDEMPOTENCY.check(_exchange(1, "POST", "/v1/customers/cus_1/sources", "k", CARD), state, HEADERS)
    again = IDEMPOTENCY.check(_exchange(2, "POST", "/v1/customers/cus_1/sources", "k", CARD), state, HEADERS)
    assert [f.rule for f in first + again if f.severity == Severity.FAILURE] == []
    listed = IDEMPOTENCY.check(_exchange(3, "GET", "/v1/customers/cus_1/cards", "", _listing(CARD["id"], CARD["id"])),
                               state, HEADERS)
    (finding,) = listed
    assert finding.rule == "idempotency.replay" and finding.actual == 2
    assert finding.message.startswith(f"executed again: the list holds {CARD['id']} twice — interaction #2")
    assert state.duplicates == {CARD["id"]: 3}  # later answers showing it follow from #3
    again_listed = _exchange(4, "GET", "/v1/customers/cus_1", "", {"sources": _listing(CARD["id"], CARD["id"])})
    assert IDEMPOTENCY.check(again_listed, state, HEADERS) == []  # said once


def test_a_list_holding_an_id_twice_without_a_retry_is_not_the_retry_rules_business():
    state = IDEMPOTENCY.new_state()
    listed = _exchange(1, "GET", "/v1/customers/cus_1/cards", "", _listing(CARD["id"], CARD["id"]))
    assert IDEMPOTENCY.check(listed, state, HEADERS) == []


def test_the_probes_own_metadata_key_is_taken_out_of_every_answer_and_found_where_left():
    answer = {"id": "cus_1", "metadata": {"conformance_probe": "", "order": "1"},
              "sources": {"object": "list", "data": [{"id": "card_1", "metadata": {"conformance_probe": "changed"}}]}}
    assert IDEMPOTENCY.scrub(answer) == {"id": "cus_1", "metadata": {"order": "1"},
                                         "sources": {"object": "list", "data": [{"id": "card_1", "metadata": {}}]}}
    assert answer["metadata"] == {"conformance_probe": "", "order": "1"}  # the answer itself is left as it was
    assert IDEMPOTENCY.leftover(answer) == "metadata.conformance_probe"
    assert IDEMPOTENCY.leftover(IDEMPOTENCY.scrub(answer)) is None
    assert IDEMPOTENCY.scrub(CARD) == CARD
