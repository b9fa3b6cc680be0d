"""The checks of every replayed answer, in the order they run: the documentation first, then the recording."""

from __future__ import annotations

import json

from conformance.checks.compare import compare_bodies
from conformance.checks.exchange import CheckState, Exchange, check
from conformance.checks.invariants import check_response
from conformance.findings import Finding
from conformance.text import snippet

__all__ = ["documented_invariants", "status_matches", "body_is_json", "body_matches_recording"]


@check
def documented_invariants(exchange: Exchange, state: CheckState) -> list[Finding]:
    """What Stripe's documentation promises, whatever the recording says."""
    if exchange.body is None:
        return []
    query = exchange.query if isinstance(exchange.query, dict) else {}
    return check_response(exchange.interaction.endpoint, exchange.interaction.request.method, exchange.path, query,
                          exchange.status, exchange.body, state.invariants)


def error_message(body: object) -> str | None:
    """The message of a Stripe error object, on one line."""
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return snippet(message) if isinstance(message, str) else None


@check
def status_matches(exchange: Exchange, state: CheckState) -> list[Finding]:
    recorded = exchange.recorded_status
    if exchange.status == recorded:
        return []
    said = error_message(exchange.body)
    return [Finding("status", "", f"status: expected {recorded}, got {exchange.status}" + (f" ({said})" if said else ""),
                    recorded, exchange.status)]


@check
def body_is_json(exchange: Exchange, state: CheckState) -> list[Finding]:
    if exchange.expected is None or exchange.body_problem is None:
        return []
    return [Finding("body.json", "", exchange.body_problem, "JSON", exchange.body_text)]


@check
def body_matches_recording(exchange: Exchange, state: CheckState) -> list[Finding]:
    """Key by key, under the comparison rules; only when the status agrees (else the bodies differ by design)."""
    expected, actual = exchange.expected, exchange.body
    if expected is None or exchange.body_problem is not None or exchange.status != exchange.recorded_status:
        return []
    # Equal data and equal text (which tells true from 1): nothing to compare, not even minted values.
    if expected == actual:
        expected_text = exchange.expected_text or json.dumps(expected, ensure_ascii=False)
        if expected_text == json.dumps(actual, ensure_ascii=False):
            return []
    return compare_bodies(expected, actual, state.rules, is_error=exchange.recorded_status >= 400,
                          set_fields=state.set_fields)
