"""What a replay is told: the run's key, the API, how to compare and judge, what to send."""

from __future__ import annotations

from dataclasses import dataclass, field

from conformance.api_profile import ApiProfile, TokenMode
from conformance.checks import CompareRules
from conformance.contract import Contract
from conformance.redaction import Redactor

__all__ = ["ReplayOptions"]


@dataclass(frozen=True)
class ReplayOptions:
    api_key: str
    profile: ApiProfile  # the API: its routes, ids, test cards, documented rules
    rules: CompareRules = field(default_factory=CompareRules)
    redactor: Redactor = field(default_factory=Redactor)
    keep_bodies: bool = True  # keep recorded/actual bodies of deviating interactions for reports
    # "magic": send the profile's test tokens (tok_visa) as recorded; "create": make a token at the target from
    # the test card each stands for, for targets that do not know them (localstripe)
    tokens: TokenMode = "magic"
    contract: Contract | None = None  # --openapi: every answer is also judged by the published contract
    stripe_version: str | None = None  # --stripe-version: sent instead of the recorded Stripe-Version
    probes: tuple[str, ...] = ()  # --probe: extra checks run after recorded interactions (see probe.PROBES)
