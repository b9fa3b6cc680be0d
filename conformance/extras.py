"""The optional parts of the install, and the one clear line when a command needs one that is missing.

``pip install card-conformance`` is the core: replaying, checking, comparing, the matrix, importing, the docs
and the pytest plugin need httpx and friends, never mitmproxy or the stripe SDK, so adding the plugin to an
application's test environment stays light and cannot clash with its pins. The rest comes in extras, as
``pyproject.toml`` declares them; this module is the one table of which command needs which, read by the command
line before a command runs, and of which module comes with which extra, for an import that fails later.
"""

from __future__ import annotations

import importlib.util

from conformance.errors import ConformanceError

__all__ = ["EXTRAS", "MODULE_EXTRAS", "COMMAND_EXTRAS", "MissingExtra", "extra_of_module", "missing_modules", "require_extra"]

# extra -> (what it is for, the modules it brings that the tool imports)
EXTRAS: dict[str, tuple[str, tuple[str, ...]]] = {
    "proxy": ("record and serve", ("mitmproxy",)),
    "suite": ("capture: the reference suite re-recorded", ("stripe", "mitmproxy")),
    "demo": ("the demo's local target", ("localstripe", "aiohttp")),
}

# a module the tool imports -> the extra that brings it
MODULE_EXTRAS: dict[str, str] = {"mitmproxy": "proxy", "stripe": "suite", "localstripe": "demo", "aiohttp": "demo"}

# command -> the extra it cannot start without
COMMAND_EXTRAS: dict[str, str] = {"record": "proxy", "serve": "proxy", "capture": "suite", "demo": "demo"}


class MissingExtra(ConformanceError):
    """A part of the install a command needs is not there: the message names the extra to install."""

    def __init__(self, extra: str, what: str, modules: list[str]) -> None:
        self.extra = extra
        modules_text = " and ".join(modules)
        super().__init__(f"{what} needs {modules_text}, which the '{extra}' extra installs ({EXTRAS[extra][0]}): "
                         f"pip install 'card-conformance[{extra}]'")


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` this interpreter cannot import (found without importing them: no start-up cost)."""
    missing = []
    for module in EXTRAS[extra][1]:
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(module)
    return missing


def require_extra(extra: str, what: str) -> None:
    """Raise :class:`MissingExtra` unless every module of ``extra`` is installed; ``what`` names the asker
    (``conformance record``)."""
    missing = missing_modules(extra)
    if missing:
        raise MissingExtra(extra, what, missing)


def extra_of_module(name: str | None) -> str | None:
    """The extra that brings the module ``name`` (``mitmproxy.net`` -> ``proxy``), or None for one of the core's."""
    return MODULE_EXTRAS.get((name or "").partition(".")[0])
