"""Stripe's form encoding: ``metadata[order_id]=6735`` <-> ``{"metadata": {"order_id": "6735"}}``.

Stripe (and its SDKs) send nested parameters in bracket notation. Cassettes store
them decoded so a reviewer reads data, not percent-escapes. The decoding is only
used when it is lossless: :func:`decode` returns ``None`` when re-encoding the
nested data would not send an equivalent request (a key given twice, a key that
is both a value and a container), and the caller keeps the raw string instead.

Lists are re-encoded with indexes (``expand[0]=a``), as the official SDKs send
them; ``expand[]=a`` is decoded to the same list, which Stripe treats alike.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import unquote, urlencode

__all__ = ["decode", "encode", "parse_pairs", "encode_pairs", "MAX_DEPTH", "field_name"]

# Stripe's parameters nest a few levels (card[address][city]); a key nested deeper is kept raw,
# so nothing downstream (the cassette's own depth limit, recursive consumers) meets it decoded.
MAX_DEPTH = 32

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")
_APPEND = object()  # the segment of ``key[]``


def parse_pairs(raw: str | bytes) -> list[tuple[str, str]]:
    """Split an ``application/x-www-form-urlencoded`` string, keeping blank values.

    What ``parse_qsl(raw, keep_blank_values=True, errors="strict")`` returns (a
    test holds them equal), without its per-call set-up: the recorder runs this
    on every request body.
    """
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    pairs = []
    for part in raw.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "+" in name or "%" in name:
            name = unquote(name.replace("+", " "), errors="strict")
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "), errors="strict")
        pairs.append((name, value))
    return pairs


def encode_pairs(data: dict[str, Any]) -> list[tuple[str, str]]:
    """Flatten nested data into bracket-notation pairs, in the data's order."""
    pairs: list[tuple[str, str]] = []
    for key, value in data.items():
        _flatten(str(key), value, pairs)
    return pairs


def encode(data: dict[str, Any]) -> str:
    """Nested data -> form string, as the official SDKs send it."""
    return urlencode(encode_pairs(data))


def decode(pairs: list[tuple[str, str]]) -> dict[str, Any] | None:
    """Bracket-notation pairs -> nested data, or ``None`` when that would lose information."""
    root: dict[str, Any] = {}
    try:
        for key, value in pairs:
            segments = _split_key(key)
            if len(segments) > MAX_DEPTH:
                return None
            _insert(root, segments, value)
    except _Ambiguous:
        return None
    data = {key: _lists_from_indexes(value) for key, value in root.items()}
    if encode_pairs(data) != _normalized(pairs):
        return None
    return data


def field_name(key: str) -> str:
    """The innermost name of a bracket-notation key: ``cvc`` of ``card[cvc]``, of ``card[cvc][]`` and of
    ``card[cvc][0]`` (a list's index or append names no field), ``number`` of ``number``."""
    if not key.endswith("]") or "[" not in key:
        return key
    head, _, rest = key.partition("[")
    for segment in reversed(rest[:-1].split("][")):
        segment = segment.strip("[] ")
        if segment and not segment.isdigit():
            return segment
    return head


class _Ambiguous(Exception):
    pass


@lru_cache(maxsize=4096)
def _split_key(key: str) -> tuple[Any, ...]:
    # Cached: the same parameter names come back on every request.
    first = key.find("[")
    if first <= 0 or not key.endswith("]"):
        return (key,)
    rest = key[first:]
    segments = _SEGMENT.findall(rest)
    if "".join(f"[{s}]" for s in segments) != rest:
        return (key,)  # not clean bracket notation: keep the key whole
    return (key[:first], *[_APPEND if s == "" else s for s in segments])


def _insert(node: dict[str, Any], segments: tuple[Any, ...], value: str) -> None:
    *parents, last = segments
    for segment in parents:
        if segment is _APPEND:
            segment = str(len(node))
        child = node.setdefault(segment, {})
        if not isinstance(child, dict):
            raise _Ambiguous
        node = child
    if last is _APPEND:
        last = str(len(node))
    if last in node:
        raise _Ambiguous
    node[last] = value


def _lists_from_indexes(node: Any) -> Any:
    """Dicts keyed exactly ``"0".."n-1"`` in order become lists."""
    if not isinstance(node, dict):
        return node
    converted = {k: _lists_from_indexes(v) for k, v in node.items()}
    if converted and list(converted) == [str(i) for i in range(len(converted))]:
        return list(converted.values())
    return converted


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}[{key}]", item, out)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _flatten(f"{prefix}[{index}]", item, out)
    elif value is None:
        out.append((prefix, ""))
    elif isinstance(value, bool):
        out.append((prefix, "true" if value else "false"))
    else:
        out.append((prefix, str(value)))


def _normalized(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The pairs with ``[]`` turned into the index it stands for."""
    if not any("[]" in key for key, _ in pairs):
        return list(pairs)
    counters: dict[str, int] = {}
    normalized = []
    for key, value in pairs:
        while "[]" in key:
            head = key[: key.index("[]")]
            index = counters.get(head, 0)
            counters[head] = index + 1
            key = f"{head}[{index}]" + key[len(head) + 2 :]
        normalized.append((key, value))
    return normalized
