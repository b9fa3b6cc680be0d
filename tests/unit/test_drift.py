"""conformance diff's judgement: what looks volatile and what is a consistent change, grades, pairing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance.cassette import Body, Cassette, Interaction, Request, Response
from conformance.checks.compare import CompareRules
from conformance.checks.drift import NothingInCommon, drift_between, grade_reached
from conformance.replay.binding import IdBindings
from conformance.stripe import STRIPE


def cassette(name: str, bodies: list[dict[str, Any]], api_version: str = "2024-06-20") -> Cassette:
    interactions = [Interaction(Request("GET", f"/v1/customers/{body['id']}"),
                                Response(200, {}, Body("json", body)), "customers.retrieve", index)
                    for index, body in enumerate(bodies, 1)]
    for interaction in interactions:
        interaction.endpoint = STRIPE.label(interaction.request.method, interaction.request.path, "")
    return Cassette(Path(f"{name}.yaml"), "session", interactions, {"api_version": api_version})


def customer(number: int, **fields: Any) -> dict[str, Any]:
    return {"id": f"cus_{number:014d}", "object": "customer", "created": 1_700_000_000 + number, **fields}


def drift(old: Cassette, new: Cassette):
    return drift_between(old, new, STRIPE, CompareRules(), IdBindings(STRIPE.ids))


def test_a_value_differing_in_every_pair_and_from_pair_to_pair_looks_volatile_and_is_still_reported():
    old = cassette("old", [customer(n, nonce=f"a{n}") for n in range(1, 4)])
    new = cassette("new", [customer(n + 10, nonce=f"b{n}") for n in range(1, 4)])
    found = drift(old, new)
    assert [(c.grade, c.kind, c.path, c.interactions) for c in found.changes] == [
        ("behaviour", "value changed", "nonce", [1, 2, 3])]
    (volatile,) = found.volatile
    assert (volatile.path, volatile.pairs, volatile.entry) == ("nonce", 3, "compare: {loose: [nonce]}")


def test_a_consistent_change_is_drift_not_volatility():
    old = cassette("old", [customer(n, currency="usd") for n in range(1, 4)])
    new = cassette("new", [customer(n + 10, currency="eur") for n in range(1, 4)])
    found = drift(old, new)
    assert [c.path for c in found.changes] == ["currency"] and found.volatile == []


def test_a_value_differing_in_some_pairs_only_is_not_called_volatile():
    old = cassette("old", [customer(n, nonce="same" if n < 3 else f"a{n}") for n in range(1, 4)])
    new = cassette("new", [customer(n + 10, nonce="same" if n < 3 else f"b{n}") for n in range(1, 4)])
    assert drift(old, new).volatile == []


def test_grades_and_fail_on():
    old = cassette("old", [customer(1, email="a@example.com", balance=0, phone=None)])
    new = cassette("new", [customer(2, email="a@example.com", balance="0", name="x")])
    found = drift(old, new)
    assert sorted((c.grade, c.kind, c.path) for c in found.changes) == [
        ("additive", "key added", "name"), ("breaking", "key removed", "phone"),
        ("breaking", "type changed", "balance")]
    only_added = drift(cassette("old", [customer(1)]), cassette("new", [customer(2, name="x")]))
    assert grade_reached([only_added], "additive") and not grade_reached([only_added], "behaviour")


def test_a_changed_api_version_is_named():
    found = drift(cassette("old", [customer(1)]), cassette("new", [customer(2)], api_version="2025-01-27"))
    assert [(c.grade, c.kind, c.old, c.new) for c in found.changes] == [
        ("behaviour", "api_version changed", "2024-06-20", "2025-01-27")]


def test_requests_only_one_recording_makes_are_added_or_removed_and_no_request_in_common_is_refused():
    old = cassette("old", [customer(1)])
    new = cassette("new", [customer(2)])
    new.interactions.append(Interaction(Request("DELETE", "/v1/customers/cus_00000000000002"),
                                        Response(200, {}, Body("json", {"id": "cus_00000000000002", "deleted": True})),
                                        "customers.delete", 2))
    found = drift(old, new)
    assert [(c.grade, c.kind, c.endpoint) for c in found.changes] == [("", "request added", "customers.delete")]
    balance = Cassette(Path("b.yaml"), "b", [Interaction(Request("GET", "/v1/balance"), Response(200), "other", 1)])
    with pytest.raises(NothingInCommon, match="share no request"):
        drift(old, balance)
