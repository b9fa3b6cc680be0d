"""Stripe-style ids (``card_1NBLeN…``): recognising them and their kind."""

from __future__ import annotations

import re
from typing import Any

__all__ = ["ID_PREFIXES", "ID_PATTERN", "id_prefix"]

# Prefixes of the objects a card conformance run meets (and their neighbours).
ID_PREFIXES = (
    "cus", "card", "src", "tok", "ba", "btok", "pm", "acct", "ch", "pi", "seti", "sub", "in", "ii",
    "prod", "price", "txn", "evt", "re", "py", "po", "cs", "si", "req",
)
ID_PATTERN = re.compile(r"(?<![0-9A-Za-z_])(?:" + "|".join(ID_PREFIXES) + r")_[0-9A-Za-z]{8,}(?![0-9A-Za-z])")


def id_prefix(value: Any) -> str | None:
    """The prefix (``card``) of a string that is a whole Stripe-style id, else None."""
    if isinstance(value, str) and ID_PATTERN.fullmatch(value):
        return value.split("_", 1)[0]
    return None
