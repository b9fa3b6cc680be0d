"""Naming the objects a cassette minted by when it minted them: ``the card attached 2nd (card_…)``.

Ids differ from one target to the next and are set aside when findings are
grouped into problems; a name by order survives that, and says which card a
rule is about (the most recently added one, the oldest).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["Minted", "ordinal_word", "name_of", "names_of", "note_minted"]

# id (recorded or bound) -> (object kind, the how-manyth of its kind the cassette minted)
Minted = Mapping[str, tuple[str, int]]


def note_minted(minted: dict[str, tuple[str, int]], counts: dict[str, int], body: Any, status: int) -> None:
    """Number the object an answer mints (its own ``id``, first seen; not a deletion) among those of its kind."""
    if not isinstance(body, dict) or status >= 300 or "deleted" in body:
        return
    found, kind = body.get("id"), body.get("object")
    if isinstance(found, str) and isinstance(kind, str) and found not in minted:
        counts[kind] = counts.get(kind, 0) + 1
        minted[found] = (kind, counts[kind])


def ordinal_word(number: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 21st."""
    suffix = "th" if 10 <= number % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(number % 10, "th")
    return f"{number}{suffix}"


def name_of(item_id: Any, minted: Minted) -> str:
    """``the card attached 2nd (card_…)``: an object by when the cassette minted it, its id kept."""
    known = minted.get(item_id) if isinstance(item_id, str) else None
    if known is None:
        return "null" if item_id is None else str(item_id)
    kind, number = known
    return f"the {kind} {'attached' if kind == 'card' else 'created'} {ordinal_word(number)} ({item_id})"


def names_of(ids: Sequence[Any], minted: Minted, limit: int = 4) -> str:
    shown = [name_of(i, minted) for i in ids[:limit]]
    return ", ".join(shown) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")
