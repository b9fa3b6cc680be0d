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

Most cassettes are written by our own emitter, in a small subset of YAML (block
mappings and indentless sequences, one scalar per line, JSON-escaped double
quotes, literal blocks). A line reader for exactly that subset reads them three
times faster still. It gives up on the first line outside the subset — a
comment after a value, a flow collection, a folded scalar, an anchor, a tab —
and libyaml reads the cassette from that document on, so both readers always
agree (tests compare them on generated and hand-written YAML).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache
from json.decoder import scanstring
from typing import IO, Any

import yaml
from yaml import events

__all__ = ["read_documents", "ReaderError", "MAX_DEPTH", "NOT_PRINTABLE"]

# Stripe's objects nest a handful of levels; a cassette nested deeper is not a
# cassette, and data that deep would break every recursive consumer downstream.
MAX_DEPTH = 64

# Characters YAML does not allow raw, or reads as line breaks (U+0085, U+2028, U+2029); tab and BOM too.
NOT_PRINTABLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")

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
    """(first content line, data) of each document in the stream, lazily.

    ``stream`` is a seekable binary file, or the whole text.
    """
    done = 0
    try:
        for document in _subset_documents(stream.splitlines(keepends=True) if isinstance(stream, (bytes, str))
                                          else stream):
            yield document
            done += 1
        return
    except _Unsupported:
        pass
    if not isinstance(stream, (bytes, str)):
        stream.seek(0)
    for number, document in enumerate(_libyaml_documents(stream)):
        if number >= done:  # the ones before were read alike by the line reader
            yield document


def _libyaml_documents(stream: IO[bytes] | bytes | str) -> Iterator[tuple[int, Any]]:
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


# ---------------------------------------------------------------- the emitter's subset, line by line


class _Unsupported(Exception):
    """YAML beyond the emitter's subset: libyaml reads it (and reports its errors, with their lines)."""


# Plain scalars the line reader takes: the emitter's, plus numbers. Anything else goes to libyaml.
_SUBSET_PLAIN = re.compile(r"(?:[A-Za-z0-9_/<(.+]|-(?=[^ ]))[A-Za-z0-9_ ./:@+=<>(),;~%$&*!?'-]*")
_SUBSET_PLAIN_FORBIDDEN = re.compile(r": |:$| #|\s$")
_ESCAPE = re.compile(r"\\(u[0-9a-fA-F]{4}|.?)")
_JSON_ESCAPES_YAML_SHARES = frozenset('"\\bfnrt')
_NOT_PLAIN_START = frozenset('"{[|')


# "    brand: Visa", "  status: 200": three lines in four of a cassette repeat one before them.
_SCALAR_LINES: dict[str, tuple[int, str, Any]] = {}


