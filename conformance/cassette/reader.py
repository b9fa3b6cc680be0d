"""The one YAML reader of cassettes: libyaml's parser and composer, a strict construction of ours.

A cassette is untrusted input — downloaded, hand-edited, imported — so it is
read with a subclass of PyYAML's ``CSafeLoader`` that allows only JSON-shaped
data:

* no tags beyond the JSON types (``!!python/object``, ``!!binary``, ``!!set``… are refused);
* no aliases (``*name``: the "billion laughs" expansion);
* no duplicate keys (YAML keeps the last one silently);
* dates stay text (``2023-08-16`` is a Stripe API version, not a date);
* no nesting deeper than :data:`MAX_DEPTH` (libyaml's own limit is 1,000).

Every error is a ``yaml.MarkedYAMLError`` with the line libyaml or the rule
broken points at. Construction is one recursive pass per document that also
checks the rules, no slower than ``yaml.load_all(CSafeLoader)`` (``bench/``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from conformance.redaction import redact_message

__all__ = ["read_documents", "locate_line", "refuse_wide_encoding", "ReaderError", "MAX_DEPTH", "NOT_PRINTABLE"]

# Stripe's objects nest a handful of levels; a cassette nested deeper is not a
# cassette, and data that deep would break every recursive consumer downstream.
MAX_DEPTH = 64

# Characters YAML does not allow raw, or reads as line breaks (U+0085, U+2028, U+2029); tab and BOM too.
NOT_PRINTABLE = re.compile("[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]")

_Base: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when PyYAML was built with it

_STR = "tag:yaml.org,2002:str"
_NULL = "tag:yaml.org,2002:null"
_PLAIN_TAGS: dict[str, str] = {}  # plain scalar -> its resolved tag
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"


class ReaderError(yaml.MarkedYAMLError):
    """A rule of cassette YAML broken at a place in the file; what it quotes of the file is redacted."""

    def __init__(self, problem: str, mark: Any) -> None:
        super().__init__(problem=redact_message(problem), problem_mark=mark)


# The byte-order marks and NUL patterns of the encodings libyaml would read (UTF-16 with a BOM) or read
# wrongly (UTF-32, UTF-16 without one); the cassette format is UTF-8 only, as every writer and `check` read it.
_WIDE = ((b"\x00\x00\xfe\xff", "UTF-32"), (b"\xff\xfe\x00\x00", "UTF-32"), (b"\xfe\xff", "UTF-16"),
         (b"\xff\xfe", "UTF-16"))


def _wide_encoding(start: bytes) -> str | None:
    """The encoding a cassette's first bytes betray when it is not UTF-8 (UTF-16 or UTF-32), or None."""
    for bom, name in _WIDE:
        if start.startswith(bom):
            return name
    if len(start) >= 4 and b"\x00" in start[:4]:
        return "UTF-32" if start[:4].count(b"\x00") == 3 else "UTF-16"
    return None


def _first_bytes(stream: IO[bytes] | bytes | str) -> bytes:
    """The first four bytes of the stream, leaving it where it was (b"" for text, which is decoded already)."""
    if isinstance(stream, bytes):
        return stream[:4]
    if isinstance(stream, str):
        return b""
    peek = getattr(stream, "peek", None)
    if peek is not None:
        return bytes(peek(4)[:4])
    if stream.seekable():
        where = stream.tell()
        start = stream.read(4)
        stream.seek(where)
        return start if isinstance(start, bytes) else b""
    return b""


def refuse_wide_encoding(stream: IO[bytes] | bytes | str) -> None:
    """Raise :class:`ReaderError` for a cassette in UTF-16 or UTF-32: libyaml reads UTF-16 silently, while
    `check`'s line scan and every writer read UTF-8, so one command would pass what another cannot read."""
    found = _wide_encoding(_first_bytes(stream))
    if found is not None:
        raise ReaderError(f"the cassette is {found} text, cassette YAML is UTF-8; convert it (iconv -f {found} -t UTF-8 "
                          "FILE > NEW.yaml) or record it again", None)


