"""A strict, fast YAML reader for cassettes: libyaml's parser, our own construction.

PyYAML's SafeLoader constructs each document through generic Python machinery
(node graph, resolver, constructor per node): ~220 µs for one card interaction,
a third of a local request. Building the data straight from libyaml's events
halves that, and makes the strict rules cheap to enforce at the same time:

* no tags (``!!python/object`` and friends construct objects; cassettes never need them);
* no aliases (``*name``: the "billion laughs" expansion);
* no duplicate keys (YAML keeps the last one silently);
* dates stay text (``2023-08-16`` is a Stripe API version, not a date).

Plain scalars are resolved like YAML 1.1 / PyYAML's SafeLoader otherwise
(``null``, ``true``/``yes``, integers, floats), so what the emitter writes and
what other YAML tools read stay in agreement.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import IO, Any

import yaml
from yaml import events

__all__ = ["read_documents", "ReaderError", "MAX_DEPTH"]

# Stripe's objects nest a handful of levels; a cassette nested deeper is not a
# cassette, and data that deep would break every recursive consumer downstream.
MAX_DEPTH = 64

_Parser = getattr(yaml, "CBaseLoader", yaml.BaseLoader)  # libyaml when PyYAML was built with it
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith(("timestamp", "merge", "value"))]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}
_CONSTRUCT = {
    "tag:yaml.org,2002:bool": _CONSTRUCTOR.construct_yaml_bool,
    "tag:yaml.org,2002:int": _CONSTRUCTOR.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONSTRUCTOR.construct_yaml_float,
    "tag:yaml.org,2002:null": _CONSTRUCTOR.construct_yaml_null,
}


class ReaderError(yaml.MarkedYAMLError):
    """A rule of cassette YAML broken at a place in the file."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)


def _plain(value: str) -> Any:
    if not value:
        return None
    resolvers = _RESOLVERS.get(value[0])
    if resolvers:
        for tag, regexp in resolvers:
            if regexp.match(value):
                return _CONSTRUCT[tag](yaml.ScalarNode(tag, value))
    return value


class _Key:
    """A mapping waiting for the value of ``key``."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


def read_documents(stream: IO[bytes] | bytes | str) -> Iterator[tuple[int, Any]]:
    """(first content line, data) of each document in the stream, lazily."""
    parser = _Parser(stream)
    try:
        get = parser.get_event
        stack: list[list[Any]] = []  # [container, pending key or None]
        line = 0
        mapping_start, sequence_start, scalar = events.MappingStartEvent, events.SequenceStartEvent, events.ScalarEvent
        while True:
            event = get()
            kind = type(event)
            if kind is scalar:
                if event.tag is not None and event.implicit == (False, False):
                    raise ReaderError(f"YAML tags such as {event.tag!r} are not allowed in cassettes", event.start_mark)
                value = event.value if event.style else _plain(event.value)
            elif kind is mapping_start or kind is sequence_start:
                if event.tag is not None and not event.implicit:
                    raise ReaderError(f"YAML tags such as {event.tag!r} are not allowed in cassettes", event.start_mark)
                if not stack:
                    line = event.start_mark.line + 1
                elif len(stack) >= MAX_DEPTH:
                    raise ReaderError(f"nested deeper than {MAX_DEPTH} levels", event.start_mark)
                stack.append([{} if kind is mapping_start else [], None, event.start_mark])
                continue
            elif kind is events.MappingEndEvent or kind is events.SequenceEndEvent:
                value = stack.pop()[0]
            elif kind is events.AliasEvent:
                raise ReaderError("aliases (*name) are not allowed in cassettes; write the value out", event.start_mark)
            elif kind is events.StreamEndEvent:
                return
            elif kind is events.DocumentEndEvent or kind is events.DocumentStartEvent or kind is events.StreamStartEvent:
                continue
            else:
                continue
            if not stack:
                if kind is scalar:
                    line = event.start_mark.line + 1
                yield line, value
                continue
            top = stack[-1]
            container = top[0]
            if type(container) is list:
                container.append(value)
            elif top[1] is None:
                if isinstance(value, (dict, list)):
                    raise ReaderError("a mapping or list cannot be a key", event.start_mark)
                if value in container:
                    raise ReaderError(f"duplicate key {value!r}", event.start_mark)
                top[1] = _Key(value)
            else:
                container[top[1].key] = value
                top[1] = None
    finally:
        dispose = getattr(parser, "dispose", None)
        if dispose is not None:
            dispose()
