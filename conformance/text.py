"""Short text for humans: values and snippets cut to a length, on one line."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["shorten", "snippet", "value_text", "json_type", "JSON_TYPE_NAMES"]


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
