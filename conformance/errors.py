"""The errors card-conformance raises for problems a user can fix: one line each, no traceback.

Core code raises these; only the command line turns them into ``Error: …`` and
exit code 2, and the pytest plugin into pytest's own errors. A programming
error is not a :class:`ConformanceError` and keeps its traceback.
"""

from __future__ import annotations

import os
import re
import unicodedata

__all__ = ["ConformanceError", "CassetteError", "ReportError", "TargetError", "ProxyError", "UnsafeKeyError", "SpecError",
           "ApiProfileError",
           "LIVE_KEY_PREFIXES", "refuse_live_key", "normalized_key"]

LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")
_LIVE_KEY = re.compile("|".join(map(re.escape, LIVE_KEY_PREFIXES)), re.IGNORECASE)


class ConformanceError(Exception):
    """Bad input or environment: a cassette, a report, a URL, a port, a key. The message is one line."""


class CassetteError(ConformanceError):
    """A cassette that cannot be used, with the place and the problem in one line."""

    def __init__(self, path: str | os.PathLike[str], line: int | None, problem: str) -> None:
        self.path = str(path)
        self.line = line
        self.problem = problem
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.problem}"


class ReportError(ConformanceError):
    """A report that cannot be read (as a baseline, or for ``compare``) or written."""


class TargetError(ConformanceError):
    """The target (or an upstream) is not there, cannot be started, or its URL is not one."""


class ProxyError(ConformanceError):
    """mitmdump cannot listen where asked, or stopped at start-up."""


class SpecError(ConformanceError):
    """An OpenAPI description (``--openapi``) that cannot be read or is not OpenAPI 3."""


class ApiProfileError(ConformanceError):
    """An ``--api`` that names no API profile, or one that cannot be imported."""


class UnsafeKeyError(ConformanceError):
    """A live API key where only test keys are safe."""


def normalized_key(api_key: str) -> str:
    """An API key as a server reads it: without the spaces, tabs, newlines and invisible characters (a
    zero-width space, a byte-order mark) a copy and paste leaves around it — HTTP drops them around a header
    value, so `` sk_live_…`` authenticates as ``sk_live_…`` does."""
    start, end = 0, len(api_key)
    while start < end and _blank(api_key[start]):
        start += 1
    while end > start and _blank(api_key[end - 1]):
        end -= 1
    return api_key[start:end]


def _blank(character: str) -> bool:
    return character.isspace() or unicodedata.category(character) in ("Cf", "Cc", "Zs")


def refuse_live_key(api_key: str, what: str, allow_live: bool = False, allow_flag: str | None = None) -> str:
    """Raise :class:`UnsafeKeyError` for a live key: ``what`` says what the command would do with it, and
    ``allow_flag`` the option that allows it anyway, where there is one. The key is judged as a server would read
    it (:func:`normalized_key`), and a live key anywhere in it counts (``Bearer sk_live_…`` given as the key,
    ``SK_LIVE_…``); returns the normalized key, the one to send."""
    key = normalized_key(api_key)
    if _LIVE_KEY.search(key) and not allow_live:
        hint = f" or pass {allow_flag}" if allow_flag else ""
        raise UnsafeKeyError(f"refusing a live API key: {what}; use a test key (sk_test_…){hint}")
    return key
