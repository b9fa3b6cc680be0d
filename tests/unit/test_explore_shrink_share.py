"""explore keeps the last share of its budget for shrinking: no round of sequences starts once less is left, so
a failure found by the last round is shrunk, not written as it stood when the budget ran out (localstripe's
`card.deleted_unchangeable` was once written with 9 interactions so). The clock is explore's own, stepped by the
test: nothing here is timed."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from conformance.explore import ExploreOptions, explore, runner
from conformance.stripe import STRIPE

from ..stripe_fake import FakeStripe


@pytest.mark.parametrize(("round_takes", "rounds"), [
    (8.6, 1),  # 1.4 s of 10 left after the first round: less than the 15% kept for shrinking
    (4.0, 3),  # 6 s, then 2 s left after two: a third starts (at 8 s), a fourth would not
])
def test_no_round_starts_in_the_share_of_the_budget_kept_for_shrinking(round_takes, rounds, monkeypatch):
    clock = [0.0]
    started: list[int] = []

    def one_round(options: Any, recorder: Any, examples: int, seed: int) -> None:
        started.append(seed)
        clock[0] += round_takes

    monkeypatch.setattr(runner, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    monkeypatch.setattr(runner, "_round", one_round)
    with FakeStripe() as url:
        explore(ExploreOptions(url, STRIPE.default_api_key, STRIPE.explorer(), seed=1, budget=10.0))
    assert len(started) == rounds
