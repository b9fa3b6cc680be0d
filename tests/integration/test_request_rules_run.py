"""`run` judges a card update's parameters by the documented request rules (a read-only attribute, an unknown
parameter, an impossible `exp_month`), and where the recorded answer to the same request breaks the rule, the
recording decides: Stripe's answer (or the reference's) is the authority on what the rule's list of parameters may
lack, so a target answering as the recording did is never failed by the rule."""

from __future__ import annotations

import pytest

from conformance.stripe import STRIPE
from conformance.stripe.sequence_rules import check_sequences

from ..stripe_fake import FakeStripe
from .test_explore_run_verdicts import _ATTACH, _CARD, _CUSTOMER, _cassette, _causes, _customer

pytestmark = pytest.mark.integration

_UPDATE = f"/v1/customers/{_CUSTOMER}/sources/{_CARD}"
_CARD_ANSWER = {"id": _CARD, "object": "card", "customer": _CUSTOMER}
_UNKNOWN = {"error": {"type": "invalid_request_error", "code": "parameter_unknown",
                      "message": "Received unknown parameter: brand"}}


def _update_cassette(tmp_path, status, body):
    return _cassette(tmp_path / "update.yaml", "request.read_only", [
        _customer(_CUSTOMER), _ATTACH, ("POST", _UPDATE, {"brand": "MasterCard"}, status, body)])


def test_a_read_only_attribute_the_recording_refused_and_the_target_took_is_request_read_only(tmp_path):
    cassette = _update_cassette(tmp_path, 400, _UNKNOWN)
    with FakeStripe(deviation="read-only-accepted") as target:
        code, causes, output = _causes(cassette, target, tmp_path)
    assert code == 1 and causes == ["request.read_only"], output


def test_where_the_recording_took_the_parameter_the_recording_decides(tmp_path):
    """Recorded as taken (a parameter the rule's list lacks, as a newer API would take): a target that takes it
    too conforms; the rule is not judged there, never 'holds'."""
    cassette = _update_cassette(tmp_path, 200, _CARD_ANSWER)
    with FakeStripe(deviation="read-only-accepted") as target:
        code, causes, output = _causes(cassette, target, tmp_path)
    assert code == 0 and causes == [], output


def _judged(parameters, status, body):
    state = STRIPE.rules.new_state()
    state.parameters = parameters
    route = STRIPE.routes.match("POST", _UPDATE)
    return check_sequences(route, "POST", _UPDATE, {}, status, body, state), state.judged


def _error(code, kind="invalid_request_error"):
    return {"error": {"type": kind, "code": code, "message": "…"}}


@pytest.mark.parametrize("month, code", [("", "parameter_invalid_empty"), ("abc", "parameter_invalid_integer")])
def test_an_exp_month_that_is_no_number_is_another_rule_s(month, code):
    """Stripe refuses an empty or non-numeric exp_month as a parameter error, not a card error: not judged."""
    findings, judged = _judged({"exp_month": month}, 400, _error(code))
    assert findings == [] and "request.invalid_expiry" not in judged


def test_an_unknown_parameter_is_refused_before_an_impossible_month():
    findings, judged = _judged({"exp_month": "13", "colour": "blue"}, 400, _error("parameter_unknown"))
    assert findings == [] and judged >= {"request.unknown_parameter"}
    findings, _ = _judged({"exp_month": "13", "colour": "blue"}, 402, _error("invalid_expiry_month", "card_error"))
    assert [f.rule for f in findings] == ["request.unknown_parameter"]
    assert "colour=blue" in findings[0].message


def test_an_impossible_month_taken_is_request_invalid_expiry():
    findings, _ = _judged({"exp_month": "13"}, 200, _CARD_ANSWER)
    assert [f.rule for f in findings] == ["request.invalid_expiry"] and "exp_month=13" in findings[0].message


@pytest.mark.parametrize("name", ["account_holder_name", "owner.name"])
def test_what_the_endpoint_declares_for_other_sources_is_not_judged_on_a_card(name):
    findings, judged = _judged({name: "Jenny Rosen"}, 200, _CARD_ANSWER)
    assert findings == [] and not judged & {"request.unknown_parameter", "request.read_only"}
