"""``conformance check``: lint cassettes before they are trusted.

A cassette passes when it loads (format and version), holds no secret the
redaction should have removed, and can be replayed: every id a request uses
was minted by an earlier response of the same cassette, is one of Stripe's
documented test tokens, or is declared under ``fixtures`` in its header.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from conformance.cassette import Interaction, iter_interactions
from conformance.ids import ID_PATTERN
from conformance.redaction import Redactor
from conformance.testcards import TEST_CARDS

__all__ = ["Problem", "check_cassette", "find_secrets"]

_MARKED = re.compile(r"\[REDACTED:[^\]]*\]")


@dataclass
class Problem:
    path: Path
    line: int | None
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


def find_secrets(text: str, redactor: Redactor) -> list[str]:
    """What the redaction would remove from ``text`` (markers already in place are fine)."""
    redacted = redactor.text(text)
    if redacted == text:
        return []
    return sorted({marker[len("[REDACTED:"):-1] for marker in _MARKED.findall(redacted)}
                  - {marker[len("[REDACTED:"):-1] for marker in _MARKED.findall(text)}) or ["secret"]


def check_cassette(path: Path, redactor: Redactor | None = None) -> list[Problem]:
    """The problems of one cassette; raises CassetteError when it cannot be read at all."""
    redactor = redactor or Redactor()
    problems: list[Problem] = []
    header: dict = {}
    fixtures: set[str] = set()
    minted: set[str] = set()
    for interaction in iter_interactions(path, header):  # streamed; CassetteError: unreadable
        if interaction.index == 1:
            fixtures = set(TEST_CARDS) | {str(f) for f in header.get("fixtures") or []}
        problems.extend(_replayability(path, interaction, minted, fixtures))
    for warning in header.get("warnings", []):
        problems.append(Problem(path, None, warning.split(": ", 1)[-1]))
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            for kind in find_secrets(line, redactor):
                problems.append(Problem(path, number, f"an unredacted {kind}: replace it with [REDACTED:{kind}] "
                                                      "(the recorder does this before writing)"))
    return sorted(problems, key=lambda problem: problem.line or 0)


def _replayability(path: Path, interaction: Interaction, minted: set[str], known: set[str]) -> list[Problem]:
    """Ids the request uses that nothing before it provides; then what its response mints."""
    request = interaction.request
    used = set(ID_PATTERN.findall(request.path))
    used |= set(ID_PATTERN.findall(json.dumps(request.query)))
    if request.body is not None and request.body.kind != "base64":
        used |= set(ID_PATTERN.findall(json.dumps(request.body.value)))
    problems = [
        Problem(path, interaction.line, f"interaction {interaction.index} ({interaction.endpoint}) uses {unknown}, "
                "which no earlier response returned: record the interaction that creates it, or list it under "
                "'fixtures' in the header")
        for unknown in sorted(used - minted - known)
    ]
    body = interaction.response.body
    if body is not None and body.kind != "base64":
        minted |= set(ID_PATTERN.findall(json.dumps(body.value)))
    return problems
