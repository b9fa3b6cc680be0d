"""Reading a client's JSON line out of ``conformance record``'s output.

The wrapped command and the proxy share one stdout: under ``PYTHONUNBUFFERED`` a client's ``print`` is two writes
(the text, then its newline), and a proxy line can land between them. The line is found by its opening, wherever it
starts, and decoded up to where its JSON ends.
"""

from __future__ import annotations

import json
from typing import Any


def client_json(stdout: str, opening: str) -> Any:
    """The JSON value that starts with ``opening`` (say ``'{"session"'``) in ``stdout``."""
    start = stdout.find(opening)
    if start < 0:
        raise AssertionError(f"the client printed no {opening}…: {stdout[-2000:]}")
    value, _ = json.JSONDecoder().raw_decode(stdout, start)
    return value