class CassetteLoader(_Base):
    """``CSafeLoader`` that builds JSON-shaped data only, refusing what a cassette never needs."""

    # Resolution without timestamps (dates stay text), merge keys (``<<``) and the ``=`` value key.
    yaml_implicit_resolvers: ClassVar[dict[Any, list[tuple[str, re.Pattern[str]]]]] = {
        first: [(tag, regexp) for tag, regexp in resolvers if not tag.endswith(("timestamp", "merge", "value"))]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._scalars = {
            "tag:yaml.org,2002:null": self.construct_yaml_null,
            "tag:yaml.org,2002:bool": self.construct_yaml_bool,
            "tag:yaml.org,2002:int": self.construct_yaml_int,
            "tag:yaml.org,2002:float": self.construct_yaml_float,
        }
        self._seen: set[int] = set()

    def resolve(self, kind: type, value: Any, implicit: tuple[bool, bool]) -> str:
        """PyYAML's resolution, memoized for plain scalars: keys and values repeat in every interaction."""
        if kind is ScalarNode:
            if not implicit[0]:
                return _STR  # quoted: always text
            tag = _PLAIN_TAGS.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(_PLAIN_TAGS) < 65536:
                    _PLAIN_TAGS[value] = tag
            return tag
        return _MAP if kind is MappingNode else _SEQ

    def construct_document(self, node: Node) -> Any:
        self._seen = set()
        return self._build(node, 1, node.start_mark)

    def _build(self, node: Node, depth: int, place: Any) -> Any:
        """The data of ``node``; ``place`` marks where it is used (an alias has no mark of its own)."""
        # An alias is the anchored node itself, met a second time.
        if id(node) in self._seen:
            raise ReaderError("aliases (*name) are not allowed in cassettes; write the value out", place)
        self._seen.add(id(node))
        tag = node.tag
        if type(node) is ScalarNode:
            if tag == _STR:
                return node.value
            construct = self._scalars.get(tag)
            if construct is None:
                raise ReaderError(f"YAML tags such as {tag!r} are not allowed in cassettes", node.start_mark)
            return construct(node)
        if depth > MAX_DEPTH:
            raise ReaderError(f"nested deeper than {MAX_DEPTH} levels", node.start_mark)
        if type(node) is MappingNode and tag == _MAP:
            return self._mapping(node, depth)
        if type(node) is SequenceNode and tag == _SEQ:
            return [self._build(item, depth + 1, node.start_mark) for item in node.value]
        raise ReaderError(f"YAML tags such as {tag!r} are not allowed in cassettes", node.start_mark)

    def _mapping(self, node: MappingNode, depth: int) -> dict[str, Any]:
        """A mapping's data. A text key, a text or null value (most nodes of a cassette) is taken here rather than
        through :meth:`_build`: those calls were half of a first read's construction. Same rules, same errors (a
        node met twice, an alias, goes to :meth:`_build`, which refuses it)."""
        mapping: dict[str, Any] = {}
        seen = self._seen
        for key_node, value_node in node.value:
            if type(key_node) is not ScalarNode:
                raise ReaderError("a mapping or list cannot be a key", key_node.start_mark)
            key_id = id(key_node)
            if key_node.tag == _STR and key_id not in seen:
                seen.add(key_id)
                key = key_node.value
            else:
                key = self._build(key_node, depth, key_node.start_mark)
                if type(key) is not str:
                    raise ReaderError(f"the key {key_node.value!r} is read as {type(key).__name__}: keys are text in "
                                      f"cassettes (as in JSON); quote it: '{key_node.value}'", key_node.start_mark)
            if key in mapping:
                raise ReaderError(f"duplicate key {key!r}", key_node.start_mark)
            value_id, tag = id(value_node), value_node.tag
            if type(value_node) is ScalarNode and tag in (_STR, _NULL) and value_id not in seen:
                seen.add(value_id)
                mapping[key] = value_node.value if tag == _STR else None
            else:
                mapping[key] = self._build(value_node, depth + 1, key_node.start_mark)
        return mapping


def read_documents(stream: IO[bytes] | bytes | str) -> Iterator[tuple[int, Any]]:
    """(first content line, data) of each document in the stream, lazily.

    Raises ``yaml.YAMLError`` (a :class:`ReaderError` for a broken cassette rule)
    with the place of the problem.
    """
    refuse_wide_encoding(stream)
    loader = CassetteLoader(stream)
    try:
        while loader.check_node():
            node = loader.get_node()
            yield node.start_mark.line + 1, loader.construct_document(node)
    finally:
        loader.dispose()


def locate_line(stream: IO[bytes] | bytes | str, document: int, inner: tuple[Any, ...]) -> int | None:
    """Line of the key path ``inner`` inside the n-th document (0-based), as close as the file allows.

    Only used to point an error at its place; a file that does not compose gives None.
    """
    loader = _Base(stream)
    try:
        number = -1
        while loader.check_node():
            node = loader.get_node()
            number += 1
            if number != document:
                continue
            line = node.start_mark.line + 1
            for key in inner:
                if isinstance(node, SequenceNode) and isinstance(key, int) and 0 <= key < len(node.value):
                    node = node.value[key]
                    line = node.start_mark.line + 1
                    continue
                if not isinstance(node, MappingNode):
                    break
                for key_node, value_node in node.value:
                    if key_node.value == str(key):
                        line = key_node.start_mark.line + 1
                        node = value_node
                        break
                else:
                    break
            return line
    except (yaml.YAMLError, RecursionError):
        return None
    finally:
        loader.dispose()
    return None
