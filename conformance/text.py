"""Short text for humans: values and snippets cut to a length, on one line."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["shorten", "snippet", "value_text", "json_type", "JSON_TYPE_NAMES", "printable", "xml_safe", "plural"]

# Control characters (C0 but tab and newline, DEL, C1) and the bidirectional overrides that reorder what a
# reader sees ("Trojan Source"): a target's answer must not move the cursor, recolour or hide a terminal line.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# What XML 1.0 cannot hold at all, even escaped: JUnit readers reject the whole file for one of these.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def printable(text: str) -> str:
    """``text`` safe to print to a terminal: every control character shown as its escape (``\\x1b``)."""
    if not _UNPRINTABLE.search(text):
        return text
    return _UNPRINTABLE.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


def xml_safe(text: str) -> str:
    """``text`` an XML document can hold: the characters XML 1.0 forbids shown as escapes."""
    if not _NOT_XML.search(text):
        return text
    return _NOT_XML.sub(lambda m: m.group(0).encode("unicode_escape", "backslashreplace").decode("ascii"), text)


def shorten(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, an ellipsis marking the cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def snippet(text: str, limit: int = 200) -> str:
    """The start of a body or message on one line: whitespace runs become one space."""
    return shorten(" ".join(text.split()), limit)


def value_text(value: Any, missing: Any = None) -> str:
    """A value as JSON text; ``missing`` (the absent-key marker) as ``<missing>``."""
    if missing is not None and value is missing:
        return "<missing>"
    return json.dumps(value, ensure_ascii=False, default=repr)


# The JSON name of each Python type JSON data is made of.
JSON_TYPE_NAMES: dict[type, str] = {type(None): "null", bool: "boolean", int: "integer", float: "number",
                                    str: "string", dict: "object", list: "array"}


def json_type(value: Any) -> str:
    """``string``, ``integer``, ``null``… of a JSON value (the Python type name for anything else)."""
    return JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 cassette``, ``2 cassettes`` (``many``: a plural not made with -s: ``2 root causes``)."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"
