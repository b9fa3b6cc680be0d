"""A card's ``exp_year`` is four digits (the API reference's card object: "Four-digit number representing the
card's expiration year"): ``30`` for 2030 is a finding, whatever the recording says."""

from __future__ import annotations

from typing import Any

from conformance.api_profile import RouteMatch, RuleState
from conformance.findings import Finding
from conformance.paths import display_path
from conformance.rules import Rule, Severity
from conformance.stripe.invariants import cards_in

__all__ = ["RULES", "CHECKS", "check_exp_year"]

EXP_YEAR = Rule("card.exp_year", Severity.FAILURE, "a card's `exp_year` is four digits (`2030`, not `30`)",
                "Stripe API reference, Cards: The card object (exp_year: \"Four-digit number representing the "
                "card's expiration year\")")


def check_exp_year(route: RouteMatch | None, method: str, path: str, query: dict[str, Any], status: int, body: Any,
                   state: RuleState) -> list[Finding]:
    """Every card an answer holds with an integer ``exp_year`` (another type is ``invariant.card``'s) is judged."""
    if status >= 300:
        return []
    findings = []
    for card, parts in cards_in(body, [], state=state):  # the card rules' walk of this answer, when they made one
        year = card.get("exp_year")
        if not isinstance(year, int) or isinstance(year, bool):
            continue
        state.judged.add(EXP_YEAR.id)
        if not 1000 <= year <= 9999:
            where = display_path([*parts, "exp_year"])
            findings.append(Finding(EXP_YEAR.id, where, f"{where}: expected a four-digit year, got {year}",
                                    "four digits", year))
    return findings


RULES = (EXP_YEAR,)
CHECKS = (check_exp_year,)
