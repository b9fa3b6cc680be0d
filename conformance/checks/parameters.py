"""What a request set, as JSON paths of the answer: ``card[exp_month]=12`` sets ``card.exp_month``.

A finding is about a parameter the request set only where its path is that
parameter's or lies inside it (``metadata[order_id]`` covers
``metadata.order_id``; a token request's ``card[number]`` never covers
``card.brand``): a check names only parameters the request actually sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

__all__ = ["parameter_paths", "parameter_values", "covers", "without_indexes", "parameter_text"]

_INDEX = re.compile(r"\[\d+\]")
# a request's own instructions, not values it sets on the object
_NOT_SET = frozenset({"expand"})


def without_indexes(path: str) -> str:
    """``data[0].customer`` -> ``data.customer``: a path as a request's parameters spell it."""
    return _INDEX.sub("", path)


def _leaves(value: Any, prefix: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
    """(path, value) of every value a request's data sets; a list's items share their list's path."""
    if isinstance(value, Mapping) and value:
        for key, child in value.items():
            yield from _leaves(child, (*prefix, str(key)))
    elif isinstance(value, list) and value:
        for child in value:
            yield from _leaves(child, prefix)
    else:
        yield prefix, value


def parameter_values(*sources: Any) -> dict[str, Any]:
    """path -> value of what a request sent (its query and form body as decoded data), ``expand`` left out:
    ``{"card": {"exp_month": "12"}}`` -> ``{"card.exp_month": "12"}``."""
    found: dict[str, Any] = {}
    for source in sources:
        if not isinstance(source, Mapping):
            continue
        for path, value in _leaves({k: v for k, v in source.items() if k not in _NOT_SET}, ()):
            if path:
                found.setdefault(".".join(path), value)
    return found


def parameter_paths(*sources: Any) -> frozenset[str]:
    """The paths of :func:`parameter_values`."""
    return frozenset(parameter_values(*sources))


def covers(paths: Iterable[str], finding_path: str) -> bool:
    """Whether a finding at ``finding_path`` is about one of the parameters at ``paths``: the parameter itself,
    or something inside it (``metadata`` set to ``""`` covers every key of metadata)."""
    path = without_indexes(finding_path)
    return any(path == sent or path.startswith(sent + ".") for sent in paths)


def parameter_text(path: str, value: Any, limit: int = 40) -> str:
    """``card[exp_month]=13``: a parameter as a form spells it, its value cut at ``limit`` characters."""
    first, *rest = path.split(".")
    name = first + "".join(f"[{part}]" for part in rest)
    text = "" if value is None else str(value)
    return f"{name}={text if len(text) <= limit else text[:limit - 1] + '…'}"