@lru_cache(maxsize=16384)
def _subset_plain(text: str) -> Any:
    # Cached: keys and many values (``card``, ``Visa``, ``null``) repeat in every interaction.
    if len(text) > 1024 or not _SUBSET_PLAIN.fullmatch(text) or _SUBSET_PLAIN_FORBIDDEN.search(text):
        raise _Unsupported
    return _plain(text)


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The double-quoted scalar opening at ``text[start - 1]``, read as JSON (its escapes are YAML's too)."""
    try:
        value, end = scanstring(text, start, True)
    except ValueError:
        raise _Unsupported from None
    raw = text[start:end - 1]
    if "\\" in raw:
        for match in _ESCAPE.finditer(raw):
            escape = match.group(1)
            if escape[:1] == "u":
                if escape[1] in "dD" and escape[2] in "89abAB":  # surrogates: YAML refuses them
                    raise _Unsupported
            elif escape not in _JSON_ESCAPES_YAML_SHARES:  # \/ and the rest: leave to libyaml
                raise _Unsupported
    return value, end


def _is_item(text: str) -> bool:
    return text[0] == "-" and (len(text) == 1 or text[1] == " ")


class _Document:
    """One document's lines, read as block mappings and sequences by indentation."""

    __slots__ = ("lines", "i")

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.i = 0

    def skip(self) -> tuple[int, str] | None:
        """(indent, text) of the next line that holds something; blank and comment lines are passed over."""
        lines, i = self.lines, self.i
        while i < len(lines):
            text = lines[i].lstrip(" ")
            if text and text[0] != "#":
                self.i = i
                return len(lines[i]) - len(text), text
            i += 1
        self.i = i
        return None

    def mapping(self, indent: int, depth: int) -> dict[Any, Any]:
        if depth > MAX_DEPTH:
            raise _Unsupported
        result: dict[Any, Any] = {}
        lines = self.lines
        while self.i < len(lines):
            raw = lines[self.i]
            known = _SCALAR_LINES.get(raw)
            if known is not None and known[0] == indent:
                if known[1] in result:
                    raise _Unsupported
                result[known[1]] = known[2]
                self.i += 1
                continue
            text = raw.lstrip(" ")
            if not text or text[0] == "#":
                self.i += 1
                continue
            at = len(raw) - len(text)
            if at < indent:
                break
            if at > indent or _is_item(text):
                raise _Unsupported
            if text[0] == '"':
                key, end = _quoted(text, 1)
                if text[end:end + 1] != ":" or text[end + 1:end + 2] not in ("", " "):
                    raise _Unsupported
                rest = text[end + 1:]
            else:
                colon = text.find(": ")
                if colon < 0:
                    if text[-1] != ":":
                        raise _Unsupported
                    colon = len(text) - 1
                key, rest = _subset_plain(text[:colon]), text[colon + 1:]
            if type(key) is not str or key in result:
                raise _Unsupported
            self.i += 1
            rest = rest.lstrip(" ")
            if rest and rest[0] not in _NOT_PLAIN_START:
                # Most values are plain scalars on the key's line, and most such lines repeat.
                value = result[key] = _subset_plain(rest)
                if len(_SCALAR_LINES) >= 8192:
                    _SCALAR_LINES.clear()
                _SCALAR_LINES[raw] = (indent, key, value)
            else:
                result[key] = self.value(rest, indent, depth)
        return result

    def sequence(self, indent: int, depth: int) -> list[Any]:
        if depth > MAX_DEPTH:
            raise _Unsupported
        result: list[Any] = []
        lines = self.lines
        while (line := self.skip()) is not None:
            at, text = line
            if at < indent or (at == indent and not _is_item(text)):
                break  # the end of an indentless sequence: its mapping goes on
            if at > indent:
                raise _Unsupported
            rest = text[1:].lstrip(" ")
            column = len(lines[self.i]) - len(rest)
            if not rest or rest[0] == "#":
                raise _Unsupported
            if _is_item(rest):
                inline_mapping = False
            elif rest[0] == '"':
                inline_mapping = _quoted(rest, 1)[1] < len(rest)
            else:
                inline_mapping = ": " in rest or rest[-1] == ":"
            if inline_mapping or _is_item(rest):
                # A collection that starts on the dash's line: read that line as if it began at ``column``.
                lines[self.i] = " " * column + rest
                result.append(self.mapping(column, depth + 1) if inline_mapping else self.sequence(column, depth + 1))
            else:
                self.i += 1
                result.append(self.value(rest, indent, depth))
        return result

    def value(self, text: str, indent: int, depth: int) -> Any:
        """The value after ``key:`` or ``-`` on a line at ``indent``."""
        if not text:
            line = self.skip()
            if line is None:
                raise _Unsupported
            at, nested = line
            if _is_item(nested) and at >= indent:
                return self.sequence(at, depth + 1)
            if at <= indent:
                raise _Unsupported  # an empty value (null): rare, libyaml reads it
            return self.mapping(at, depth + 1)
        first = text[0]
        if first == '"':
            value, end = _quoted(text, 1)
            if end != len(text):
                raise _Unsupported
            return value
        if text == "{}":
            return {}
        if text == "[]":
            return []
        if text == "|" or text == "|-":
            return self.literal(indent, keep_line_break=text == "|")
        return _subset_plain(text)

    def literal(self, indent: int, keep_line_break: bool) -> str:
        lines, i = self.lines, self.i
        if i >= len(lines) or not lines[i].strip(" "):
            raise _Unsupported
        block = len(lines[i]) - len(lines[i].lstrip(" "))
        if block <= indent:
            raise _Unsupported
        out: list[str] = []
        while i < len(lines):
            line = lines[i]
            if line:
                text = line.lstrip(" ")
                if not text:
                    raise _Unsupported  # spaces only: content or indentation, libyaml knows
                if len(line) - len(text) < block:
                    if text[0] == "#":
                        raise _Unsupported
                    break
                line = line[block:]
            out.append(line)
            i += 1
        self.i = i
        while out and not out[-1]:
            out.pop()  # clip or strip: trailing empty lines are not content
        text = "\n".join(out)
        return text + "\n" if keep_line_break and out else text


def _subset_documents(lines: Any) -> Iterator[tuple[int, Any]]:
    """Documents of a stream in the emitter's subset; raises _Unsupported at the first line outside it."""
    document: list[str] | None = None
    first_line = 0
    number = 0
    for raw in lines:
        number += 1
        if type(raw) is bytes:
            try:
                raw = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise _Unsupported from None
        line = raw[:-1] if raw[-1:] == "\n" else raw
        if line == "---" or line == "...":
            if document is not None:
                yield _subset_document(document, first_line)
            elif line == "...":
                raise _Unsupported
            document, first_line = ([], number + 1) if line == "---" else (None, 0)
        elif document is not None:
            document.append(line)
        elif NOT_PRINTABLE.search(line) or (line and line[0] != "#"):
            raise _Unsupported  # a document without ``---``, or a directive
    if document is not None:
        yield _subset_document(document, first_line)


def _subset_document(lines: list[str], first_line: int) -> tuple[int, Any]:
    if NOT_PRINTABLE.search(" ".join(lines)):  # one search for the whole document
        raise _Unsupported
    reader = _Document(lines)
    line = reader.skip()
    if line is None or line[0] != 0:
        raise _Unsupported
    start = reader.i
    if line[1] == "{}":
        reader.i += 1
        data: Any = {}
    else:
        data = reader.sequence(0, 1) if _is_item(line[1]) else reader.mapping(0, 1)
    if reader.skip() is not None:
        raise _Unsupported
    return first_line + start, data
