"""What Stripe's profile tells ``run --probe idempotency`` (issue 39): which parameter it changes, how it reverts
the change on a target that executed it, and how a list it reads back names its items."""

from __future__ import annotations

from urllib.parse import parse_qsl

from conformance.replay.probe import PROBES, ProbeDeclaration
from conformance.stripe import STRIPE
from conformance.stripe.idempotency import IDEMPOTENCY, PROBE_PARAMETER

FORM = "application/x-www-form-urlencoded"


def test_stripe_declares_how_to_probe_its_retry_rules():
    assert PROBES == ("idempotency",)
    assert isinstance(STRIPE.retries, ProbeDeclaration)


def test_the_changed_request_adds_one_parameter_and_keeps_the_rest_byte_for_byte():
    body = b"source=tok_visa&metadata%5Border%5D=6735"
    changed = IDEMPOTENCY.changed(body, FORM + "; charset=utf-8")
    assert changed is not None and changed.startswith(body + b"&")
    assert parse_qsl(changed.decode()) == [*parse_qsl(body.decode()), (PROBE_PARAMETER, "changed")]
    assert parse_qsl(IDEMPOTENCY.changed(b"", FORM).decode()) == [(PROBE_PARAMETER, "changed")]


def test_a_body_that_is_no_form_is_not_changed():
    assert IDEMPOTENCY.changed(b'{"a": 1}', "application/json") is None
    assert IDEMPOTENCY.reverted("multipart/form-data; boundary=x") is None


def test_the_revert_unsets_the_probe_parameter():
    assert parse_qsl(IDEMPOTENCY.reverted(FORM).decode(), keep_blank_values=True) == [(PROBE_PARAMETER, "")]


def test_only_a_whole_list_names_its_items():
    page = {"object": "list", "data": [{"id": "card_1"}, {"id": "card_2"}, "x"], "has_more": False}
    assert IDEMPOTENCY.listed(page) == ["card_1", "card_2"]
    assert IDEMPOTENCY.listed({**page, "has_more": True}) is None
    assert IDEMPOTENCY.listed({"object": "card", "id": "card_1"}) is None
    assert IDEMPOTENCY.listed(None) is None


def test_the_profile_builds_the_probes_findings_under_its_own_retry_rules():
    """The engine's probe names no rule: what a repeat without an answer, an unchangeable body, a list read back
    and an undo left behind mean is the profile's to say."""
    assert IDEMPOTENCY.unanswered(True, "no answer").rule == "idempotency.replay"
    assert IDEMPOTENCY.unanswered(False, "no answer").rule == "idempotency.mismatch"
    rule, why = IDEMPOTENCY.unchangeable("application/json")
    assert rule == "idempotency.mismatch" and "(application/json)" in why
    unnamed, twice = IDEMPOTENCY.listed_again("GET /v1/customers/cus_1/sources lists", ["card_9"], {"card_1": 2})
    assert (unnamed.rule, unnamed.actual, twice.rule, twice.actual) == \
        ("idempotency.replay", ["card_9"], "idempotency.replay", 2)
    assert "card_1 twice: executed again" in twice.message
    assert IDEMPOTENCY.listed_again("said", [], {}) == []
    left = IDEMPOTENCY.left("metadata.conformance_probe", "changed", f"{PROBE_PARAMETER}=", "card")
    assert (left.rule, left.problem, left.kind, left.actual) == \
        ("value", "parameters-not-applied", "card", "changed")
