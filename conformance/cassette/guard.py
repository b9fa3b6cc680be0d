"""Can the loader read what a writer is about to write: the one guard every writer goes through.

A cassette is one file of documents; one document the loader refuses strands
every interaction in it. So the recorder and ``import`` hand each interaction
(and the header) to this guard, which

* escapes what a cassette can hold another way: a request path's bytes that are
  not UTF-8, its control characters, ``#``, ``?`` and dot-segments are
  percent-encoded (``/v1/a/%2E%2E/b``, as a client sending those bytes means
  them); text holding a lone surrogate (``"\\ud800"`` in JSON, a header value
  that was not UTF-8) has it replaced by U+FFFD;
* refuses what it cannot hold (a method or status the loader refuses) with
  :class:`Unwritable`, whose message says why: the writer writes nothing of it;
* validates with the loader's own validation (``validation.py``), so nothing
  the loader refuses is ever written.

The emitter itself refuses to write a lone surrogate (YAML cannot hold one);
this guard catches that and writes the text with U+FFFD instead. A Hypothesis
property test holds the promise: whatever the guard accepts loads back.
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from conformance.cassette.model import Interaction
from conformance.cassette.validation import Invalid, header_from_dict, interaction_from_dict, interaction_to_dict
from conformance.errors import ConformanceError

__all__ = ["Unwritable", "wire_path", "wire_target", "interaction_document", "header_document"]


class Unwritable(ConformanceError):
    """An interaction no cassette can hold (a method or status the loader refuses): it is not written."""


_SURROGATE = re.compile("[\ud800-\udfff]")
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # a byte that was not UTF-8, decoded with surrogateescape
# What a path cannot hold as text: control characters, '#' (a fragment), '?' (the query's start), a lone surrogate.
_PATH_UNSAFE = re.compile("[\x00-\x1f\x7f#?\ud800-\udfff]")


def _percent(match: re.Match[str]) -> str:
    char = match.group(0)
    if _ESCAPED_BYTE.fullmatch(char):
        return f"%{ord(char) - 0xDC00:02X}"
    if _SURROGATE.fullmatch(char):
        return "%EF%BF%BD"  # U+FFFD: a lone surrogate is no character and has no bytes
    return "".join(f"%{byte:02X}" for byte in char.encode("utf-8"))


def wire_path(path: str) -> str:
    """``path`` as a cassette can hold it: what cannot be text percent-encoded, dot-segments too (clients would
    normalise them away; ``%2E`` is the same segment to a server that does not)."""
    path = _PATH_UNSAFE.sub(_percent, path)
    if "." in path:
        path = "/".join(segment.replace(".", "%2E") if segment in (".", "..") else segment
                        for segment in path.split("/"))
    return path


_QUERY_UNSAFE = re.compile("[\x00-\x1f\x7f#\ud800-\udfff]")


def wire_target(target: str) -> str:
    """A request target (path and query, as a request line holds it) as a cassette can hold it: the path as
    :func:`wire_path`, the query's control characters, ``#`` and bytes that are not UTF-8 percent-encoded."""
    path, mark, query = target.partition("?")
    return wire_path(path) + mark + _QUERY_UNSAFE.sub(_percent, query)


def _without_surrogates(value: Any) -> Any:
    """JSON-shaped data with every lone surrogate in its text (keys too) replaced by U+FFFD."""
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value)
    if isinstance(value, dict):
        return {_without_surrogates(key): _without_surrogates(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_without_surrogates(item) for item in value]
    return value


def _emitted(data: dict[str, Any]) -> bytes:
    """The YAML document of ``data``; text YAML cannot hold (a lone surrogate) written with U+FFFD instead."""
    from conformance.cassette import emitter  # PyYAML's resolvers: imported by a writer, not by every reader

    try:
        return emitter.dump_document(data).encode("utf-8")
    except emitter.LoneSurrogate:
        return emitter.dump_document(_without_surrogates(data)).encode("utf-8")


def _describe(interaction: Interaction) -> str:
    request = interaction.request
    return f"{_SURROGATE.sub(chr(0xFFFD), request.method)} {wire_path(request.path)} -> {interaction.response.status}"


def interaction_document(interaction: Interaction) -> bytes:
    """The document of ``interaction`` as the loader reads it back; :class:`Unwritable` when it cannot be."""
    request = interaction.request
    path = wire_path(request.path)
    if path != request.path or request.method != request.method.upper():
        interaction.request = request = replace(request, method=request.method.upper(), path=path)
    data = interaction_to_dict(interaction)
    try:
        interaction_from_dict(data, interaction.index)
    except Invalid as invalid:
        raise Unwritable(f"{_describe(interaction)}: {invalid.problem}") from None
    return _emitted(data)


def header_document(header: dict[str, Any], fallback_name: str) -> bytes:
    """The header document as the loader reads it back (text with lone surrogates written with U+FFFD)."""
    data = _without_surrogates(header)
    try:
        header_from_dict(data, fallback_name)
    except Invalid as invalid:
        raise Unwritable(f"the cassette header: {invalid.problem}") from None
    return _emitted(data)
