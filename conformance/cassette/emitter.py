"""A fast block-style YAML emitter for JSON-shaped data (dict, list, str, int, float, bool, None).

The recorder writes one document per interaction on mitmproxy's hot path, and
``yaml.dump`` — even with libyaml's CSafeDumper — spends most of its time in
Python representers (about 200 µs for one card interaction, enough to cost the
proxy a quarter of its throughput). This emitter writes the same layout PyYAML
would (block mappings, indentless sequences, literal blocks for multi-line
text) with plain scalars only where a YAML 1.1 reader reads them back as the
same string, and JSON-escaped double quotes otherwise. Its output is checked in
tests by loading it back with the cassette loader.
"""

from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from typing import Any

import yaml

from conformance.cassette.reader import NOT_PRINTABLE

__all__ = ["dump_document", "LoneSurrogate"]


class LoneSurrogate(ValueError):
    """Text holding a lone surrogate (U+D800 to U+DFFF): no YAML reader reads it back, so it is never written."""

# Characters a plain scalar may hold here: conservative, ASCII only.
_PLAIN = re.compile(r"[A-Za-z0-9_/<(][A-Za-z0-9_ ./:@+=<>(),;~%$&*!?'-]*")
_PLAIN_FORBIDDEN = re.compile(r": |:$| #|\s$")
_RESOLVERS = {
    first: [regexp for _tag, regexp in resolvers]
    for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
}


def _resolves_to_non_string(text: str) -> bool:
    return any(regexp.match(text) for regexp in _RESOLVERS.get(text[0], ()))


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group(0))
    if 0xD800 <= code <= 0xDFFF:
        raise LoneSurrogate(f"text holds the lone surrogate U+{code:04X}, which YAML cannot hold")
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def _quoted(text: str) -> str:
    # JSON's escapes are valid in YAML double quotes; what JSON leaves raw but YAML
    # forbids (DEL, C1 controls, BOM, line separators) gets a YAML escape.
    return NOT_PRINTABLE.sub(_escape, json.dumps(text, ensure_ascii=False))


@lru_cache(maxsize=16384)
def _string(text: str) -> str:
    # Cached: keys and many values (``card``, ``Visa``, ``pass``) repeat in every interaction.
    if text and _PLAIN.fullmatch(text) and not _PLAIN_FORBIDDEN.search(text) and not _resolves_to_non_string(text):
        return text
    return _quoted(text)


def _literal_lines(text: str) -> tuple[str, list[str]] | None:
    """Header and lines of a literal block for multi-line text, or None when a block cannot hold it."""
    if "\t" in text or NOT_PRINTABLE.search(text.replace("\n", "")) or text.startswith((" ", "\n")):
        return None
    if text.endswith("\n\n"):
        return None
    body = text[:-1] if text.endswith("\n") else text
    lines = body.split("\n")
    if any(line.endswith(" ") for line in lines):
        return None
    return ("|" if text.endswith("\n") else "|-"), lines


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ".nan"
        if math.isinf(value):
            return ".inf" if value > 0 else "-.inf"
        text = repr(value)
        if "." not in text and "e" in text:
            text = text.replace("e", ".0e", 1)
        return text
    raise TypeError(f"cannot write {type(value).__name__} into a cassette")


def _emit_value(prefix: str, value: Any, indent: int, out: list[str]) -> None:
    """Write ``value`` after ``prefix`` (``key:`` or ``-``), nesting at ``indent``."""
    if value is None:
        out.append(f"{prefix} null\n")
        return
    pad = " " * indent
    if isinstance(value, str):
        if "\n" in value:
            literal = _literal_lines(value)
            if literal is not None:
                header, lines = literal
                out.append(f"{prefix} {header}\n")
                out.extend(f"{pad}{line}\n" if line else "\n" for line in lines)
                return
        out.append(f"{prefix} {_string(value)}\n")
    elif isinstance(value, (dict, list)):
        if not value:
            out.append(f"{prefix} {{}}\n" if isinstance(value, dict) else f"{prefix} []\n")
            return
        if prefix.endswith("-"):  # a collection inside a list starts on the dash's line
            first = len(out)
            _emit_collection(value, indent, out)
            out[first] = prefix + " " + out[first][indent:]
        else:
            out.append(f"{prefix}\n")
            # lists under a key are indentless, as PyYAML writes them
            _emit_collection(value, indent if isinstance(value, dict) else indent - 2, out)
    else:
        out.append(f"{prefix} {_scalar(value)}\n")


def _emit_collection(value: dict[str, Any] | list[Any], indent: int, out: list[str]) -> None:
    if isinstance(value, dict):
        _emit_mapping(value, indent, out)
    else:
        _emit_sequence(value, indent, out)


_LONGEST_SIMPLE_KEY = 1000  # characters as written, within YAML's 1024 for a key on one line


def _emit_mapping(mapping: dict[str, Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise TypeError(f"cannot write a {type(key).__name__} key into a cassette")
        if len(key) > _LONGEST_SIMPLE_KEY // 10 and len(_string(key)) > _LONGEST_SIMPLE_KEY:
            # YAML reads a key of more than 1024 characters only in the explicit form.
            out.append(f"{pad}? {_string(key)}\n")
            _emit_value(f"{pad}:", value, indent + 2, out)
            continue
        # The common one-line scalars inline: most of a Stripe object is made of them.
        kind = type(value)
        if kind is str and "\n" not in value:
            out.append(f"{pad}{_string(key)}: {_string(value)}\n")
        elif value is None:
            out.append(f"{pad}{_string(key)}: null\n")
        elif kind is int:
            out.append(f"{pad}{_string(key)}: {value}\n")
        else:
            _emit_value(f"{pad}{_string(key)}:", value, indent + 2, out)


def _emit_sequence(items: list[Any], indent: int, out: list[str]) -> None:
    pad = " " * indent
    for item in items:
        _emit_value(f"{pad}-", item, indent + 2, out)


def dump_document(data: dict[str, Any]) -> str:
    """One YAML document, with explicit start (``---``) and end (``...``) markers."""
    out = ["---\n"]
    if not data:
        out.append("{}\n")
    _emit_mapping(data, 0, out)
    out.append("...\n")
    return "".join(out)
