"""The matrix's cells from results, profiles of known limitations, and comparing matrices."""

from __future__ import annotations

import copy
import json

import pytest

from conformance.errors import ReportError
from conformance.findings import CassetteResult, Finding, InteractionResult, RunResult
from conformance.report.causes import RootCause
from conformance.report.matrix import build_matrix, compare_matrices, matrix_exit_code
from conformance.report.profile import read_profiles
from conformance.rules import Severity
from conformance.stripe import STRIPE

LIST = "GET /v1/customers/:customer/cards"
RETRIEVE = "GET /v1/customers/:customer/cards/:card"
DELETE = "DELETE /v1/customers/:customer/sources/:card"


def interaction(index, method, path, *, status=200, actual=200, findings=(), judged=(), covers=(), blocked_by=None,
                blocked_id=None):
    result = InteractionResult(index, "", method, path, status, actual, list(findings))
    result.judged, result.covers = list(judged), list(covers)
    result.blocked_by, result.blocked_id = blocked_by, blocked_id
    return result


def run(*interactions, error=None):
    cassette = CassetteResult("cassettes/x.yaml", "x", list(interactions), error=error)
    return RunResult("http://127.0.0.1:1", [cassette])


def deleted_false():
    return Finding("invariant.deleted", "deleted", "deleted: expected true, got false", True, False, kind="card",
                   key_path="deleted")


def sample():
    return run(
        interaction(1, "GET", "/v1/customers/cus_1/cards?limit=3", judged=["invariant.list"], covers=["invariant.list"]),
        interaction(2, "DELETE", "/v1/customers/cus_1/sources/card_1", findings=[deleted_false()],
                    judged=["invariant.deleted"], covers=["invariant.deleted"]),
        # the recording judges the deleted card here; the target's answer was blocked by #2
        interaction(3, "GET", "/v1/customers/cus_1/cards/card_9", status=404, actual=200,
                    findings=[Finding("status", "", "status: expected 404, got 200", 404, 200, consequence_of=2)],
                    covers=["invariant.deleted_card"], blocked_by=2, blocked_id="card_9"),
    )


def test_each_state_of_a_cell():
    matrix = build_matrix({"t": sample()}, {}, ["cassettes/x.yaml"], api=STRIPE)
    cells = {row: by_target["t"] for row, by_target in matrix["cells"].items()}
    assert cells["invariant.list"] == {"state": "holds", "judged": 1}
    assert cells[LIST]["state"] == "holds"
    assert cells["invariant.deleted"]["state"] == cells[DELETE]["state"] == "broken"
    problem = cells["invariant.deleted"]["problems"][0]
    assert problem["number"] == 1 and problem["rule"] == "invariant.deleted" and problem["known"] is None
    assert problem["interaction"]["index"] == 2 and problem["findings"][0]["actual"] == "false"
    # covered by the recording, not judged at the target: why, never a pass
    assert cells["invariant.deleted_card"]["state"] == "not judged"
    assert "x.yaml #3: blocked by #2 (the request needs card_9" in cells["invariant.deleted_card"]["reasons"][0]
    assert cells[RETRIEVE]["state"] == "not judged"
    # nothing in the suite judges it
    assert cells["invariant.error"]["state"] == cells["list.order"]["state"] == "not covered"
    assert cells["POST /v1/customers/:customer/cards"]["state"] == "not covered"
    assert matrix_exit_code(matrix) == 1


