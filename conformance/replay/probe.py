"""Probes: extra requests a replay sends after recorded interactions to check what a cassette cannot show."""

from __future__ import annotations

# The probes `run --probe` accepts. "idempotency": after each recorded POST that carried an Idempotency-Key and
# got a saved answer, send it again with the same key (same answer, nothing new) and once with a changed parameter
# (refused).
PROBES: tuple[str, ...] = ("idempotency",)
