"""How old the answers `serve` gives are: the cassettes' stale answers at load, the oldest answer a session served.

A test that passes on a served answer passes on the day that answer was recorded; ``serve --max-age`` says so
when the cassettes are loaded, with the very lines ``check --max-age`` prints, and every session's summary names
the oldest answer it actually gave, so a team sees the age of what its tests believed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from conformance.cassette.age import Ages
from conformance.cassette.model import Interaction, format_recorded_at, recorded_now

__all__ = ["Oldest", "older_of", "stale_warnings", "parse_max_age", "MaxAgeError", "served_age_text"]


class MaxAgeError(ValueError):
    """A maximum age that is not a positive number of days."""


def parse_max_age(text: str) -> float | None:
    """The ``serve_max_age`` option as days (None: not given); a value that is no positive number is refused."""
    if not text.strip():
        return None
    try:
        days = float(text)
    except ValueError:
        days = float("nan")
    if not days > 0 or days == float("inf"):
        raise MaxAgeError(f"serve_max_age must be a positive number of days (such as 90), not {text!r}")
    return days


def stale_warnings(cassette: str, ages: Ages) -> list[str]:
    """The warnings ``check --max-age`` gives one cassette, at the line of its oldest (or first undated)
    interaction: answers recorded longer ago than the limit, answers of no known age."""
    lines = []
    older = ages.older_message()
    if older is not None and ages.oldest is not None:
        lines.append(f"{_where(cassette, ages.oldest.line)}: warning: {older}")
    undated = ages.undated_message()
    if undated is not None:
        lines.append(f"{_where(cassette, ages.undated[0].line)}: warning: {undated}")
    return lines


def _where(cassette: str, line: int | None) -> str:
    return f"{cassette}:{line}" if line else cassette


@dataclass(frozen=True)
class Oldest:
    """The oldest answer a session served: when it was recorded, and which interaction gave it."""

    recorded_at: datetime
    cassette: str
    interaction: int
    endpoint: str

    def summary(self, now: datetime | None = None) -> dict[str, object]:
        """As the session's summary carries it (JSON): the time, whole days since, and where it is."""
        days = ((now or recorded_now()) - self.recorded_at).days
        return {"recorded_at": format_recorded_at(self.recorded_at), "days": max(days, 0),
                "cassette": self.cassette, "interaction": self.interaction, "endpoint": self.endpoint}


def older_of(current: Oldest | None, cassette: str, interaction: Interaction) -> Oldest | None:
    """``current``, or the answer just served when it was recorded before it (an undated answer changes nothing:
    its age is unknown, not old)."""
    if interaction.recorded_at is None or (current is not None and current.recorded_at <= interaction.recorded_at):
        return current
    return Oldest(interaction.recorded_at, cassette, interaction.index, interaction.endpoint)


def served_age_text(oldest: dict[str, object] | None) -> str:
    """The summary's clause on the oldest answer served; "" when no answer served had a date."""
    if not oldest:
        return ""
    days = oldest.get("days")
    ago = "today" if days == 0 else "1 day ago" if days == 1 else f"{days} days ago"
    return (f"; the oldest answer served was recorded {str(oldest.get('recorded_at'))[:10]} ({ago}: "
            f"{oldest.get('cassette')} #{oldest.get('interaction')} {oldest.get('endpoint')})")
