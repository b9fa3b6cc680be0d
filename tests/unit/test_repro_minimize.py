"""run --repro-dir's cutting down: ddmin over a sequence, and which interactions a subset must keep together."""

from __future__ import annotations

from conformance.cassette.model import Body, Interaction, Request, Response
from conformance.replay.repro import REPRO_REPLAYS, StopMinimizing, closed, ddmin, dependencies
from conformance.stripe import STRIPE


def counting(needed: set[int]):
    calls: list[list[int]] = []

    def shows(subset: list[int]) -> bool:
        calls.append(subset)
        return needed <= set(subset)

    return shows, calls


def test_ddmin_finds_exactly_the_items_the_failure_needs_in_order():
    shows, calls = counting({3, 11, 17})
    kept, stopped = ddmin(list(range(1, 21)), shows)
    assert (kept, stopped) == ([3, 11, 17], None)
    assert len({tuple(c) for c in calls}) < REPRO_REPLAYS  # distinct subsets (a replay each): within the cap


def test_ddmin_of_a_failure_that_needs_everything_keeps_everything():
    shows, _ = counting(set(range(1, 9)))
    assert ddmin(list(range(1, 9)), shows) == (list(range(1, 9)), None)


def test_ddmin_stopped_returns_the_smallest_found_so_far_and_why():
    shows, _ = counting({2, 19})
    budget = iter(range(8))

    def bounded(subset: list[int]) -> bool:
        if next(budget, None) is None:
            raise StopMinimizing("stopped at the cap of 8 replays")
        return shows(subset)

    kept, stopped = ddmin(list(range(1, 21)), bounded)
    assert stopped == "stopped at the cap of 8 replays"
    assert {2, 19} <= set(kept) and len(kept) < 20


def exchange(index: int, method: str, path: str, answer: dict, form: dict | None = None) -> Interaction:
    body = Body("form", form) if form is not None else None
    return Interaction(Request(method, path, body=body), Response(200, body=Body("json", answer)), index=index)


CUS, CARD1, CARD2 = "cus_" + "A" * 14, "card_" + "B" * 14, "card_" + "C" * 14
SESSION = [
    exchange(1, "POST", "/v1/customers", {"id": CUS, "object": "customer"}),
    exchange(2, "POST", f"/v1/customers/{CUS}/sources", {"id": CARD1, "object": "card", "customer": CUS},
             {"source": "tok_visa"}),
    exchange(3, "POST", f"/v1/customers/{CUS}/sources", {"id": CARD2, "object": "card", "customer": CUS},
             {"source": "tok_visa"}),
    exchange(4, "POST", f"/v1/customers/{CUS}/sources/{CARD1}", {"id": CARD1, "object": "card", "name": "Jenny"},
             {"name": "Jenny"}),
    exchange(5, "GET", f"/v1/customers/{CUS}/cards/{CARD1}", {"id": CARD1, "object": "card", "name": "Jenny"}),
    exchange(6, "DELETE", f"/v1/customers/{CUS}/sources/{CARD2}", {"id": CARD2, "object": "card", "deleted": True}),
    exchange(7, "GET", f"/v1/customers/{CUS}/cards",
             {"object": "list", "url": f"/v1/customers/{CUS}/cards", "data": [{"id": CARD1, "object": "card"}]}),
]


def test_a_subset_keeps_what_minted_the_ids_it_sends():
    needs = dependencies(SESSION, STRIPE.ids)
    assert closed([6], needs) == (1, 3, 6)  # the delete sends the customer's and the 2nd card's ids


def test_a_subset_keeps_every_earlier_change_to_what_an_answer_shows():
    needs = dependencies(SESSION, STRIPE.ids)
    assert closed([5], needs) == (1, 2, 4, 5)  # the card's name was set by #4: a faithful target shows it only then
    # a list shows its owner's state: every card attached to or deleted from the customer before it
    assert closed([7], needs) == (1, 2, 3, 4, 6, 7)


def test_the_command_line_s_defaults_are_the_engine_s():
    from conformance.cli import run as cli_run
    from conformance.replay import repro

    assert (cli_run.REPRO_REPLAYS, cli_run.REPRO_BUDGET) == (repro.REPRO_REPLAYS, repro.REPRO_BUDGET)


def _result(*interactions):
    from conformance.findings import CassetteResult, RunResult

    return RunResult("http://127.0.0.1:1", [CassetteResult("cassettes/x.yaml", "x", list(interactions))])


def _interaction(index: int, endpoint: str, *findings):
    from conformance.findings import InteractionResult

    interaction = InteractionResult(index, endpoint, "GET", f"/v1/x/{index}", 404)
    interaction.findings = list(findings)
    return interaction


def _status(actual: int, consequence_of: int | None = None):
    from conformance.findings import Finding

    return Finding("status", "", f"status: expected 404, got {actual}", 404, actual, consequence_of=consequence_of)


def _trials(seen_in):
    from types import SimpleNamespace

    from conformance.replay.repro import _signature, _Trials
    from conformance.report.causes import root_causes

    (cause,) = root_causes(seen_in)
    session = SimpleNamespace(options=SimpleNamespace(profile=STRIPE))
    return _Trials(session, "cassettes/x.yaml", 5, cause.key, {}, {}, _signature(seen_in))


def test_a_candidate_shows_the_cause_only_as_its_own_failure_at_its_interaction_and_nothing_new():
    run = _result(_interaction(2, "customers.create"), _interaction(5, "cards.retrieve", _status(400)))
    trials = _trials(run)
    shows = _result(_interaction(5, "cards.retrieve", _status(400)))
    assert trials._judge((5,), shows)
    # the same cause, but also a failure the run did not see at a kept interaction: another story
    other = _result(_interaction(2, "customers.create", _status(500)), _interaction(5, "cards.retrieve", _status(400)))
    assert not trials._judge((2, 5), other)
    # only as a consequence of an earlier failure (an id it left unbound): not the cause
    follows = _result(_interaction(5, "cards.retrieve", _status(400, consequence_of=2)))
    assert not trials._judge((5,), follows)
    # another answer there is another cause
    assert not trials._judge((5,), _result(_interaction(5, "cards.retrieve", _status(401))))


def test_a_request_on_a_deleted_object_keeps_its_delete():
    """An update of a card deleted earlier answers 404 on a faithful target only with the delete kept (explore's
    deleted-card sequences were cut to an update a faithful target rightly applied)."""
    gone = Interaction(Request("POST", f"/v1/customers/{CUS}/sources/{CARD2}", body=Body("form", {"name": "x"})),
                       Response(404, body=Body("json", {"error": {"type": "invalid_request_error"}})), index=8)
    needs = dependencies([*SESSION, gone], STRIPE.ids)
    assert closed([8], needs) == (1, 3, 6, 8)
