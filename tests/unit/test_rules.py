"""The rule object: what a rule means travels with it, and an API profile brings its own rules."""

from __future__ import annotations

import pytest

from conformance.api_profile import Judgement, RuleSet, RuleState
from conformance.errors import ApiProfileError
from conformance.findings import CassetteResult, Finding, InteractionResult, RunResult
from conformance.report.causes import root_causes
from conformance.report.profile import presets
from conformance.rules import ENGINE_RULES, RULES, Family, Group, MatrixRow, Rule, Severity, canonical_rule_id, register, rule
from conformance.stripe import STRIPE


@pytest.fixture(autouse=True)
def registry():
    """The registry as it was: rules these tests register are theirs only."""
    saved = dict(RULES)
    yield
    RULES.clear()
    RULES.update(saved)


def test_the_engine_registry_holds_only_generic_rules():
    assert {r.family for r in ENGINE_RULES} == {Family.COMPARISON, Family.CONTRACT, Family.RUN}
    engine = {r.id for r in ENGINE_RULES}
    assert not engine & {"invariant.card", "invariant.deleted", "card.fingerprint", "idempotency.replay"}
    # the profile's are registered for lookup by id once it is imported (reports read ids back)
    assert {r.id for r in STRIPE.rules.rules} - engine <= set(RULES)


def test_the_dominant_rules_rank_as_before():
    ranked = sorted((r for r in RULES.values() if r.dominates), key=lambda r: r.dominates)
    assert [r.id for r in ranked] == ["setup.token", "target.connection", "target.timeout", "target.protocol",
                                      "route.missing", "body.json",
                                      # a documented rule that says what the whole answer must be (a refusal)
                                      "card.deleted_unchangeable", "card.other_customer", "request.read_only",
                                      "request.unknown_parameter", "request.invalid_expiry", "invariant.deleted_card"]


def test_matrix_rows_come_from_the_profile_s_rules():
    assert STRIPE.rules.ids(MatrixRow.DOCUMENTED) == ("invariant.card", "invariant.deleted", "invariant.deleted_card",
                                                      "invariant.default_source", "invariant.list", "invariant.error")
    assert STRIPE.matrix_rules == ("card.fingerprint", "idempotency.replay", "idempotency.mismatch",
                                   "idempotency.validation")


def test_a_rule_registered_again_refines_its_traits_or_is_refused():
    first = Rule("test.refined", Severity.WARNING, "a rule of this test", "this test")
    register(first)
    register(Rule("test.refined", Severity.WARNING, "a rule of this test", "this test", matrix=MatrixRow.BEYOND))
    assert rule("test.refined").matrix is MatrixRow.BEYOND
    with pytest.raises(ValueError, match="another meaning"):
        register(Rule("test.refined", Severity.FAILURE, "something else", "this test"))


def _finds_odd(route, method, path, query, status, body, state):
    """A documented check of this test: a body's ``n`` is even."""
    if not isinstance(body, dict) or "n" not in body:
        state.not_judged.append(("test.even", "no n"))
        return []
    state.judged.add("test.even")
    return [Finding("test.even", "n", "n: expected an even number", "even", body["n"])] if body["n"] % 2 else []


def _even() -> RuleSet:
    """A rule set of this test (made in a test: registering it outside one would leak into the registry)."""
    return RuleSet((Rule("test.even", Severity.FAILURE, "a body's n is even", "this test", matrix=MatrixRow.BEYOND),),
                   (_finds_odd,))


def test_a_rule_set_returns_what_it_judged_and_keeps_none_of_it():
    even = _even()
    state = even.new_state()
    odd = even.judge(None, "GET", "/n", {}, 200, {"n": 3}, state)
    assert [f.rule for f in odd.findings] == ["test.even"] and odd.judged == {"test.even"} and not odd.not_judged
    assert (state.judged, state.not_judged) == (set(), [])
    assert even.judge(None, "GET", "/n", {}, 200, {}, state) == Judgement([], frozenset(), (("test.even", "no n"),))


def test_a_profile_extended_with_rules_judges_them_and_shows_them_in_the_matrix():
    wider = STRIPE.extended("stripe+even", rules=_even())
    assert wider.matrix_rules == (*STRIPE.matrix_rules, "test.even")
    state = wider.rules.new_state()
    judged = wider.rules.judge(None, "GET", "/v1/n", {}, 200, {"n": 1}, state)
    assert [f.rule for f in judged.findings] == ["test.even"]
    assert STRIPE.rules.judge(None, "GET", "/v1/n", {}, 200, {"n": 1}, STRIPE.rules.new_state()).findings == []


