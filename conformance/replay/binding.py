"""Id binding: the target mints its own ids; recorded ids are mapped to the ones it returned.

When a response carries an id where the recording had one (same JSON path,
same prefix), the recorded id is bound to the actual one. Every later request
is sent with bound ids substituted — in the path, the query, the body — and
every later recorded response is compared with them substituted, so
``card.customer`` must be the bound customer and a list's ``url`` must name it.

An object's own ``id`` binds whatever its style: a known kind (``card_…``), a
kind this table does not know (``txi_…``, ``person_…``), no prefix at all (a
coupon's ``_Ro4…``, a UUID). Those are then substituted as whole words wherever
they appear — a URL, a file name, a client secret — like the known kinds.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Container, Iterator
from typing import Any

from conformance.api_profile import IdScheme

__all__ = ["IdBindings"]

# What a target's id may hold to be bound: the substitutions work on JSON text and in URLs, so an id a target
# mints with quotes, spaces, control characters or anything beyond ASCII (a lone surrogate) stays unbound (and is
# shown as the finding it is); so does one longer than any id (Stripe's are at most 255 characters): a 5 MB "id"
# substituted into the next URL would make a request no server takes.
_ID_SHAPE = re.compile(r"[\w.:~-]{1,255}", re.ASCII)
# An object's own id in a recorded answer as json.dumps writes it: what says a recording minted something.
_OWN_ID = re.compile(r'"id": "([\w.:~-]+)"', re.ASCII)
# A recorded id of no known kind is bound only when it is this long: shorter words ("1", "default") would be
# substituted where they are no id.
_MIN_OTHER_ID = 8


@functools.lru_cache(maxsize=8)
def _run(shortest: int) -> re.Pattern[str]:
    """A run of text ids of at least ``shortest`` characters may sit in, beginning where a whole word can (a
    learnt id is at least ``_MIN_OTHER_ID`` long; one :meth:`IdBindings.bind` was told of may be shorter)."""
    return re.compile(rf"(?<![0-9A-Za-z_])[\w.:~-]{{{shortest},}}", re.ASCII)


class _IdFinder:
    """The matches of an id scheme's pattern in a text, as ``pattern.finditer`` finds them, several times faster.

    The scheme's pattern tries its alternation of prefixes and a lookbehind at every position of the text (~25 µs
    for a card's JSON, once per interaction and more). Every id it matches is a known prefix, ``_`` and at least
    ``min_length`` letters or digits: a pattern beginning with ``_`` finds those tails at C speed, the prefixes a
    set lookup, and the scheme's own pattern, anchored where such a prefix begins, still decides each match (its
    lookbehind sees the text before it), in the order a scan would meet them.
    """

    def __init__(self, ids: IdScheme) -> None:
        self.pattern = ids.pattern
        self.tails = re.compile(rf"_[0-9A-Za-z]{{{ids.min_length},}}")
        self.prefixes = frozenset(ids.prefixes)
        self.lengths = sorted({len(prefix) for prefix in ids.prefixes})

    def finditer(self, text: str) -> Iterator[re.Match[str]]:
        starts: set[int] = set()
        for tail in self.tails.finditer(text):
            at = tail.start()
            starts.update(at - length for length in self.lengths
                          if length <= at and text[at - length:at] in self.prefixes)
        end = 0
        for start in sorted(starts):
            if start >= end and (found := self.pattern.match(text, start)) is not None:
                end = found.end()
                yield found

    def sub(self, replace: Callable[[re.Match[str]], str], text: str) -> str:
        """``pattern.sub(replace, text)``."""
        pieces: list[str] = []
        last = 0
        for found in self.finditer(text):
            pieces += [text[last:found.start()], replace(found)]
            last = found.end()
        return "".join(pieces) + text[last:] if pieces else text


class IdBindings:
    """recorded id -> actual id, learnt response by response; ``ids``: the profile's id scheme (its known kinds)."""

    def __init__(self, ids: IdScheme) -> None:
        self.ids = ids
        self._finder = _IdFinder(ids)
        self.actual: dict[str, str] = {}
        self._taken: set[str] = set()  # actual ids bound already: a binding is one to one
        self._fresh: list[tuple[str, str]] = []  # bound since take_fresh was last called
        self._others: set[str] = set()  # bound recorded ids of no kind the scheme knows
        self._lengths: list[int] = []  # their lengths, the longest first
        self._runs = _run(_MIN_OTHER_ID)  # the runs of text they may sit in
        # how many recorded ids are bound to another id: a target that answers the recorded ids (a fake's fixtures,
        # stripe-mock) binds each to itself, and then no text needs its ids replaced
        self._renamed = 0

    @property
    def renames(self) -> bool:
        """Whether a binding changes any text: some recorded id is bound to another id."""
        return self._renamed > 0

    def rewrite(self, text: str) -> tuple[str, bool]:
        """``text`` with bound ids replaced, and whether it held an id not bound yet — in one pass for the known
        kinds; an object's own id of another style counts as not bound until it is."""
        if not self._renamed:  # nothing to replace: only whether an id is still unbound
            unbound = any(found.group(0) not in self.actual for found in self._finder.finditer(text))
            if not unbound:
                unbound = any(self._bindable_other(found) and found not in self.actual
                              for found in _OWN_ID.findall(text))
            return text, unbound
        unbound = False

        def replace(match: re.Match[str]) -> str:
            nonlocal unbound
            found = match.group(0)
            actual = self.actual.get(found)
            if actual is None:
                unbound = True
                return found
            return actual

        replaced = self._finder.sub(replace, text)
        if not unbound:  # the recording's own ids, not those the substitution just put in
            unbound = any(self._bindable_other(found) and found not in self.actual for found in _OWN_ID.findall(text))
        return self._replace_others(replaced), unbound

    def _replace_others(self, text: str) -> str:
        """The bound ids of no known kind replaced as whole words (not after a letter, digit or ``_``, not before
        a letter or digit). One generic pattern finds the runs they can sit in and a set lookup decides: a
        pattern of the ids themselves would be compiled again for each id learnt (quadratic in the session)."""
        if not self._others:
            return text
        return self._runs.sub(self._replace_run, text)

    def _replace_run(self, match: re.Match[str]) -> str:
        run = match.group(0)
        if run in self._others:  # most often the id stands alone: a URL's segment, a JSON value
            return self.actual[run]
        if len(run) <= self._lengths[-1]:
            return run
        out, start, at = [], 0, 0
        while at < len(run):
            # an id begins where a whole word can: at the run's start, or after a character that is no letter,
            # digit or _ (in the text as it was, as a lookbehind reads it)
            if at == 0 or not (run[at - 1].isalnum() or run[at - 1] == "_"):
                end = next((at + length for length in self._lengths  # the longest first, as an alternation would
                            if run[at:at + length] in self._others and not run[at + length:at + length + 1].isalnum()),
                           None)
                if end is not None:
                    out += [run[start:at], self.actual[run[at:end]]]
                    start = at = end
                    continue
            at += 1
        return "".join(out) + run[start:] if out else run

    def _bind(self, recorded: str, actual: str) -> None:
        self.actual[recorded] = actual
        self._taken.add(actual)
        self._fresh.append((recorded, actual))
        self._renamed += recorded != actual
        if self.ids.prefix_of(recorded) is None and recorded != actual:
            self._others.add(recorded)
            self._lengths = sorted({len(other) for other in self._others}, reverse=True)
            self._runs = _run(min(self._lengths[-1], _MIN_OTHER_ID))

    def bind(self, recorded: str, actual: str) -> None:
        """Bind ``recorded`` to ``actual`` without an answer to learn it from: the caller knows they name one
        object (explore's cassette names a stand-in the target answered by an id of its own). Either may be of any
        kind or none, and of any length; both are then substituted as whole ids like the ids learnt. Raises
        ValueError for a string no substitution can carry (quotes, spaces, beyond ASCII: ``_ID_SHAPE``), or for
        ``recorded`` bound to another id already."""
        for value in (recorded, actual):
            if not _ID_SHAPE.fullmatch(value):
                raise ValueError(f"{value[:60]!r} is no id a binding can substitute: give letters, digits and "
                                 "_ . : ~ - only, at most 255 of them")
        bound = self.actual.get(recorded)
        if bound is not None and bound != actual:
            raise ValueError(f"{recorded} is bound to {bound} already, not to {actual}: a binding is one to one")
        if bound is None:
            self._bind(recorded, actual)

    def learn(self, recorded: Any, actual: Any, key: Any = None, in_list: bool = False,
              never: Container[str] = (), *, one_to_one: bool = False) -> None:
        """Walk a recorded and an actual response together; bind ids met at the same place.

        An id binds only to one of its kind (``card_`` to ``card_``): a card
        answered as an ``acct_`` is an ``object`` finding where it was minted,
        and every later use of that card is blocked by it. An object's own ``id``
        also binds to an id in a style of the target's (no known prefix, e.g. a
        UUID): later requests must use the name the target gave it. Inside a list,
        an actual id bound already binds no other recorded id: in a list that
        lacks a card the target never attached, the next card moves up and is not
        taken for the missing one. Ids in ``never`` (their creation failed) bind to
        nothing: a later answer that shows another id in their place did not mint them.

        ``one_to_one``: an actual id bound already binds no other recorded id anywhere, not only inside a list
        (explore's way back from a candidate's ids to a reference's: two of the candidate's ids never stand for
        one of the reference's, so the model is never shown the id of another object).
        """
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for child, value in recorded.items():
                if child in actual:
                    self.learn(value, actual[child], child, in_list, never, one_to_one=one_to_one)
        elif isinstance(recorded, list) and isinstance(actual, list):
            for value, other in zip(recorded, actual):
                self.learn(value, other, None, True, never, one_to_one=one_to_one)
        elif isinstance(recorded, str) and recorded not in self.actual and recorded not in never:
            if not isinstance(actual, str) or not _ID_SHAPE.fullmatch(actual) or \
                    ((in_list or one_to_one) and actual in self._taken):
                return
            prefix = self.ids.prefix_of(recorded)
            if prefix is None:
                if key == "id" and self._bindable_other(recorded) and actual not in self._taken:
                    self._bind(recorded, actual)  # an object's own id of a kind the table does not know
                return
            kind = actual.split("_", 1)[0] if "_" in actual else None
            if kind == prefix or (key == "id" and not self.ids.knows(kind)):
                self._bind(recorded, actual)

    def expected(self, recorded: Any, actual: Any, learn: bool, minted: dict[str, Any],
                 never: Container[str] = ()) -> Any:
        """The recorded JSON as the target should have answered it: its ids rewritten to the target's. Ids the
        recording names that are not bound yet are learnt from ``actual`` first when ``learn`` (the same status,
        a JSON answer), and each fresh binding names the target's id as ``minted`` names the recorded one. One
        serialization serves the binding check and the substitution; the recorded object itself comes back when
        nothing was rewritten."""
        recorded_text = json.dumps(recorded, ensure_ascii=False)
        expected_text, unbound = self.rewrite(recorded_text)
        if unbound and learn:
            self.learn(recorded, actual, never=never)
            expected_text, _ = self.rewrite(recorded_text)
            for recorded_id, actual_id in self.take_fresh():  # the target's ids go by the same names
                if recorded_id in minted and actual_id not in minted:
                    minted[actual_id] = minted[recorded_id]
        return json.loads(expected_text) if expected_text != recorded_text else recorded

    def take_fresh(self) -> list[tuple[str, str]]:
        """(recorded, actual) pairs bound since the last call: what a caller keeps beside the bindings follows
        them without walking every binding again."""
        fresh, self._fresh = self._fresh, []
        return fresh

    def text(self, value: str) -> str:
        """A string with every bound id inside it replaced (paths, urls, messages)."""
        if not self._renamed:
            return value
        if "_" in value:
            value = self._finder.sub(lambda match: self.actual.get(match.group(0), match.group(0)), value)
        return self._replace_others(value)

    def substitute(self, value: Any) -> Any:
        """Data with bound ids replaced in every string, keys included.

        Done on the JSON text in one pass (bound ids hold no character JSON escapes: ``_ID_SHAPE``),
        several times faster than walking the data.
        """
        if not self._renamed or not value or isinstance(value, (bool, int, float)):
            return value  # nothing bound, or nothing a binding could be in (an empty query, list, string)
        if isinstance(value, str):
            return self.text(value)
        text = json.dumps(value, ensure_ascii=False)
        replaced = self.text(text)
        return value if replaced == text else json.loads(replaced)

    def _bindable_other(self, recorded: str) -> bool:
        """A recorded own id of no known kind that may bind: id-shaped and long enough to be no common word."""
        return self.ids.prefix_of(recorded) is None and len(recorded) >= _MIN_OTHER_ID and \
            _ID_SHAPE.fullmatch(recorded) is not None
