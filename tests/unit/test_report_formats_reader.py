"""The one reader of a JSON report is the writer's inverse: what `run --json-report` wrote reads back as the run it
reports, and a baseline or `compare` works on that run — never on a dict path of its own."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.findings import MISSING, CassetteResult, Finding, InteractionResult, RunResult
from conformance.report.baseline import accept_baseline, causes_of_report, compare_reports, identities_of_report
from conformance.report.json_report import ReadFinding, from_json, read_report, to_json, write_json
from conformance.rules import Outcome, Severity


def rich_run() -> RunResult:
    """A run with every kind of thing a report carries: failures, warnings, an accepted finding, a consequence, a
    blocked interaction, values absent and null, rules not judged, a curl line, bodies, a cassette that could not
    be read and one with a warning; interrupted by Ctrl-C."""
    deleted = InteractionResult(
        2, "cards.delete", "DELETE", "/v1/customers/cus_1/sources/card_1", 200, 200,
        [Finding("invariant.deleted", "deleted", "deleted: expected true, got false", True, False, kind="card",
                 key_path="deleted"),
         Finding("keys.extra", "wallet", "extra key", MISSING, None, kind="card", key_path="wallet", accepted=True)],
        recorded_body={"deleted": True}, actual_body={"deleted": False, "wallet": None},
        not_judged=[("invariant.list", "the list was empty")], judged=["invariant.deleted"],
        covers=["invariant.deleted"], curl="curl -X DELETE http://127.0.0.1:1/v1/customers/cus_1/sources/card_1")
    blocked = InteractionResult(3, "cards.retrieve", "GET", "/v1/customers/cus_1/cards/card_2", 200, 404, [
        Finding("status", "", "status: expected 200, got 404", 200, 404, consequence_of=2)], blocked_by=2,
        blocked_id="card_2", recorded_body={"id": "card_2"}, actual_body={"error": {"type": "invalid_request_error"}})
    passed = InteractionResult(1, "customers.create", "POST", "/v1/customers", 200, 200, judged=["id.prefix"])
    warned = InteractionResult(4, "cards.list", "GET", "/v1/customers/cus_1/cards?limit=3", 200, 200, [
        Finding("list.order", "data", "another order", ["a", "b"], ["b", "a"], severity=Severity.WARNING,
                problem="order")], recorded_body={"data": []}, actual_body={"data": []})
    return RunResult("http://127.0.0.1:1", [
        CassetteResult("cassettes/a.yaml", "a", [passed, deleted, blocked, warned], warnings=["cut short at #4"]),
        CassetteResult("cassettes/b.yaml", "b", error="cassettes/b.yaml:3: duplicate key"),
    ], seconds=1.25, interrupted_by=2, contract="spec3.json")


def test_a_report_written_reads_back_as_the_run_it_reports(tmp_path):
    run = rich_run()
    write_json(run, tmp_path / "r.json")
    read = read_report(tmp_path / "r.json")
    assert read == run
    assert [i.outcome for _, i in read.interactions()] == [Outcome.PASSED, Outcome.FAILED, Outcome.BLOCKED,
                                                           Outcome.WARNING]
    assert read.exit_code == run.exit_code == 130
    assert to_json(read) == to_json(run)  # the root causes too, computed again from the findings


def test_a_rule_this_process_has_not_registered_is_kept_with_its_severity(tmp_path):
    data = to_json(rich_run())
    findings = data["cassettes"][0]["interactions"][1]["findings"]
    findings.append({"rule": "payment_method.attach", "path": "", "severity": "failure", "message": "not attached"})
    findings.append({"rule": "nobody.knows", "path": "x", "message": "no severity, no rule: nothing to judge by"})
    (tmp_path / "r.json").write_text(json.dumps(data))
    (kept,) = [f for f in read_report(tmp_path / "r.json").cassettes[0].interactions[1].findings
               if f.rule not in ("invariant.deleted", "keys.extra")]
    assert isinstance(kept, ReadFinding) and kept.severity == Severity.FAILURE and kept.message == "not attached"
    assert ("cassettes/a.yaml", 2, "", "payment_method.attach") in identities_of_report(data)
    # compared by identity only: a rule of no known traits groups into no root cause (and breaks no grouping)
    assert "payment_method.attach" not in {cause.rule for cause in causes_of_report(data).values()}


def test_an_older_report_reads_as_a_run_its_findings_placed(tmp_path):
    """Schema 1 wrote no kind, key path or consequence: the reader finds the object from the bodies kept, and a
    blocked interaction's findings are consequences of what blocked it."""
    data = to_json(rich_run())
    data["schema"] = "card-conformance/report/1"
    for cassette in data["cassettes"]:
        for interaction in cassette.get("interactions", []):
            for finding in interaction["findings"]:
                for name in ("kind", "key_path", "consequence_of"):
                    finding.pop(name, None)
    (tmp_path / "old.json").write_text(json.dumps(data))
    read = read_report(tmp_path / "old.json")
    (status,) = read.cassettes[0].interactions[2].findings
    assert status.consequence_of == 2 and read.cassettes[0].interactions[2].outcome == Outcome.BLOCKED


def test_a_baseline_and_compare_read_a_file_as_they_read_the_run(tmp_path):
    before, after = rich_run(), rich_run()
    after.cassettes[0].interactions[1].findings[0].expected = "changed"  # same identity: unchanged
    after.cassettes[0].interactions[0].findings.append(Finding("status", "", "status: expected 200, got 500", 200,
                                                               500))
    write_json(before, tmp_path / "before.json")
    write_json(after, tmp_path / "after.json")
    from_files = compare_reports(read_report(tmp_path / "before.json"), read_report(tmp_path / "after.json"))
    in_memory = compare_reports(before, after)
    assert from_files.to_json() == in_memory.to_json() == compare_reports(to_json(before), to_json(after)).to_json()
    assert [key for key, _ in from_files.regressions] == [("cassettes/a.yaml", 1, "", "status")]
    fresh = rich_run()
    for finding in fresh.cassettes[0].interactions[1].findings:
        finding.accepted = False
    assert accept_baseline(fresh, read_report(tmp_path / "before.json")) == 4  # every finding of a.yaml, as written


def test_from_json_is_what_read_report_returns(tmp_path):
    write_json(rich_run(), tmp_path / "r.json")
    assert from_json(json.loads((tmp_path / "r.json").read_text())) == read_report(tmp_path / "r.json")


@pytest.mark.parametrize("field", ["target", "seconds", "contract"])
def test_a_top_level_field_of_another_type_reads_as_its_default(tmp_path, field):
    data = to_json(rich_run())
    data[field] = {"not": "a value"}
    path = Path(tmp_path / "r.json")
    path.write_text(json.dumps(data))
    read = read_report(path)
    assert getattr(read, field) in ("", 0.0, None)


def test_a_duration_no_float_holds_reads_as_none(tmp_path):
    data = to_json(rich_run())
    path = tmp_path / "r.json"
    path.write_text(json.dumps(data).replace('"seconds": 1.25', '"seconds": 1' + "0" * 400))
    assert read_report(path).seconds == 0.0
