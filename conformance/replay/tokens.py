"""``--tokens create``: a token the target makes from a test card, sent where a magic test token (``tok_visa``)
would be.

A target that does not know the API's magic test tokens (localstripe refuses them) can still attach a card: the
card the magic token stands for is sent to the profile's ``token_path`` first, and the token made there is sent
instead. ``run`` and ``explore`` make tokens the same way, here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from conformance.api_profile import TestCard
from conformance.replay.transport import TargetAnswer, TargetClient
from conformance.text import snippet

__all__ = ["MadeToken", "make_token"]


@dataclass(frozen=True)
class MadeToken:
    """What the target made of a test card: its token (None when it made none) and its answer (None when none)."""

    id: str | None
    answer: TargetAnswer | None

    def said(self) -> str:
        """The answer in a few words, for a finding or an error line: ``400: {"error": …}``, or ``no answer``."""
        if self.answer is None:
            return "no answer"
        return f"{self.answer.status_code}: {snippet(self.answer.text, 120)}"


def make_token(client: TargetClient, token_path: str, card: TestCard, headers: Mapping[str, str]) -> MadeToken:
    """POST the test card to ``token_path`` with ``headers`` (the key, the API version): the token made, or why
    none was. The expiry is a valid one three years ahead: a test card's own is not documented."""
    form = {"card[number]": card.number, "card[cvc]": card.cvc, "card[exp_month]": "12",
            "card[exp_year]": str(time.gmtime().tm_year + 3)}
    sent = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    try:
        answer = client.request("POST", token_path, headers=sent, content=urlencode(form).encode())
        made = answer.json().get("id") if answer.status_code == 200 else None
    except (httpx.HTTPError, ValueError, AttributeError):
        return MadeToken(None, None)
    return MadeToken(made if isinstance(made, str) and made else None, answer)
