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
