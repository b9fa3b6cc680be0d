"""JSON paths as findings and options spell them: ``data[0].card.exp_year``, ``**.created``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["display_path", "parse_path", "path_pattern"]


def display_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def path_pattern(pattern: str) -> re.Pattern[str]:
    """``data[*].name`` (any index), ``*_check`` (within one key), ``**`` (any depth, the top included) as a regex."""
    regex = re.escape(pattern)
    regex = regex.replace(r"\[\*\]", r"\[\d+\]").replace(r"\*\*\.", "\x00").replace(r"\*\*", ".*")
    regex = regex.replace(r"\*", r"[^.\[\]]*").replace("\x00", r"(?:.*[.\]])?")
    return re.compile(regex.replace(r"\?", "."))



_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[Any]:
    """``data[0].card`` -> ``["data", 0, "card"]``, the inverse of :func:`display_path`."""
    return [int(index) if index else key for key, index in _PART.findall(path)]
