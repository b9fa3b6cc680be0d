"""`compare` and `--baseline` read reports and matrices someone else may have edited, cut or broken: whatever the
file holds, the answer is a comparison or one line and exit 2 — never a traceback (mutations drawn by Hypothesis)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from conformance.cli import main
from conformance.errors import ReportError
from conformance.findings import CassetteResult, Finding, InteractionResult, RunResult
from conformance.report import to_json
from conformance.report.baseline import read_report
from conformance.report.matrix import build_matrix, write_matrix_json
from conformance.stripe import STRIPE

from ..conftest import examples


def deleted_false(index: int, accepted: bool = False) -> InteractionResult:
    finding = Finding("invariant.deleted", "deleted", "deleted: expected true, got false", True, False, kind="card",
                      key_path="deleted", accepted=accepted)
    result = InteractionResult(index, "cards.delete", "DELETE", f"/v1/customers/cus_1/sources/card_{index}", 200, 200,
                               [finding], recorded_body={"deleted": True}, actual_body={"deleted": False})
    result.judged = result.covers = ["invariant.deleted"]
    return result


def report(accepted: bool = False) -> dict[str, Any]:
    passed = InteractionResult(1, "customers.create", "POST", "/v1/customers", 200, 200)
    blocked = InteractionResult(4, "cards.retrieve", "GET", "/v1/customers/cus_1/cards/card_3", 404, 200, [
        Finding("status", "", "status: expected 404, got 200", 404, 200, consequence_of=3)], blocked_by=3)
    return to_json(RunResult("http://127.0.0.1:1", [
        CassetteResult("cassettes/a.yaml", "a", [passed, deleted_false(2, accepted), deleted_false(3, accepted), blocked]),
        CassetteResult("cassettes/b.yaml", "b", error="cassettes/b.yaml:3: duplicate key"),
    ]))


def matrix(broken: bool) -> dict[str, Any]:
    interactions = [deleted_false(2)] if broken else []
    results = {name: RunResult("http://127.0.0.1:1", [CassetteResult("cassettes/a.yaml", "a", interactions)])
               for name in ("a", "b")}
    return build_matrix(results, {}, ["cassettes/a.yaml"], api=STRIPE)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30) | st.floats()
    | st.text(max_size=8) | st.sampled_from(["", "\x1b[2J", "card_1", "failure", "holds", "9" * 5000]),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=6,
)


def places(document: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document: (), ("cassettes",), ("cassettes", 0), …"""
    found = [at]
    if isinstance(document, dict):
        for key, item in document.items():
            found += places(item, (*at, key))
    elif isinstance(document, list):
        for index, item in enumerate(document):
            found += places(item, (*at, index))
    return found


@st.composite
def mutated(draw: st.DrawFn, original: dict[str, Any]) -> dict[str, Any]:
    """The document with one to three places changed: a value replaced by any JSON, or a key or item removed."""
    document = copy.deepcopy(original)
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.sampled_from(places(document)[1:]))
        parent = document
        for step in where[:-1]:
            parent = parent[step]
        if draw(st.booleans()) and isinstance(parent, (dict, list)):
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(JSON_VALUES)
        if not places(document)[1:]:
            break
    return document


def compare(tmp_path: Path, before: dict[str, Any] | str, after: dict[str, Any]) -> tuple[int, str, BaseException | None]:
    old, new = tmp_path / "old.json", tmp_path / "new.json"
    old.write_text(before if isinstance(before, str) else json.dumps(before), encoding="utf-8")
    new.write_text(json.dumps(after), encoding="utf-8")
    result = CliRunner().invoke(main, ["compare", str(old), str(new), "--markdown", str(tmp_path / "c.md"),
                                       "--json", str(tmp_path / "c.json")])
    error = result.exception if not isinstance(result.exception, SystemExit) else None
    return result.exit_code, result.output, error


def holds(code: int, output: str, error: BaseException | None) -> None:
    assert error is None, f"{type(error).__name__}: {error}"
    assert code in (0, 1, 2), output
    if code == 2:
        assert len(output.strip().splitlines()) == 1 and output.startswith("Error: "), output


