"""The errors card-conformance raises for problems a user can fix: one line each, no traceback.

Core code raises these; only the command line turns them into ``Error: …`` and
exit code 2, and the pytest plugin into pytest's own errors. A programming
error is not a :class:`ConformanceError` and keeps its traceback.
"""

from __future__ import annotations

import os

__all__ = ["ConformanceError", "CassetteError", "ReportError", "TargetError", "ProxyError", "UnsafeKeyError", "SpecError",
           "ApiProfileError",
           "LIVE_KEY_PREFIXES", "refuse_live_key"]

LIVE_KEY_PREFIXES = ("sk_live_", "rk_live_")


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


def refuse_live_key(api_key: str, what: str, allow_live: bool = False, allow_flag: str | None = None) -> None:
    """Raise :class:`UnsafeKeyError` for a live key: ``what`` says what the command would do with it, and
    ``allow_flag`` the option that allows it anyway, where there is one."""
    if api_key.startswith(LIVE_KEY_PREFIXES) and not allow_live:
        hint = f" or pass {allow_flag}" if allow_flag else ""
        raise UnsafeKeyError(f"refusing a live API key: {what}; use a test key (sk_test_…){hint}")
