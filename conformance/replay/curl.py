"""A replayed request as a ``curl`` command a maintainer pastes into a terminal or a bug report.

The key is ``$STRIPE_API_KEY``; everything else is redacted like every output,
except the API's documented test card numbers, which are public (``4242…``): a
token request reproduces with the card it sent. A card number the recording
did not keep (any other number, redacted to ``[REDACTED:card-number]``) becomes
``"$CARD_NUMBER"``, and the line says to fill it in.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from conformance.api_profile import TestCards
from conformance.redaction import Redactor

__all__ = ["CurlRequest", "curl_command", "FILL_IN"]

FILL_IN = "CARD_NUMBER"
# A card number's marker left in what was sent, as written or percent-encoded (a form's value).
_NUMBER_MARKER = re.compile(
    r"\[REDACTED:card-number[a-z0-9_:-]*\]|" + re.escape(quote("[REDACTED:card-number")) + r"[a-z0-9_%-]*?%5D",
    re.IGNORECASE)


# A marker naming a documented test card (``[REDACTED:card-number:visa-4242]``), as written or percent-encoded.
_NAMED_MARKER = re.compile(r"(?:\[|%5B)REDACTED(?::|%3A)card-number(?::|%3A)([a-z0-9-]+)(?:\]|%5D)", re.IGNORECASE)


def _test_number(match: re.Match[str], cards: TestCards) -> str:
    card = cards.by_alias(match.group(1).lower())
    return card.number if card is not None else match.group(0)


@dataclass(frozen=True)
class CurlRequest:
    """A request as sent: the URL with its query, the headers, and the body (a multipart body as its parts)."""

    method: str
    url: str
    headers: Mapping[str, str]
    content: bytes = b""
    parts: list[dict[str, Any]] | None = None


def _form_options(parts: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """curl's own multipart options: a field as the text it was (``--form-string``: no ``@`` or ``<`` magic), a
    file as ``@`` its recorded name — the maintainer's file of that name, as the cassette keeps no file's bytes."""
    options = []
    for part in parts:
        if "filename" in part:
            kind = f";type={part['content_type']}" if "content_type" in part else ""
            options.append(("-F", f"{part['name']}=@{part['filename']}{kind}"))
        else:
            options.append(("--form-string", f"{part['name']}={part.get('text', '')}"))
    return options


def _words(request: CurlRequest, skip_headers: frozenset[str]) -> list[tuple[str, str | None]]:
    """(option, its argument) in order; the argument None for the command's own words."""
    words: list[tuple[str, str | None]] = [("curl", None), ("-X", request.method), ("", request.url)]
    for name, value in request.headers.items():
        if name == "Authorization":
            words.append(("-H", None))
        elif name in skip_headers or (name == "Content-Type" and request.parts is not None):
            continue  # curl frames a multipart form itself, with its own boundary
        else:
            words.append(("-H", f"{name}: {value}"))
    if request.parts is not None:
        words += _form_options(request.parts)
    elif request.content:
        words.append(("--data-raw", request.content.decode("utf-8", "replace")))
    return words


def _shown(text: str, cards: TestCards, redactor: Redactor) -> tuple[str, bool]:
    """One argument, quoted for a shell: redacted but for the test card numbers; a card number the recording
    did not keep spliced in as ``"$CARD_NUMBER"``. Also whether it did."""
    kept = {f"TESTCARDNUMBER{n}X": card.number for n, card in enumerate(cards.cards) if card.number in text}
    for placeholder, number in kept.items():
        text = re.sub(rf"(?<![0-9]){number}(?![0-9])", placeholder, text)
    text = redactor.text(text)
    for placeholder, number in kept.items():
        text = text.replace(placeholder, number)
    text = _NAMED_MARKER.sub(lambda m: _test_number(m, cards), text)  # a test card written otherwise (4242 4242…)
    pieces = _NUMBER_MARKER.split(text)
    if len(pieces) == 1:
        return shlex.quote(text), False
    return f'"${FILL_IN}"'.join(shlex.quote(piece) if piece else "" for piece in pieces), True


def curl_command(request: CurlRequest, cards: TestCards, redactor: Redactor,
                 skip_headers: frozenset[str] = frozenset()) -> str:
    """The command; ``skip_headers`` are left out (an idempotency key: a fresh one each time)."""
    out: list[str] = []
    fill_in = False
    for option, argument in _words(request, skip_headers):
        if option == "curl":
            out.append("curl")
            continue
        if option == "-H" and argument is None:
            out += ["-H", '"Authorization: Bearer $STRIPE_API_KEY"']
            continue
        shown, spliced = _shown(argument or "", cards, redactor)
        fill_in = fill_in or spliced
        out += [option, shown] if option else [shown]
    line = " ".join(out)
    if fill_in:
        line += (f"  # set {FILL_IN} first: the recording kept no card number here (it is no documented test "
                 "card's)")
    return line
