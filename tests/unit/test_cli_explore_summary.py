"""explore's last line counts problems and the distinct rules they break: a rule told once per route
(route.missing) is several problems of one rule, never several rules."""

from __future__ import annotations

from conformance.cli.explore import _summary


def test_problems_of_one_rule_on_several_routes_count_the_rule_once():
    assert _summary(18, 15) == "18 problems (15 rules broken) — deviations found"
    assert _summary(1, 1) == "1 problem (1 rule broken) — deviations found"


def test_nothing_found_conforms():
    assert _summary(0, 0) == "0 problems — conforms"
