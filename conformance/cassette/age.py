"""How old a cassette's answers are: the interactions recorded longer ago than a limit, and those of no known age.

A served answer is only as true as the day it was recorded; ``check --max-age`` and
the pytest plugin's ``--conformance-max-age`` say which answers are older than a
team accepts, from each interaction's ``recorded_at``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from conformance.cassette.model import Interaction, recorded_now

__all__ = ["Ages", "judge_ages", "REFRESH_HINT"]

REFRESH_HINT = "re-record it with `conformance record --refresh` (docs: keeping cassettes fresh)"


@dataclass
class Ages:
    """The interactions of one cassette judged against a maximum age."""

    max_age: float  # days
    now: datetime
    older: list[Interaction] = field(default_factory=list)  # recorded before now - max_age
    undated: list[Interaction] = field(default_factory=list)  # no recorded_at: written before it was kept
    total: int = 0

    @property
    def oldest(self) -> Interaction | None:
        return min(self.older, key=lambda i: i.recorded_at or self.now, default=None)

    def days_old(self, interaction: Interaction) -> int:
        """Whole days since ``interaction`` was recorded."""
        return (self.now - (interaction.recorded_at or self.now)).days

    def older_message(self) -> str | None:
        """One line for the interactions older than the limit, naming the oldest; None when there are none."""
        oldest = self.oldest
        if oldest is None or oldest.recorded_at is None:
            return None
        count = len(self.older)
        which = "interactions was" if count == 1 else "interactions were"  # "1 of 4 interactions was"
        return (f"{count} of {self.total} {which} recorded more than {_days(self.max_age)} ago (the oldest, "
                f"interaction {oldest.index} ({oldest.endpoint}), on {oldest.recorded_at:%Y-%m-%d}, "
                f"{_days(self.days_old(oldest))} ago): its answers may no longer be the API's; {REFRESH_HINT}")

    def undated_message(self) -> str | None:
        """One line for the interactions of no known age; None when every one is dated."""
        count = len(self.undated)
        if not count:
            return None
        which = "interactions has" if count == 1 else "interactions have"
        return (f"{count} of {self.total} {which} no recorded_at (recorded before card-conformance kept it), so "
                f"no known age against --max-age {_days(self.max_age)}; {REFRESH_HINT}")


def _days(days: float) -> str:
    number = f"{days:g}"
    return f"{number} day" if number == "1" else f"{number} days"


def judge_ages(interactions: Iterable[Interaction], max_age: float, now: datetime | None = None) -> Ages:
    """Which of ``interactions`` were recorded more than ``max_age`` days before ``now`` (default: this second)."""
    ages = Ages(max_age, now or recorded_now())
    limit = ages.now - timedelta(days=max_age)
    for interaction in interactions:
        ages.total += 1
        if interaction.recorded_at is None:
            ages.undated.append(interaction)
        elif interaction.recorded_at < limit:
            ages.older.append(interaction)
    return ages