# Fixed mutations per CI run, 1,500 new ones each under HYPOTHESIS_PROFILE=deep (`make test-deep`); a matrix is
# 630 places to a report's 150, so its CI share is smaller.
FUZZ = examples(ci=150, deep=1500, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
FUZZ_MATRIX = examples(ci=75, deep=1500,
                       suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@pytest.fixture(scope="module")
def matrices() -> dict[bool, dict[str, Any]]:
    """The broken and the fixed matrix, built once for every example (building one costs as much as comparing)."""
    return {broken: matrix(broken) for broken in (True, False)}


@FUZZ
@given(data=st.data())
def test_a_mutated_report_is_compared_or_refused_in_one_line(tmp_path, data):
    original = report()
    broken = data.draw(mutated(original))
    if data.draw(st.booleans()):
        holds(*compare(tmp_path, broken, report(accepted=True)))
    else:
        holds(*compare(tmp_path, report(), broken))


@FUZZ_MATRIX
@given(data=st.data())
def test_a_mutated_matrix_is_compared_or_refused_in_one_line(tmp_path, data, matrices):
    broken = data.draw(mutated(matrices[True]))  # mutated() changes a deep copy: the built matrix stays whole
    holds(*compare(tmp_path, broken, matrices[False]))


@pytest.mark.parametrize(("text", "says"), [
    ('{"schema": "card-conformance/report/3", "cassettes": ' + "[" * 100_000 + "]" * 100_000 + "}", "nested deeper"),
    ('{"schema": "card-conformance/report/3", "cassettes": [{"path": "\\ud800", "interactions": []}]}', "surrogate"),
    ('{"schema": "card-conformance/report/3", "cassettes": [{"path": "a", "interactions": [{"index": NaN}]}]}',
     "at cassettes[0].interactions[0].index: null is not of type \"integer\""),  # NaN, as the validator says it
    ('{"schema": "card-conformance/report/3", "cassettes": [{"path": "a", "interactions": [{"index": 1, '
     '"findings": [{"rule": "status", "path": ["x"]}]}]}]}', "at cassettes[0].interactions[0].findings[0].path: "),
    ('{"schema": "card-conformance/report/3"}', "at the top: \"cassettes\" is a required property"),
])
def test_what_is_wrong_is_said_with_its_place(tmp_path, text, says):
    code, output, error = compare(tmp_path, text, report())
    holds(code, output, error)
    assert code == 2 and says in output, output


def test_a_baseline_is_read_by_the_same_reader(tmp_path):
    path = tmp_path / "known.json"
    path.write_text(json.dumps({**report(), "cassettes": [{"path": "a", "interactions": [{"index": "1"}]}]}))
    with pytest.raises(ReportError, match=r"known.json: not a card-conformance report: at cassettes\[0\]"):
        read_report(path)


def test_a_comparison_is_never_written_over_what_it_compares(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps(report()))
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "old.json"), str(tmp_path / "old.json"),
                                       "--markdown", str(tmp_path / "old.json")])
    assert result.exit_code == 2 and "is one of the documents compared" in result.output
    assert json.loads((tmp_path / "old.json").read_text()) == report()


def test_an_unwritable_output_is_one_line_before_anything_is_read(tmp_path):
    (tmp_path / "old.json").write_text(json.dumps(report()))
    (tmp_path / "file").write_text("")
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "old.json"), str(tmp_path / "old.json"),
                                       "--json", str(tmp_path / "file" / "c.json")])
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "cannot write" in result.output


def test_a_matrix_of_a_good_shape_still_compares(tmp_path):
    write_matrix_json(matrix(broken=True), tmp_path / "old.json")
    write_matrix_json(matrix(broken=False), tmp_path / "new.json")
    result = CliRunner().invoke(main, ["compare", str(tmp_path / "old.json"), str(tmp_path / "new.json")])
    assert result.exit_code == 0 and "fixed: a · " in result.output, result.output
