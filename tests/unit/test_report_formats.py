"""Every report format from hand-made results: the same counts, the same verdict, values cut and escaped safely."""

from __future__ import annotations

import html
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from rich.console import Console

from conformance.findings import MISSING, CassetteResult, Finding, InteractionResult, RunResult, Verdict
from conformance.report import markdown, to_json, write_html, write_junit
from conformance.report.baseline import accept_baseline, compare_reports, identities_of_report
from conformance.report.common import finding_line
from conformance.report.html import render
from conformance.report.terminal import print_result
from conformance.rules import Outcome, Severity


def interaction(index: int, endpoint: str, *findings: Finding, actual_body: object = None) -> InteractionResult:
    return InteractionResult(index, endpoint, "GET", f"/v1/x/{index}", 200, 200, list(findings),
                             recorded_body={"id": "card_1"} if findings else None, actual_body=actual_body)


def sample_run() -> RunResult:
    failing = interaction(2, "cards.update", Finding("type", "exp_year", "exp_year: expected integer", 2030, "2030"),
                          actual_body={"id": "card_1", "exp_year": "2030"})
    warning = interaction(3, "cards.list", Finding("keys.extra", "wallet", "wallet is not in the recording", MISSING,
                                                   None, Severity.WARNING))
    return RunResult("http://127.0.0.1:1", [
        CassetteResult("cassettes/a.yaml", "a", [interaction(1, "customers.create"), failing, warning]),
        CassetteResult("cassettes/b.yaml", "b", [interaction(1, "cards.list")]),
    ], seconds=1.5)


def test_outcomes_and_the_verdict_come_from_the_findings_and_the_registry():
    run = sample_run()
    assert [i.outcome for _, i in run.interactions()] == [Outcome.PASSED, Outcome.FAILED, Outcome.WARNING,
                                                          Outcome.PASSED]
    assert run.verdict is Verdict.DEVIATIONS and run.verdict.exit_code == 1
    assert dict(run.per_endpoint())["cards.list"] == {Outcome.PASSED: 1, Outcome.FAILED: 0, Outcome.WARNING: 1,
                                                      Outcome.BLOCKED: 0}
    run.cassettes[0].interactions[1].findings[0].accepted = True
    assert run.verdict is Verdict.CONFORMS
    run.cassettes.append(CassetteResult("c.yaml", "c", error="c.yaml:3: duplicate key"))
    assert run.verdict is Verdict.INPUT_ERRORS and run.verdict.exit_code == 2


def test_a_finding_must_name_a_registered_rule():
    with pytest.raises(KeyError):
        Finding("no.such.rule", "", "nothing")
    assert Finding("keys.extra", "x", "m").severity is Severity.WARNING
    assert Finding("keys.extra", "x", "m", severity=Severity.FAILURE).severity is Severity.FAILURE


def test_json_report_counts_what_the_terminal_and_markdown_say():
    run = sample_run()
    data = to_json(run)
    assert data["exit_code"] == 1
    assert data["schema"] == "card-conformance/report/3"
    assert data["summary"] == {"cassettes": 2, "interactions": 4, "passed": 2, "failed": 1, "warning": 1, "blocked": 0,
                               "failures": 1, "warnings": 1, "accepted": 0, "input_errors": 0}
    finding = data["cassettes"][0]["interactions"][1]["findings"][0]
    assert finding == {"rule": "type", "path": "exp_year", "severity": "failure", "message": "exp_year: expected integer",
                       "expected": 2030, "actual": "2030"}
    assert json.loads(json.dumps(data)) == data  # plain JSON, enums as their names
    text = markdown(run)
    assert text.startswith("### Card conformance of `http://127.0.0.1:1`: ❌ deviations found")
    assert "**2 passed**, **1 failed**, 0 blocked, 1 with warnings" in text
    assert "| `cards.list` | 1 | 0 | 0 | 1 |" in text
    console = Console(record=True, width=200)
    print_result(console, run)
    printed = console.export_text()
    assert "4 interactions in 2 cassettes: 2 passed, 1 failed, 0 blocked, 1 with warnings — deviations found" in printed
    assert printed.index("Root causes") < printed.index("cassettes/a.yaml #2")


