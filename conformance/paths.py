"""JSON paths as findings and options spell them: ``data[0].card.exp_year``, ``**.created``."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

__all__ = ["display_path", "parse_path", "path_pattern", "value_at", "locate"]


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


_ABSENT = object()


def value_at(data: Any, parts: Iterable[Any], absent: Any = None) -> Any:
    """The value ``parts`` lead to in ``data``; ``absent`` where they lead nowhere."""
    for part in parts:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return absent
    return data


def locate(path: str, expected: Any, actual: Any) -> tuple[str | None, str]:
    """The ``object`` a path lies in (the nearest one up: a card inside a customer's list) and the key path
    within it, list positions left out: ``sources.data[3].brand`` -> ``("card", "brand")``. The recorded body
    says it where it holds the path's container and names its kind, else the answer (a key only the answer
    has, a card answered where an error was recorded)."""
    parts = parse_path(path) if path else []
    found: tuple[str | None, str] = (None, path)
    for body in (expected, actual):
        kind, start, node = None, 0, body
        for depth, part in enumerate(parts):
            if isinstance(node, dict) and isinstance(node.get("object"), str):
                kind, start = node["object"], depth
            elif depth == 0 and part == "error" and isinstance(node, dict) and isinstance(node.get("error"), dict):
                kind, start = "error", 1  # Stripe's error object names no `object`
            if depth == len(parts) - 1:
                break  # the container is reached: the key itself may be absent
            try:
                node = node[part]
            except (KeyError, IndexError, TypeError):
                node = _ABSENT
                break
        if not parts and isinstance(node, dict) and isinstance(node.get("object"), str):
            kind = node["object"]
        if isinstance(node, (dict, list)) or body is actual:
            found = kind, display_path(p for p in parts[start:] if not isinstance(p, int))
            if kind is not None:
                return found  # else the answer may say it (a card where an error was recorded)
    return found
