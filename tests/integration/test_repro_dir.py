"""run --repro-dir: per root cause, the fewest interactions of its cassette that still show it, as a cassette that
reproduces it on the target and passes on a faithful one. Real targets on 127.0.0.1 (tests/stripe_fake.py)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cassette import load
from conformance.cli import main
from conformance.stripe import STRIPE

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
SUITE = Path(__file__).resolve().parents[2] / "cassettes"
SECRET_KEY = "sk_test_51ReproSecretKey0000000000"


def cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def failing_causes(report: Path) -> list[dict]:
    return [c for c in json.loads(report.read_text())["root_causes"] if c["severity"] == "failure"]


@pytest.fixture
def deletes(tmp_path: Path) -> Path:
    """The suite's card deletion scenario (≥ 10 interactions), copied: the run reads it, never the suite's file."""
    path = tmp_path / "cassettes" / "cards-delete.yaml"
    path.parent.mkdir()
    shutil.copy(SUITE / "cards-delete.yaml", path)
    assert len(load(path, STRIPE).interactions) >= 10
    return path


def test_a_broken_delete_is_cut_down_to_the_interactions_it_needs_and_reproduces_only_there(tmp_path, deletes):
    out, report = tmp_path / "repro", tmp_path / "run.json"
    with FakeStripe(deviation="deleted-false") as broken:
        code, output = cli("run", deletes, "--target", broken, "--repro-dir", out, "--json-report", report)
        assert code == 1, output
        (cause,) = failing_causes(report)
        repro = cause["repro"]
        written = Path(repro["cassette"])
        assert repro["source"] == str(deletes) and repro["note"] is None and written.parent == out
        assert f"reproduce: conformance run {written} --target {broken}" in output
        cassette = load(written, STRIPE)
        source = load(deletes, STRIPE)
        kept = repro["interactions"]
        # the failing delete itself, last, as recorded; fewer interactions than the scenario; its header says how
        assert kept[-1] == cause["interactions"][0]["index"] and cassette.interactions[-1].endpoint == "cards.delete"
        assert len(cassette.interactions) == len(kept) < len(source.interactions)
        assert cassette.interactions[-1].request.path == source.interactions[kept[-1] - 1].request.path
        assert {i.endpoint for i in cassette.interactions} >= {"customers.create", "sources.create"}  # its setup
        meta = cassette.meta["meta"]
        assert (meta["made_by"], meta["cassette"], meta["interactions"], meta["rule"]) == (
            "conformance run --repro-dir", deletes.name, kept, "invariant.deleted")  # no path of this machine
        assert cassette.meta["compare"] == source.meta["compare"]  # judged as the scenario is
        code, output = cli("run", written, "--target", broken, "--json-report", tmp_path / "again.json")
        assert code == 1 and [c["rule"] for c in failing_causes(tmp_path / "again.json")] == ["invariant.deleted"]
    with FakeStripe() as faithful:
        code, output = cli("run", written, "--target", faithful)
        assert code == 0, output


def test_each_root_cause_gets_its_own_cassette_reproducing_that_cause(tmp_path, deletes):
    out, report = tmp_path / "repro", tmp_path / "run.json"
    with FakeStripe(deviation="deleted-false,400-for-404") as broken:
        code, output = cli("run", deletes, "--target", broken, "--repro-dir", out, "--json-report", report)
        assert code == 1, output
        causes = failing_causes(report)
        files = sorted(out.glob("*.yaml"))
        assert len(causes) >= 2 and len(files) == len(causes)
        assert sorted(Path(c["repro"]["cassette"]) for c in causes) == files
        assert "Repro cassettes: " + str(len(files)) + " written" in output
        for number, cause in enumerate(causes):
            again = tmp_path / f"again-{number}.json"
            assert cli("run", cause["repro"]["cassette"], "--target", broken, "--json-report", again)[0] == 1
            # the cause it was made for is among what it shows (a 404 answered 400 shows with its own status cause)
            assert cause["key"] in [c["key"] for c in failing_causes(again)]
            assert load(Path(cause["repro"]["cassette"]), STRIPE).meta["meta"]["rule"] == cause["rule"]
    with FakeStripe() as faithful:
        for cause in causes:
            assert cli("run", cause["repro"]["cassette"], "--target", faithful)[0] == 0


def test_a_cap_hit_writes_the_smallest_found_so_far_and_says_so(tmp_path):
    out, report = tmp_path / "repro", tmp_path / "run.json"
    pages = tmp_path / "cassettes" / "cards-list.yaml"  # a cause ddmin must search for (its closure does not show it)
    pages.parent.mkdir()
    shutil.copy(SUITE / "cards-list.yaml", pages)
    with FakeStripe(deviation="starting-after-ignored") as broken:
        code, output = cli("run", pages, "--target", broken, "--repro-dir", out, "--repro-replays", 1,
                           "--json-report", report, "--markdown-report", tmp_path / "summary.md")
        assert code == 1, output
        capped = [c["repro"] for c in failing_causes(report) if c["repro"]["note"]]
        assert capped, output
        for repro in capped:
            assert "stopped at the cap of 1 replay (--repro-replays)" in repro["note"]
            assert repro["replays"] <= 1
            if repro["cassette"] is not None:  # written: it still reproduces
                assert "the smallest found so far" in repro["note"]
                assert cli("run", repro["cassette"], "--target", broken)[0] == 1
        assert "stopped at the cap of 1 replay" in " ".join(output.split())
    assert (tmp_path / "summary.md").read_text().count("repro: [repro-") == sum(
        1 for c in failing_causes(report) if c["repro"]["cassette"])


def test_no_secret_of_the_cassette_or_the_run_reaches_a_repro_cassette(tmp_path, deletes):
    text = deletes.read_text()
    assert text.count('Authorization: "Bearer [REDACTED:sk_test]"') >= 3
    deletes.write_text(text.replace('Authorization: "Bearer [REDACTED:sk_test]"', f'Authorization: "Bearer {SECRET_KEY}"'))
    out = tmp_path / "repro"
    with FakeStripe(deviation="deleted-false") as broken:
        code, output = cli("run", deletes, "--target", broken, "--api-key", "sk_test_RunKey0000000000000",
                           "--repro-dir", out)
        assert code == 1, output
        (written,) = out.glob("*.yaml")
        assert cli("run", written, "--target", broken)[0] == 1  # replayable with its key redacted
    text = written.read_text()
    assert SECRET_KEY not in text and "sk_test_RunKey" not in text and "[REDACTED:sk_test]" in text
    assert not [p for p in out.rglob("*") if p != written]  # no candidate left behind


def test_without_repro_dir_nothing_is_cut_down_and_the_reports_name_no_repro(tmp_path, deletes):
    with FakeStripe(deviation="deleted-false") as broken:
        code, output = cli("run", deletes, "--target", broken, "--json-report", tmp_path / "run.json")
    assert code == 1 and "Repro cassettes" not in output and "conformance run " not in output
    assert all("repro" not in c for c in json.loads((tmp_path / "run.json").read_text())["root_causes"])
    assert re.search(r"reproduce: curl -X DELETE ", output)


@pytest.mark.parametrize("make, expected", [
    (lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file", "a file, not a directory"),
    (lambda tmp: (tmp / "a-file").write_text("x") and tmp / "a-file" / "repro", "is not a writable directory"),
    (lambda tmp: tmp / "cassettes", "is in a directory of cassettes this run replays"),
    (lambda tmp: tmp / "cassettes" / "repro", "is in a directory of cassettes this run replays"),
])
def test_a_bad_repro_dir_is_one_line_and_exit_2_before_any_request(tmp_path, deletes, make, expected):
    directory = make(tmp_path)
    with FakeStripe(deviation="deleted-false") as broken:
        code, output = cli("run", deletes.parent, "--target", broken, "--repro-dir", directory)
    assert code == 2, output
    assert output.startswith("Error: ") and expected in output and len(output.strip().splitlines()) == 1
    assert "Traceback" not in output and "Root causes" not in output


@pytest.mark.parametrize("deviation", ["stale-default-source", "wrong-id-prefix", "default-oldest"])
def test_a_repro_of_a_state_the_target_keeps_wrong_passes_on_a_faithful_target(tmp_path, deletes, deviation):
    """A target that ignores or garbles a change would still show the cause without the change that a faithful
    target needs to answer as recorded: the change stays with what shows its object."""
    out, report = tmp_path / "repro", tmp_path / "run.json"
    with FakeStripe(deviation=deviation) as broken:
        assert cli("run", deletes, "--target", broken, "--repro-dir", out, "--json-report", report)[0] == 1
        written = [c["repro"]["cassette"] for c in failing_causes(report)]
        assert written and None not in written
        for path in written:
            assert cli("run", path, "--target", broken)[0] == 1
    with FakeStripe() as faithful:
        for path in written:
            code, output = cli("run", path, "--target", faithful)
            assert code == 0, output


def test_with_a_baseline_accepted_causes_get_none_and_what_it_accepts_is_accepted_in_every_candidate(tmp_path, deletes):
    known, report = tmp_path / "known.json", tmp_path / "run.json"
    with FakeStripe(deviation="deleted-false") as old:
        assert cli("run", deletes, "--target", old, "--json-report", known)[0] == 1
    with FakeStripe(deviation="deleted-false,400-for-404") as broken:
        code, output = cli("run", deletes, "--target", broken, "--baseline", known, "--repro-dir", tmp_path / "repro",
                           "--json-report", report)
        assert code == 1, output
        data = json.loads(report.read_text())["root_causes"]
        assert [c for c in data if c["accepted"] and c["rule"] == "invariant.deleted" and "repro" not in c]
        opened = [c for c in data if not c["accepted"] and c["severity"] == "failure"]
        # a retrieve after a delete needs the delete, whose accepted deviation is no new failure of the candidate
        (after_delete,) = [c for c in opened if c["rule"] == "invariant.deleted_card"]
        assert after_delete["repro"]["cassette"] is not None, after_delete["repro"]
        assert all(c["repro"]["cassette"] for c in opened)


def test_a_spent_time_budget_writes_nothing_unverified_and_says_so(tmp_path, deletes):
    out, report = tmp_path / "repro", tmp_path / "run.json"
    with FakeStripe(deviation="deleted-false") as broken:
        code, output = cli("run", deletes, "--target", broken, "--repro-dir", out, "--repro-budget", "1e-9",
                           "--json-report", report)
    assert code == 1, output
    (cause,) = failing_causes(report)
    assert cause["repro"]["cassette"] is None and cause["repro"]["replays"] == 0
    assert "stopped when the time budget ran out (--repro-budget 1e-09s)" in cause["repro"]["note"]
    assert "no repro cassette: stopped when the time budget ran out" in output
    assert "Repro cassettes: none written (why: under each root cause)" in output
    assert not list(out.glob("*.yaml"))


def test_a_target_answering_500_to_everything_gets_a_repro_cassette_of_one_request(tmp_path, deletes):
    """One cause for the whole run (the target answers 500 to every request); its cassette is the first request
    alone, which a faithful target passes."""
    from tests.fault_target import FaultTarget

    out, report = tmp_path / "repro", tmp_path / "run.json"
    with FaultTarget("http-500") as broken:
        code, output = cli("run", deletes, "--target", broken, "--repro-dir", out, "--json-report", report)
        assert code == 1, output
        (cause,) = failing_causes(report)
        assert cause["repro"]["cassette"] is not None, cause["repro"]
        written = Path(cause["repro"]["cassette"])
        assert len(load(written, STRIPE).interactions) == 1
        assert cli("run", written, "--target", broken)[0] == 1
    with FakeStripe() as faithful:
        assert cli("run", written, "--target", faithful)[0] == 0
