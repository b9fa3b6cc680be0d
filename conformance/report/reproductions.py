"""A root cause's minimal cassette (``run --repro-dir``), as the reports link it.

The replay side cuts a cassette down to the fewest interactions that still show a cause
(``conformance/replay/repro.py``); the reports only read what it made: the file, the command that replays it, which
interactions of the run's cassette it holds, and why it may not be the smallest (a cap hit) or was not written.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.report.causes import CauseKey

__all__ = ["Reproduction", "Reproductions", "relative_link"]


@dataclass(frozen=True)
class Reproduction:
    """One cause's repro cassette; ``path`` None when none was written (``note`` says why)."""

    path: Path | None
    command: str  # what to type: conformance run PATH --target URL (and the run's judging options)
    source: str  # the run's cassette it was cut from
    kept: tuple[int, ...]  # the interactions of ``source`` it holds, in order (the cause's own one last)
    total: int  # how many interactions ``source`` holds
    replays: int  # candidate replays it took
    note: str = ""  # a cap hit (the smallest found so far), or why no cassette was written

    def summary(self) -> str:
        """``3 of cards-delete.yaml's 16 interactions (#1, #2, #6)``, then the note."""
        if self.path is None:
            return self.note
        kept = ", ".join(f"#{index}" for index in self.kept)
        text = f"{len(self.kept)} of {Path(self.source).name}'s {self.total} interactions ({kept})"
        return f"{text}; {self.note}" if self.note else text

    def line(self) -> str:
        """The terminal's and JUnit's line: the command and what it holds, or why there is none."""
        if self.path is None:
            return f"no repro cassette: {self.note}"
        return f"reproduce: {self.command}  # {self.summary()}"

    def to_dict(self) -> dict[str, Any]:
        return {"cassette": str(self.path) if self.path is not None else None, "command": self.command
                if self.path is not None else None, "source": self.source, "interactions": list(self.kept),
                "of": self.total, "replays": self.replays, "note": self.note or None}


# The repro cassettes of a run, by the key of the root cause each reproduces.
Reproductions = Mapping[CauseKey, Reproduction]


def relative_link(target: Path, report: Path) -> str:
    """``target`` as a link from a report written at ``report`` (relative, so the two move together)."""
    try:
        return Path(os.path.relpath(target.resolve(), report.resolve().parent)).as_posix()
    except ValueError:  # another drive
        return target.resolve().as_posix()
