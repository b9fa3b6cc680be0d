"""The profile's test cards in a replay: a card number the recording redacted sent as the test card its marker
names (or whose ``last4`` the recorded answer shows), and a refusal of a magic test token explained."""

from __future__ import annotations

from typing import Any

from conformance.api_profile import ApiProfile, TestCards
from conformance.cassette import Interaction
from conformance.findings import Finding
from conformance.rules import traits

__all__ = ["unredacted_card", "hint_magic_tokens"]


def unredacted_card(pairs: list[tuple[str, str]], recorded_response: Any, cards: TestCards) -> list[tuple[str, str]]:
    """Put a test card number (and CVC) where the recording has redaction markers: the card the marker
    names (``[REDACTED:card-number:amex-8431]``), else the one whose ``last4`` the recorded response shows."""
    numbers = [value for key, value in pairs if key == "card[number]" and value.startswith("[REDACTED:")]
    if not numbers:
        return pairs
    named = cards.by_alias(numbers[0][len("[REDACTED:card-number:"):-1]) \
        if numbers[0].startswith("[REDACTED:card-number:") else None
    if named is not None:
        number, cvc = named.number, named.cvc
    else:
        recorded_card = recorded_response.get("card") if isinstance(recorded_response, dict) else None
        card = cards.for_last4(recorded_card.get("last4") if isinstance(recorded_card, dict) else None)
        number, cvc = card.number, card.cvc
    replacements = {"card[number]": number, "card[cvc]": cvc}
    return [(key, replacements[key] if key in replacements and value.startswith("[REDACTED:") else value)
            for key, value in pairs]


def hint_magic_tokens(findings: list[Finding], interaction: Interaction, status: int, answer: str,
                       profile: ApiProfile) -> None:
    """A target that refuses a request carrying a magic test token — naming the token, or 404 — likely does not
    know them (localstripe): the status finding says how to replay against it."""
    body = interaction.request.body.value if interaction.request.body is not None else None
    given = [body.get(key) for key in sorted(profile.token_parameters)] if isinstance(body, dict) else []
    sent = sorted(token for token in given if isinstance(token, str) and token in profile.cards.by_token)
    if not sent or not (status == 404 or any(token in answer for token in sent)):
        return
    for finding in findings:
        if traits(finding.rule).status_code:  # the finding that says the status differs
            finding.message += (f"; the request sent Stripe's magic test token {sent[0]}, which the target may not "
                                "know: replay with --tokens create (each card attached from a token the target makes)")