def test_a_profile_makes_a_problem_known_and_the_exit_code_follows(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("t:\n  - rule: invariant.deleted:deleted\n    reason: it answers false\n"
                       "  - preset: stateless\n    reason: none kept\n")
    matrix = build_matrix({"t": sample()}, read_profiles([profile]), [], api=STRIPE)
    cell = matrix["cells"]["invariant.deleted"]["t"]
    assert cell["state"] == "known" and cell["problems"][0]["known"] == \
        f"it answers false (invariant.deleted:deleted, {profile}:2)"
    assert matrix_exit_code(matrix) == 0
    # a preset none of whose patterns matched, where the run judged routes that hold: fixed, remove it
    used, preset = matrix["targets"][0]["limitations"]
    assert used["state"] == "in use" and used["problems"] == [1]
    assert preset["said"] == "preset stateless" and preset["state"] == "fixed" and preset["problems"] == []
    assert preset["strict"][0] == f"{profile}:4: preset stateless: fixed — no problem matches it and the behaviour " \
                                  "it names holds: remove the limitation"


def test_input_errors_and_interruptions_win_over_the_cells():
    matrix = build_matrix({"t": run(error="x.yaml:3: not a cassette")}, {}, [], api=STRIPE)
    assert matrix_exit_code(matrix) == 2
    assert matrix_exit_code(build_matrix({"t": sample()}, {}, [], api=STRIPE), interrupted_by=2) == 130


def cause(rule, key, paths=(), endpoints=(), kind=None):
    return RootCause(rule, endpoints[0] if endpoints else "", "", "", Severity.FAILURE, key, kind, list(endpoints),
                     list(paths))


@pytest.mark.parametrize(("pattern", "root", "matches"), [
    ("route.missing:GET /v1/customers/:customer/cards", cause("route.missing", ("route.missing", LIST)), True),
    ("route.missing:GET /v1/customers/:customer/cards", cause("route.missing", ("route.missing", RETRIEVE)), False),
    ("status:404->2*", cause("status", ("status", "cards.retrieve", "404", "200")), True),
    ("status:404->2*", cause("status", ("status", "cards.update", "402", "200")), False),
    ("value:card", cause("value", ("value", "card", "brand", '"a"', '"b"'), ["brand"], kind="card"), True),
    ("parameters-not-applied", cause("type", ("problem", "parameters-not-applied", "card")), True),
    ("keys.missing:invoice_*", cause("keys.missing", ("keys.missing", "customer"), ["balance", "invoice_prefix"]),
     True),
])
def test_a_limitation_matches_by_rule_and_what_the_problem_is_about(tmp_path, pattern, root, matches):
    profile = tmp_path / "p.yaml"
    profile.write_text(f"t:\n  - rule: {pattern!r}\n    reason: r\n".replace("'", '"'))
    assert (read_profiles([profile])["t"].known(root) is not None) == matches


@pytest.mark.parametrize(("text", "message"), [
    ("- a\n", "p.yaml: a profile maps target names"),
    ("t: [\n", "p.yaml:2: not YAML"),
    ("t:\n  - preset: nope\n    reason: r\n", "p.yaml:2: unknown preset 'nope' (known: stateless, one-type)"),
    ("t:\n  - rule: status\n    preset: stateless\n    reason: r\n", "p.yaml:2: give `rule: RULE[:PATH]` or `preset"),
    ("t:\n  - rule: status\n    why: r\n", "p.yaml:2: unknown key why"),
    ("t:\n  - status\n", "p.yaml:2: each limitation is a mapping"),
    ("t: []\n", "p.yaml:1: t: a list of limitations"),
    ("t:\n  - rule: statuss\n    reason: r\n", "p.yaml:2: unknown rule 'statuss'"),
    ("t: " + "[" * 20_000 + "]" * 20_000 + "\n", "p.yaml: not a profile: nested deeper than any profile is"),
    ("t:\n  - rule: status\n    reason: " + "{k: " * 20_000 + "r" + "}" * 20_000 + "\n", "p.yaml: not a profile: "),
])
def test_a_profile_that_is_not_one_is_one_error_naming_file_and_line(tmp_path, text, message):
    profile = tmp_path / "p.yaml"
    profile.write_text(text)
    with pytest.raises(ReportError) as raised:
        read_profiles([profile])
    assert message in str(raised.value)


def test_a_reason_pasted_with_a_secret_reaches_no_output_of_the_matrix(tmp_path):
    """A reason is copied into every cell it makes known: a key or card number in it is redacted when read."""
    key = "sk_live_" + "51HxQ2bLmN8pR4sT6uV9wX1yZ"
    profile = tmp_path / "p.yaml"
    profile.write_text(f"t:\n  - rule: \"invariant.deleted:deleted\"\n    reason: broken since {key}, card "
                       "4000 0566 5566 5556\n")
    matrix = build_matrix({"t": sample()}, read_profiles([profile]), ["cassettes/x.yaml"], api=STRIPE)
    text = json.dumps(matrix)
    assert key not in text and "5566 5556" not in text
    assert "broken since [REDACTED:sk_live], card [REDACTED:card-number" in text  # known, with its reason


def test_a_target_profiled_twice_is_refused(tmp_path):
    for name in ("a.yaml", "b.yaml"):
        (tmp_path / name).write_text("t:\n  - rule: status\n    reason: r\n")
    with pytest.raises(ReportError, match=r"b\.yaml:1: target t has a profile already \(.*a\.yaml:1\)"):
        read_profiles([tmp_path / "a.yaml", tmp_path / "b.yaml"])


def test_compare_by_problem_identity_not_by_minted_ids():
    old = build_matrix({"t": sample()}, {}, [], api=STRIPE)
    same = copy.deepcopy(old)
    for row in same["cells"].values():
        for problem in row["t"].get("problems", []):
            problem["message"] = problem["message"].replace("card_1", "card_2")  # another run, other ids
    assert compare_matrices(old, same).exit_code == 0
    fixed = build_matrix({"t": run(*sample().cassettes[0].interactions[:1])}, {}, [], api=STRIPE)
    comparison = compare_matrices(old, fixed)
    assert comparison.regressions == [] and [f[1].split("]")[0] for f in comparison.fixes] == ["[invariant.deleted"]
    again = compare_matrices(fixed, old)
    assert again.exit_code == 1 and again.regressions[0][2].startswith("breaks invariant.deleted, cards.delete")


def test_the_html_page_shows_code_as_code_and_no_filler_under_routes(tmp_path):
    from conformance.report.matrix_views import matrix_markdown, render_matrix_html

    matrix = build_matrix({"t": sample()}, {}, ["cassettes/x.yaml"], api=STRIPE)
    page = render_matrix_html(matrix, tmp_path / "m.html")
    assert "`" not in page.split("<body>", 1)[1].split("<script", 1)[0]  # every code span rendered, none literal
    assert "an <code>error</code> object" in page  # invariant.error's description
    assert "an endpoint under test" not in page and "an endpoint under test" not in json.dumps(matrix)
    assert page.count('<span class="muted">setup traffic</span>') == sum(
        1 for row in matrix["rows"] if row["kind"] == "route" and not row.get("under_test", True))
    # one of each, said in the singular
    assert "<title>Compatibility matrix: 1 target</title>" in page and "1 cassette replayed against 1 target" in page
    assert matrix_markdown(matrix).startswith("### Compatibility matrix: 1 cassette, 1 target\n")


def test_an_interrupted_column_says_so_never_conforms():
    interrupted = run(interaction(1, "GET", "/v1/customers/cus_1/cards?limit=3", judged=["invariant.list"]))
    interrupted.interrupted_by = 15
    matrix = build_matrix({"t": interrupted}, {}, ["cassettes/x.yaml"], api=STRIPE)
    (target,) = matrix["targets"]
    assert target["verdict"] == "interrupted" and target["interrupted"]
    from conformance.report.matrix_views import matrix_markdown

    assert "#### t: interrupted: no broken behaviour so far" in matrix_markdown(matrix)


# -- scores, interop, target-specific failures -------------------------------------------------------------------

def test_a_percentage_is_rounded_down_so_100_means_all():
    from conformance.report.matrix import percent

    assert [percent(1, 24), percent(23, 24), percent(24, 24), percent(0, 0), percent(2, 3)] == \
        [4.1, 95.8, 100.0, 0.0, 66.6]


def two_targets():
    """``t`` as sample() judges it, and ``u`` answering like the sample but its delete right: t alone breaks it."""
    right = run(
        interaction(1, "GET", "/v1/customers/cus_1/cards?limit=3", judged=["invariant.list"], covers=["invariant.list"]),
        interaction(2, "DELETE", "/v1/customers/cus_1/sources/card_1", judged=["invariant.deleted"],
                    covers=["invariant.deleted"]),
        interaction(3, "POST", "/v1/customers/cus_1/sources/card_2", status=200, actual=200),
        interaction(4, "GET", "/v1/customers/cus_1/charges/ch_1"),  # beyond the route table: not scored
    )
    return build_matrix({"t": sample(), "u": right}, {}, [], api=STRIPE)


def test_scores_count_the_fixed_set_of_behaviours_state_by_state():
    matrix = two_targets()
    fixed = [row["id"] for row in matrix["rows"] if row["scored"]]
    # the documented rules, the profile's own (retries, fingerprint) and the route table's routes
    assert len(fixed) == 28 and "GET /v1/customers/cus_1/charges/ch_1" not in fixed
    t, u = (target["score"] for target in matrix["targets"])
    assert t == {"behaviours": 28, "holds": 2, "broken": 2, "known": 0, "not judged": 2, "not covered": 22,
                 "score": 7.1, "coverage": 21.4}
    assert u["holds"] == 5 and u["broken"] == 0 and u["score"] == 17.8 and u["coverage"] == 17.8
    # interop: what holds on both
    assert matrix["interop"] == {"behaviours": 28, "holds": 2, "score": 7.1, "rows": ["invariant.list", LIST]}
    # the failures t alone has: broken there, holding on u
    assert [(f["target"], f["row"], f["problems"]) for f in matrix["target_specific"]] == \
        [("t", "invariant.deleted", [1]), ("t", DELETE, [1])]


def test_one_target_has_no_interop_column_and_no_target_specific_failure():
    from conformance.report.matrix_views import matrix_markdown

    matrix = build_matrix({"t": sample()}, {}, [], api=STRIPE)
    assert matrix["target_specific"] == []
    markdown = matrix_markdown(matrix)
    assert "| behaviour | t |" in markdown and "interop" not in markdown.split("\n\n")[1]
    assert "| t | 7.1% (2 of 28) | 2 | 2 | 0 | 2 | 22 | 21.4% |" in markdown


def test_a_matrix_of_schema_1_is_read_with_the_same_scores(tmp_path):
    from conformance.report.matrix import read_matrix

    new = two_targets()
    old = copy.deepcopy(new)
    old["schema"] = "card-conformance/matrix/1"
    for key in ("interop", "target_specific", "created"):
        del old[key]
    for target in old["targets"]:
        del target["score"], target["limitations"]
        target["unused_limitations"] = []
    for row in old["rows"]:
        del row["scored"]
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    read_old, read_new = read_matrix(tmp_path / "old.json"), read_matrix(tmp_path / "new.json")
    assert [t["score"] for t in read_old["targets"]] == [t["score"] for t in read_new["targets"]]
    assert read_old["interop"] == read_new["interop"] and read_old["target_specific"] == read_new["target_specific"]
    for schema, message in (("card-conformance/matrix/3", "expected schema 'card-conformance/matrix/2'"),):
        (tmp_path / "x.json").write_text(json.dumps({**new, "schema": schema}))
        with pytest.raises(ReportError, match=message):
            read_matrix(tmp_path / "x.json")
    bad = copy.deepcopy(new)
    bad["cells"]["invariant.list"]["t"]["state"] = "fine"
    (tmp_path / "x.json").write_text(json.dumps(bad))
    with pytest.raises(ReportError, match=r"cells\.invariant\.list\.t\.state: 'fine' is none of holds"):
        read_matrix(tmp_path / "x.json")


# -- limitations that cannot rot ---------------------------------------------------------------------------------

def value_problem(path, expected, actual, index):
    return Finding("value", path, f"{path}: expected {expected}, got {actual}", expected, actual, kind="card",
                   key_path=path)


def fixture_values():
    return run(interaction(1, "GET", "/v1/customers/cus_1/cards/card_1", findings=[
        value_problem("brand", "MasterCard", "Visa", 1), value_problem("last4", "4444", "4242", 1)]),
        interaction(2, "GET", "/v1/customers/cus_1/cards/card_2", findings=[value_problem("brand", "Amex", "Visa", 2)]))


def reviewed(tmp_path, text, result, today=None):
    import datetime

    (tmp_path / "p.yaml").write_text(text)
    matrix = build_matrix({"t": result}, read_profiles([tmp_path / "p.yaml"]), [], api=STRIPE,
                          today=today or datetime.date(2026, 6, 1))
    return matrix, matrix["targets"][0]["limitations"]


def test_a_rule_matching_several_distinct_problems_is_too_broad_and_one_after_it_is_shadowed(tmp_path):
    from conformance.report.matrix import profile_failures

    matrix, (broad, shadowed, narrow) = reviewed(tmp_path, "t:\n  - rule: value:card\n    reason: fixture\n"
                                                 "    issue: https://x.test/1\n  - rule: value:brand\n    reason: r\n"
                                                 "    issue: https://x.test/2\n  - rule: invariant.list\n    reason: r\n"
                                                 "    issue: https://x.test/3\n", fixture_values())
    # brand (two wrong values: one problem of one key path) and last4: two distinct problems
    assert broad["state"] == "in use" and broad["too_broad"] and len(broad["problems"]) == 3
    assert broad["strict"] == [f"{tmp_path / 'p.yaml'}:2: value:card: too broad — it matches 2 distinct problems "
                               "(value brand; value last4): give each its own `rule: RULE:PATH`"]
    assert shadowed["state"] == "shadowed" and "shadowed" in shadowed["strict"][0]
    assert narrow["state"] == "not exercised" and narrow["strict"] == []  # the suite never judged a list
    assert matrix_exit_code(matrix) == 0 and matrix_exit_code(matrix, strict_profiles=True) == 1
    assert len(profile_failures(matrix)) == 2 and all(line.startswith("t: ") for line in profile_failures(matrix))


def test_an_expired_limitation_is_said_and_one_without_issue_too(tmp_path):
    import datetime

    text = ("t:\n  - rule: value:brand\n    reason: fixture\n    issue: https://x.test/1\n    until: 2026-05-31\n"
            "  - rule: value:last4\n    reason: fixture\n")
    _, (brand, last4) = reviewed(tmp_path, text, fixture_values())
    assert brand["expired"] and brand["until"] == "2026-05-31" and not brand["too_broad"]
    assert brand["strict"] == [f"{tmp_path / 'p.yaml'}:2: value:brand: expired on 2026-05-31 (https://x.test/1): fix "
                               "it, or give a later `until:`"]
    assert last4["issue"] is None and "no `issue:`" in last4["strict"][0]
    _, (brand, _) = reviewed(tmp_path, text, fixture_values(), today=datetime.date(2026, 5, 31))
    assert not brand["expired"] and brand["strict"] == []  # until the day it names, inclusive


@pytest.mark.parametrize(("entry", "message"), [
    ("    issue: see the tracker\n", "p.yaml:4: issue: a link to where the limitation is tracked"),
    ("    issue: ftp://x.test/1\n", "p.yaml:4: issue: a link"),
    ("    until: 31/05/2026\n", "p.yaml:4: until: a date as YYYY-MM-DD (2026-06-30), not '31/05/2026'"),
    ("    until: 2026-02-30\n", "p.yaml:4: until: a date as YYYY-MM-DD"),
])
def test_issue_and_until_are_checked_when_the_profile_is_read(tmp_path, entry, message):
    profile = tmp_path / "p.yaml"
    profile.write_text("t:\n  - rule: status\n    reason: r\n" + entry)
    with pytest.raises(ReportError, match=message.replace("(", r"\(").replace(")", r"\)")):
        read_profiles([profile])


def test_the_stateless_preset_does_not_silence_an_update_that_ignores_its_parameters_nor_a_list_url(tmp_path):
    profile = tmp_path / "p.yaml"
    profile.write_text("t:\n  - preset: stateless\n    reason: r\n  - rule: type:card\n    reason: r\n")
    known = read_profiles([profile])["t"]
    ignored = cause("type", ("problem", "parameters-not-applied", "card"), ["name"], ["cards.update"], kind="card")
    assert known.known(ignored) is None  # neither the preset nor type:card: it is matched by its name only
    url = cause("value", ("value", "list", "url", '"/v1/customers/cus_1/sources"', '"/v1/cards"'), ["url"],
                ["sources.list"], kind="list")
    assert known.known(url) is None
    fixture = cause("value", ("value", "card", "brand", '"a"', '"b"'), ["brand"], ["cards.retrieve"], kind="card")
    assert known.known(fixture) is not None and known.known(fixture).said == "preset stateless"


# -- history -----------------------------------------------------------------------------------------------------

def test_the_history_says_when_each_behaviour_broke_and_was_fixed():
    from conformance.report.history import build_history

    def matrix(states):
        return {"schema": "card-conformance/matrix/2", "targets": [{"name": "t", "score": {"score": 0.0}}],
                "interop": {"score": 0.0}, "rows": [{"id": r, "label": r} for r in states],
                "cells": {r: {"t": {"state": s}} for r, s in states.items()}}

    runs = [{"a": "holds", "b": "not covered", "c": "broken", "d": "holds"},
            {"a": "broken", "b": "broken", "c": "not judged", "d": "known"},
            {"a": "holds", "b": "broken", "c": "holds", "d": "holds"}]
    history = build_history([(f"v{n}", matrix(states)) for n, states in enumerate(runs, 1)])
    events = {b["row"]: [(e["run"], e["event"]) for e in b["events"]] for b in history["behaviours"]}
    assert events == {"a": [("v2", "broke"), ("v3", "fixed")], "b": [("v2", "found broken")],
                      "c": [("v3", "fixed")], "d": [("v2", "broke (known)"), ("v3", "fixed")]}
    assert history["runs"][0]["interop"] is None  # one target: no interop
