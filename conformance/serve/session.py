"""A serving session: what one run of an application asked, and so what it never asked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conformance.serve.matching import InteractionIndex
from conformance.text import printable

__all__ = ["Session", "one_line", "header_text"]

# What may still break a line once printable() escaped the control characters: newline, tab, U+2028, U+2029.
_BREAKS = re.compile("[\n\t\u2028\u2029]")


def one_line(text: str) -> str:
    """``text`` as one terminal line: control characters, newlines and tabs shown as escapes (``\\n``). A request's
    path, query or body reaches `serve`'s MISS lines and session summary: a newline in it (``%0a``) would start a
    line of its own — a forged summary line, or a ``session-end`` line the command line reads as a session. The
    Unicode line and paragraph separators too: a log viewer (or ``str.splitlines``) breaks lines there."""
    text = printable(text)
    if _BREAKS.search(text):
        text = _BREAKS.sub(lambda match: match.group(0).encode("unicode_escape").decode("ascii"), text)
    return text


def header_text(text: str) -> str:
    """``text`` as an HTTP header value: ASCII on one line, what is not shown as its escape. A header value built
    from a request (``%0d%0a`` in its path) must not end the header and start another."""
    return text.encode("unicode_escape").decode("ascii")


@dataclass
class Session:
    """What one session of an application asked: answered, missed, and so what it never asked."""

    answered: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    # (cassette, interaction index) of the served interactions: what names them across a reload of their file
    used: set[tuple[str, int]] = field(default_factory=set)

    def summary(self, index: InteractionIndex) -> dict[str, Any]:
        unused = [{"cassette": s.cassette, "interaction": s.interaction.index, "endpoint": s.interaction.endpoint,
                   "request": f"{s.request.method} {s.interaction.request.url_path}"}
                  for s in index.all if (s.cassette, s.interaction.index) not in self.used]
        return {"answered": self.answered, "misses": self.misses, "unused": unused}