def test_junit_counts_failures_and_keeps_warnings_as_output(tmp_path):
    run = sample_run()
    write_junit(run, tmp_path / "junit.xml")
    root = ET.parse(tmp_path / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("4", "1", "0")
    failure = root.find(".//failure")
    assert failure is not None and failure.get("type") == "type"
    assert "warning [keys.extra] wallet" in "".join(e.text or "" for e in root.iter("system-out"))


def test_html_cuts_values_before_escaping_them(tmp_path):
    value = '"' * 400  # each quote is six characters once escaped
    run = RunResult("http://t", [CassetteResult("a.yaml", "a", [
        interaction(1, "cards.update", Finding("value", "name", "m", value, "<script>alert(1)</script>"),
                    actual_body={"name": "<b>x</b>"})])])
    page = render(run)
    assert "<script>alert(1)" not in page and "&lt;script&gt;" in page
    assert "&lt;b&gt;x&lt;/b&gt;" in page
    expected = page.split("expected <code>", 1)[1].split("</code>", 1)[0]
    assert html.unescape(expected) == json.dumps(value)[:299] + "…"  # cut as text, then escaped whole
    assert re.fullmatch(r"(?:[^&]|&#34;|&quot;|&#39;|&amp;)*…", expected)  # no escape sequence in half
    write_html(run, tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text(encoding="utf-8") == page


def test_baselines_and_comparisons_work_on_finding_identities():
    before = to_json(sample_run())
    for finding in before["cassettes"][0]["interactions"][1]["findings"]:
        finding["rule"] = "invariant.deleted-card"  # an old report's spelling of a renamed rule
    assert ("cassettes/a.yaml", 2, "exp_year", "invariant.deleted_card") in identities_of_report(before)
    after_run = sample_run()
    after_run.cassettes[1].interactions[0].findings.append(Finding("status", "", "status: expected 200, got 404",
                                                                   200, 404))
    comparison = compare_reports(to_json(sample_run()), to_json(after_run))
    assert [key for key, _ in comparison.regressions] == [("cassettes/b.yaml", 1, "", "status")]
    assert comparison.fixes == [] and len(comparison.unchanged) == 1
    assert accept_baseline(after_run, to_json(sample_run())) == 2
    assert after_run.verdict is Verdict.DEVIATIONS  # the new status failure is not in the baseline


def test_a_finding_the_runs_own_baseline_accepted_is_still_a_regression_against_another_baseline():
    """`run --baseline broad.json` then `compare main.json new.json`: the new status failure is accepted by the run's
    (broader) baseline, but main.json lacks it — a regression, never hidden."""
    broad = sample_run()
    broad.cassettes[1].interactions[0].findings.append(Finding("status", "", "status: expected 200, got 404", 200, 404))
    now = sample_run()
    now.cassettes[1].interactions[0].findings.append(Finding("status", "", "status: expected 200, got 404", 200, 404))
    accept_baseline(now, to_json(broad))
    comparison = compare_reports(to_json(sample_run()), to_json(now))
    assert [key for key, _ in comparison.regressions] == [("cassettes/b.yaml", 1, "", "status")]
    assert ("cassettes/b.yaml", 1, "", "status") in [key for key, _ in comparison.accepted]
    assert "1 regression" in comparison.summary()


def test_a_finding_line_says_rule_path_and_both_values():
    finding = Finding("keys.missing", "address_line2", "m", None, MISSING)
    assert finding_line(finding) == "[keys.missing] address_line2: expected null, got <missing>"
    assert finding_line(Finding("value", "data", "m", "x" * 50, "y"), limit=10) == \
        '[value] data: expected "xxxxxxxx…, got "y"'
    status = Finding("status", "", "status: expected 200, got 404 (No such token: 'tok_visa')", 200, 404)
    assert finding_line(status) == "[status] status: expected 200, got 404 (No such token: 'tok_visa')"


def blocked_run() -> RunResult:
    """Card creations answered 404 in two cassettes; the updates that use those cards fail after them."""
    def creation(index: int) -> InteractionResult:
        return interaction(index, "sources.create", Finding(
            "status", "", "status: expected 200, got 404 (No such token: 'tok_visa')", 200, 404))

    def update(index: int, card: str) -> InteractionResult:
        result = interaction(index, "cards.update", Finding(
            "status", "", f"status: expected 200, got 404 (No such source: '{card}')", 200, 404, consequence_of=2))
        result.blocked_by, result.blocked_id = 2, card
        return result

    return RunResult("http://t", [
        CassetteResult("a.yaml", "a", [interaction(1, "customers.create"), creation(2),
                                       update(3, "card_1NBLeN2eZvKYlo2CIg1o7Pzs")]),
        CassetteResult("b.yaml", "b", [interaction(1, "customers.create"), creation(2),
                                       update(3, "card_1NBLeN2eZvKYlo2CIg1o7Pzz"), update(4, "card_1NBLeN2eZvKYlo2CIg1o7Pzy")]),
    ])


def test_blocked_interactions_are_apart_and_the_root_cause_counts_them(tmp_path):
    run = blocked_run()
    assert run.counts()[Outcome.BLOCKED] == 3 and run.counts()[Outcome.FAILED] == 2
    assert run.verdict is Verdict.DEVIATIONS
    data = to_json(run)
    assert data["summary"]["blocked"] == 3
    assert [i["blocked_by"] for i in data["cassettes"][1]["interactions"]] == [None, None, 2, 2]
    (cause,) = data["root_causes"]
    assert cause == {"rule": "status", "endpoint": "sources.create", "path": "", "severity": "failure",
                     "message": "status: expected 200, got 404 (No such token: 'tok_visa')", "count": 2, "blocked": 3,
                     "key": ["status", "sources.create", "200", "404"], "kind": None, "endpoints": ["sources.create"],
                     "paths": [], "symptoms": 2, "curl": None, "accepted": False,
                     "interactions": [{"cassette": "a.yaml", "index": 2}, {"cassette": "b.yaml", "index": 2}]}
    write_junit(run, tmp_path / "junit.xml")
    skipped = ET.parse(tmp_path / "junit.xml").getroot().findall(".//skipped")
    assert len(skipped) == 3 and all((s.get("message") or "").startswith("blocked by #2") for s in skipped)
    assert "| `sources.create` | status | status: expected 200, got 404 (No such token: 'tok_visa') (first: a.yaml #2) |" \
        in markdown(run)
    console = Console(record=True, width=250)
    print_result(console, run)
    printed = console.export_text()
    assert "sources.create — [status] status: expected 200, got 404 (No such token: 'tok_visa') — 2 interactions " \
           "in 2 cassettes; 3 more blocked by it" in printed
    assert "b.yaml #4 cards.update (200) blocked by #2" in printed
    assert "cards.update" not in printed.split("Blocked")[0]  # not among the failures
    page = render(run)
    assert 'id="causes"' in page and "blocked by #2" in page


def test_the_terminal_leads_with_problems_and_the_symptoms_are_one_flag_away():
    run = RunResult("http://t", [CassetteResult("a.yaml", "a", [
        interaction(n, "cards.update", Finding("value", f"name{n}", "m", "a", "b")) for n in range(1, 40)])])
    console = Console(record=True, width=200)
    print_result(console, run)
    printed = console.export_text()
    assert "39 interactions deviate: every finding under the root causes above is listed by --show-all" in printed
    assert "a.yaml #39" not in printed and "… 24 more root causes (--show-all lists them)" in printed
    console = Console(record=True, width=200)
    print_result(console, run, reports=[Path("out/report.html")])
    assert "listed by --show-all, or see out/report.html" in console.export_text()
    console = Console(record=True, width=200)
    print_result(console, run, show_all=True)
    printed = console.export_text()
    assert "more root causes" not in printed and "a.yaml #39" in printed and "[value] name39" in printed


def problem_run() -> RunResult:
    """Two customers missing keys of the recorded shape on two endpoints, a delete answering the customer, a rule
    not judged: three problems, however many findings."""
    def customer(index: int, endpoint: str) -> InteractionResult:
        return interaction(index, endpoint, *(Finding("keys.missing", key, f"{key} is missing (recorded: {n})", n, MISSING,
                                                      kind="customer", key_path=key)
                                              for n, key in enumerate(("balance", "invoice_prefix", "tax_exempt"))))

    delete = interaction(4, "cards.delete",
                         Finding("invariant.deleted", "deleted", "deleted: expected true", True, MISSING),
                         Finding("invariant.deleted", "object", "object: expected 'card'", "card", "customer"),
                         Finding("schema.type", "id", "id: …", "string", 1))
    delete.not_judged = [("invariant.default_source", "one card was left")]
    return RunResult("http://t", [CassetteResult("cassettes/a.yaml", "a", [customer(1, "customers.create"),
                                                                          customer(2, "customers.retrieve"), delete])])


def test_every_format_leads_with_problems_and_links_their_symptoms():
    run = problem_run()
    data = to_json(run)
    shape, kind = data["root_causes"]
    assert shape["message"] == "customer objects lack 3 keys of the recorded shape: balance, invoice_prefix, tax_exempt"
    assert shape["endpoints"] == ["customers.create", "customers.retrieve"] and shape["symptoms"] == 6
    assert kind["message"].startswith("answers a customer object, not the deleted card") and kind["symptoms"] == 3
    assert data["not_judged"] == [{"cassette": "cassettes/a.yaml", "index": 4, "rule": "invariant.default_source",
                                   "reason": "one card was left"}]
    page = render(run)
    assert page.index('id="causes"') < page.index('id="not-judged"') < page.index('id="interactions"')
    for anchor in re.findall(r'<a href="#(i-[^"]+)">', page):  # each cause links to interactions on the page
        assert f'id="{anchor}"' in page
    assert '<a href="#i-a-1">a #1</a> <a href="#i-a-2">a #2</a>' in page
    text = markdown(run)
    assert text.index("**Root causes**") < text.index("**Not judged**") < text.index("<details>")
    console = Console(record=True, width=300)
    print_result(console, run)
    printed = console.export_text()
    assert "customers.create, customers.retrieve — [keys.missing] customer objects lack 3 keys" in printed
    assert "[invariant.default_source] one card was left" in printed and "balance is missing" not in printed


TYPE_CAUSE = 'answers: exp_year is string where the recording has integer (e.g. "2030")'


def test_a_comparison_groups_regressions_and_fixes_by_problem():
    """One line per problem: a new cause with its interactions; a known cause that now fails more (or fewer)
    interactions; never one line per finding of the same problem."""
    def run(type_at: tuple[int, ...], missing_at: tuple[int, ...], error_at: tuple[int, ...] = ()) -> dict:
        interactions = []
        for index in range(1, 7):
            findings = []
            if index in type_at:
                findings.append(Finding("type", "exp_year", "exp_year: expected integer", 2030, "2030"))
            if index in missing_at:
                findings.append(Finding("status", "", "status: expected 200, got 404", 200, 404))
            if index in error_at:
                findings.append(Finding("status", "", "status: expected 200, got 500", 200, 500))
            interactions.append(interaction(index, "cards.update", *findings))
        return to_json(RunResult("http://127.0.0.1:1", [CassetteResult("a.yaml", "a", interactions)]))

    def lines(grouped: list) -> list[tuple[str | None, str, list[int]]]:
        return [(cause.message if cause else None, state, [key[1] for key, _ in items]) for cause, state, items in grouped]

    comparison = compare_reports(run(type_at=(1, 2), missing_at=(5,)),
                                 run(type_at=(1, 2, 3, 4), missing_at=(6,), error_at=(5,)))
    # #5's status finding keeps its identity (404 then 500): no regression, but a new problem all the same
    assert len(comparison.regressions) == 3 and comparison.fixes == []
    assert lines(comparison.grouped()) == [
        ("status: expected 200, got 500", "new", []),
        (TYPE_CAUSE, "more", [3, 4]),
        ("status: expected 200, got 404", "more", [6]),
    ]
    fixed = compare_reports(run(type_at=(1, 2, 3), missing_at=(5,)), run(type_at=(1,), missing_at=()))
    assert lines(fixed.grouped(fixed=True)) == [("status: expected 200, got 404", "fixed", [5]),
                                                (TYPE_CAUSE, "fewer", [2, 3])]


def test_a_failure_is_never_told_under_a_warnings_root_cause():
    """A charge with an unasked list (a warning: the contract does not say it is left out) and an expanded
    destination (a failure) once made one cause of severity warning: the failure was hidden."""
    from conformance.report.causes import root_causes

    findings = [Finding("schema.expand", "refunds", "refunds is present, but the request did not ask for "
                        "expand[]=refunds", None, "a list", Severity.WARNING, kind="charge"),
                Finding("schema.expand", "transfer_data.destination", "transfer_data.destination is the expanded "
                        "object", "an id", "an object", kind="charge")]
    run = RunResult("http://127.0.0.1:1", [CassetteResult("a.yaml", "a", [
        interaction(1, "GET /v1/charges/{charge}", *findings)])])
    causes = {(cause.severity, cause.path) for cause in root_causes(run)}
    assert causes == {(Severity.WARNING, "refunds"), (Severity.FAILURE, "transfer_data.destination")}


def test_unasked_lists_the_contract_is_silent_on_read_as_one_warning_that_says_so():
    from conformance.report.causes import root_causes

    findings = [Finding("schema.expand", path, f"{path} is present", None, "a list", Severity.WARNING, kind="account")
                for path in ("external_accounts", "persons")]
    run = RunResult("http://127.0.0.1:1", [CassetteResult("a.yaml", "a", [
        interaction(1, "GET /v1/accounts/{account}", *findings)])])
    (cause,) = root_causes(run)
    assert cause.severity == Severity.WARNING
    assert cause.message == ("account objects hold external_accounts, persons as lists although the request did not "
                             "ask for expand[] (the contract lists them among expandable fields and does not say "
                             "whether they are written out by default)")


def one_of_each() -> RunResult:
    return RunResult("http://127.0.0.1:1", [CassetteResult("cassettes/a.yaml", "a", [interaction(1, "customers.create")])],
                     seconds=0.5)


def every_summary(run: RunResult, tmp_path: Path) -> dict[str, str]:
    console = Console(record=True, width=300)
    print_result(console, run)
    write_junit(run, tmp_path / "junit.xml")
    return {"terminal": console.export_text(), "markdown": markdown(run), "html": html.unescape(render(run))}


def test_one_of_a_thing_is_said_in_the_singular_everywhere(tmp_path):
    said = every_summary(one_of_each(), tmp_path)
    assert "1 interaction in 1 cassette: 1 passed" in said["terminal"]
    assert "1 interaction in 1 cassette: **1 passed**" in said["markdown"]
    assert "1 interaction in 1 cassette —" in said["html"]
    assert not [name for name, text in said.items() if re.search(r"\b1 (interactions|cassettes)\b", text)]


def test_an_interrupted_run_says_so_and_never_that_it_conforms(tmp_path):
    run = one_of_each()
    run.interrupted_by = 2  # Ctrl-C after the first interaction: what did not run was not judged
    assert run.verdict is Verdict.CONFORMS  # of what ran: the summaries must not read as a pass
    said = every_summary(run, tmp_path)
    assert "1 passed, 0 failed, 0 blocked, 0 with warnings — interrupted (0.50s)" in said["terminal"]
    assert said["markdown"].startswith("### Card conformance of `http://127.0.0.1:1`: ⚠️ interrupted\n")
    assert '<p class="verdict bad">interrupted: 1 interaction' in said["html"]
    assert not [name for name, text in said.items() if "conforms" in text]
    run.cassettes[0].interactions[0].findings.append(Finding("type", "exp_year", "m", 2030, "2030"))
    assert "— interrupted, deviations found so far (" in every_summary(run, tmp_path)["terminal"]
