"""What public sources disagree on is the profile's, but only a comparison whose expected answers are no authority
takes it: a recording from the API itself is compared exactly there, unless its header says otherwise."""

from __future__ import annotations

from conformance.checks.compare import CompareRules, compare_bodies
from conformance.checks.exchange import CheckState
from conformance.explore.cassette import _disputed
from conformance.explore.reference import reference_rules
from conformance.stripe import STRIPE

CUSTOMER = {"id": "cus_NhD8HD2bY8dP3V", "object": "customer", "currency": "usd", "preferred_locales": ["en"]}
NULLS = {**CUSTOMER, "currency": None, "preferred_locales": None}
LIMIT = {"error": {"type": "invalid_request_error", "code": "parameter_invalid_integer", "param": "limit",
                   "message": "This value must be between 1 and 100."}}
OTHER_CODE = {"error": {**LIMIT["error"], "code": "parameter_unknown"}}


def test_run_compares_a_recording_without_a_header_exactly_where_sources_disagree():
    rules = CheckState(profile=STRIPE, rules=CompareRules()).rules
    assert sorted(f.path for f in compare_bodies(CUSTOMER, NULLS, rules)) == ["currency", "preferred_locales"]
    assert [f.path for f in compare_bodies(LIMIT, OTHER_CODE, rules, is_error=True)] == ["error.code"]


def test_a_header_saying_so_makes_run_take_either_sources_answer():
    rules = CheckState(profile=STRIPE, rules=CompareRules()).rules.with_overrides(
        nullable=("currency", "preferred_locales"))
    assert compare_bodies(CUSTOMER, NULLS, rules) == []


def test_explore_reference_takes_the_profiles_disputed_keys():
    assert compare_bodies(CUSTOMER, NULLS, reference_rules(STRIPE)) == []
    assert compare_bodies(LIMIT, OTHER_CODE, reference_rules(STRIPE), is_error=True) == []


def test_explore_s_cassette_header_says_what_it_compared_loosely():
    plain = _disputed(STRIPE, [CUSTOMER])
    assert plain == {"loose": ["error.message", "error.param"], "nullable": ["currency", "preferred_locales"],
                     "ignore": ["wallet"]}
    assert _disputed(STRIPE, [CUSTOMER, LIMIT])["loose"] == ["error.message", "error.param", "error.code"]
