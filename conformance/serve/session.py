"""A serving session: what one run of an application asked, and so what it never asked."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from conformance.serve.ages import Oldest, older_of
from conformance.serve.matching import InteractionIndex, LiveRequest, ServedInteraction
from conformance.text import printable

__all__ = ["Session", "Remembered", "Injected", "one_line", "header_text", "SAME_KEY", "NEW_KEY", "NO_KEY",
           "GAVE_UP", "RETRIED"]

# What a client did after a fault, as the summary says it.
SAME_KEY = "retried with the same idempotency key"
NEW_KEY = ("retried with a new idempotency key: the application's bug — a retry under a new key is a second "
           "request, executed twice")
NO_KEY = "retried without an idempotency key: the application's bug — a POST retried without one can execute twice"
RETRIED = "retried (no key needed: not a POST)"
GAVE_UP = "gave up (no retry in this session)"
_BUGS = (NEW_KEY, NO_KEY)

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
class Remembered:
    """An answer given to an idempotency key in this session: a repeat of the key is answered with it."""

    request: LiveRequest  # the same key with other parameters is refused
    answer: Any  # the response as given (a mitmproxy Response, copied for each replay)
    request_id: str  # the answer's Request-Id: a replay's Original-Request


@dataclass
class Injected:
    """A fault injected into a request, and what the client did next."""

    fault: str
    request: str  # shown: method and path, redacted
    method: str
    key: str  # the request's idempotency key, "" when none
    match: tuple[Any, ...]
    then: str = ""

    def follow(self, key: str, match: tuple[Any, ...]) -> bool:
        """Whether a later request is this one's retry; if so, how the client retried."""
        if self.then:
            return False
        if key and key == self.key:
            self.then = SAME_KEY
        elif match == self.match:
            self.then = RETRIED if self.method != "POST" else NEW_KEY if key else NO_KEY
        return bool(self.then)


@dataclass
class Session:
    """What one session of an application asked: answered, missed, and so what it never asked; the answers
    its idempotency keys were given, the faults injected and what the client did after each."""

    answered: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    # (cassette, interaction index) of the served interactions: what names them across a reload of their file
    used: set[tuple[str, int]] = field(default_factory=set)
    keys: dict[str, Remembered] = field(default_factory=dict)
    replayed: int = 0
    refused: list[dict[str, str]] = field(default_factory=list)  # a key reused with other parameters
    injected: list[Injected] = field(default_factory=list)
    oldest: Oldest | None = None  # the oldest dated answer served: how old what the application believed was

    def serve(self, served: ServedInteraction) -> None:
        """A recorded answer was given: counted, its interaction used, its age weighed."""
        self.answered += 1
        self.used.add((served.cassette, served.interaction.index))
        self.oldest = older_of(self.oldest, served.cassette, served.interaction)

    def follow(self, key: str, match: tuple[Any, ...]) -> None:
        """A request arrived: it may be the retry of a request a fault was injected into."""
        for fault in self.injected:
            if fault.follow(key, match):
                return

    def summary(self, index: InteractionIndex) -> dict[str, Any]:
        unused = [{"cassette": s.cassette, "interaction": s.interaction.index, "endpoint": s.interaction.endpoint,
                   "request": f"{s.request.method} {s.interaction.request.url_path}"}
                  for s in index.all if (s.cassette, s.interaction.index) not in self.used]
        faults = [{"fault": f.fault, "request": f.request, "then": f.then or GAVE_UP, "bug": f.then in _BUGS}
                  for f in self.injected]
        return {"answered": self.answered, "misses": self.misses, "unused": unused, "replayed": self.replayed,
                "idempotency_errors": self.refused, "faults": faults,
                "oldest_served": self.oldest.summary() if self.oldest is not None else None}
