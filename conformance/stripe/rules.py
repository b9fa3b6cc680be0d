"""Stripe's documented rules, as the :data:`~conformance.stripe.STRIPE` profile brings them: one rule set.

What the documentation promises of a single answer (``invariants``: cards, deletes,
lists, errors), what only sequences show (``sequence_rules``, judged by ``explore``;
by ``run`` too where its answers show them; each rule with its traits), the retry contract's (``idempotency``), then
one module per further rule: every ``rules_*.py`` beside this one defines ``RULES``
(its :class:`~conformance.rules.Rule`, with its traits) and ``CHECKS`` (the
documented checks that judge it, each taking the rule set's state). A new rule is
one such file and its row in docs/running.md's rule table; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

from conformance.api_profile import RuleSet
from conformance.rules import Rule
from conformance.stripe.idempotency import IDEMPOTENCY_RULES
from conformance.stripe.invariants import INVARIANT_RULES, InvariantState, check_cards
from conformance.stripe.sequence_rules import SEQUENCE_RULES, check_sequences

__all__ = ["CARD_RULES", "more_rules"]

# A stateless fake answers any card or customer id with a fixture, and a 404's id with one.
_PRESET_PATTERNS = (("stateless", ("value:card", "value:customer", "type:card", "type:customer")),)


def more_rules(folder: Path = Path(__file__).parent, package: str = __package__ or "conformance.stripe") -> RuleSet:
    """The rule set of every ``rules_*`` module in ``folder`` (``package``), by name: each its ``RULES`` and
    ``CHECKS``."""
    found = RuleSet()
    for module in sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if m.name.startswith("rules_")):
        loaded = importlib.import_module(f"{package}.{module}")
        rules, checks = getattr(loaded, "RULES", None), getattr(loaded, "CHECKS", ())
        if not rules or not all(isinstance(r, Rule) for r in rules):
            raise TypeError(f"{package}.{module} defines no RULES (a tuple of Rule): a rules_*.py module brings its "
                            "rules and the CHECKS that judge them")
        found = found.extended(RuleSet(tuple(rules), tuple(checks)))
    return found


# the sequence rules' check sees an answer before the card rules note it (a delete's card is deleted after it)
CARD_RULES = RuleSet(INVARIANT_RULES, (check_sequences, check_cards), InvariantState, _PRESET_PATTERNS) \
    .extended(RuleSet(SEQUENCE_RULES)) \
    .extended(RuleSet(IDEMPOTENCY_RULES)) \
    .extended(more_rules())