def test_two_rule_sets_that_keep_their_own_state_are_not_composed():
    class Other(RuleState):
        pass

    with pytest.raises(ApiProfileError, match="state of their own"):
        STRIPE.rules.extended(RuleSet(state=Other))


def test_a_preset_stands_for_the_rules_that_belong_to_it_and_the_profile_s_patterns():
    stateless = presets()["stateless"][1]
    assert {"id.binding", "list.order", "invariant.deleted_card", "card.fingerprint", "value:card",
            "status:404->2*"} <= set(stateless)
    assert "invariant.card" not in stateless
    assert set(presets()["one-type"][1]) == {"object", "id.prefix", "answer-kind"}


def test_an_old_report_s_rule_id_reads_as_the_rule_it_became():
    assert canonical_rule_id("invariant.deleted-card") == "invariant.deleted_card"
    assert canonical_rule_id("value") == "value"


def test_a_rule_s_traits_decide_its_cause_not_its_id():
    """A profile's own rule that says it is a wrong kind of answer makes its interaction's other findings
    symptoms, and reads in its own words, with no change to the report code."""
    register(Rule("test.kind", Severity.FAILURE, "a thing answers a thing", "this test", wrong_kind="object",
                  right_kind_reads="the thing asked for"))
    interaction = InteractionResult(0, "things.get", "GET", "/v1/things/t_1", 200)
    interaction.findings = [Finding("test.kind", "object", "object: expected thing, got widget", "thing", "widget"),
                            Finding("value", "name", "name: expected a, got b", "a", "b")]
    causes = root_causes(_run_of(interaction))
    assert len(causes) == 1 and causes[0].symptoms == 2
    assert causes[0].message == "answers a widget object, not the thing asked for"
    assert rule("test.kind").group is Group.SPOT


def _run_of(interaction: InteractionResult) -> RunResult:
    cassette = CassetteResult("x.yaml", "x")
    cassette.interactions.append(interaction)
    return RunResult("http://127.0.0.1:1", [cassette])


def test_a_finding_of_a_rule_this_process_has_not_registered_reads_with_default_traits():
    """A report written with a profile's own rule, read without that profile: its finding groups as any rule
    with no trait would, never a KeyError."""
    from conformance.report.json_report import ReadFinding

    interaction = InteractionResult(0, "things.get", "GET", "/v1/things/t_1", 200)
    interaction.findings = [ReadFinding("elsewhere.rule", "n", "n: odd", "even", 3, Severity.FAILURE),
                            Finding("value", "name", "name: expected a, got b", "a", "b")]
    causes = root_causes(_run_of(interaction))
    assert sorted(c.rule for c in causes) == ["elsewhere.rule", "value"]
    assert next(c for c in causes if c.rule == "elsewhere.rule").message == "n: odd"


def test_a_profile_extended_twice_with_the_same_rules_judges_them_once():
    even = _even()
    twice = STRIPE.extended("a", rules=even).extended("b", rules=even)
    found = twice.rules.judge(None, "GET", "/v1/n", {}, 200, {"n": 1}, twice.rules.new_state()).findings
    assert [f.rule for f in found] == ["test.even"]


def test_a_rules_module_without_rules_is_named(tmp_path, monkeypatch):
    from conformance.stripe.rules import more_rules

    package = tmp_path / "extra_rules_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "rules_empty.py").write_text("CHECKS = ()\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match=r"extra_rules_pkg\.rules_empty defines no RULES"):
        more_rules(package, "extra_rules_pkg")


def test_explore_sends_every_read_only_attribute_run_refuses_and_only_those():
    """The request rules' lists (run judges by them) and explore's refused updates (what it sends) say the same."""
    from conformance.stripe.explore import REFUSED_UPDATES
    from conformance.stripe.sequence_rules import READ_ONLY, UPDATABLE

    read_only = {name for _, form, rule in REFUSED_UPDATES if rule == "request.read_only" for name in form}
    unknown = {name for _, form, rule in REFUSED_UPDATES if rule == "request.unknown_parameter" for name in form}
    assert read_only == READ_ONLY
    assert unknown and not unknown & (UPDATABLE | READ_ONLY)
