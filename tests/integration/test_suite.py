"""The reference suite in cassettes/: what it covers, `check`, `capture` and the demo."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cassette import load
from conformance.cli import main
from conformance.suite.scenarios import SUITE

from ..conftest import API_KEY
from ..stripe_fake import PROVENANCE, FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SUITE_DIR = ROOT / "cassettes"


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


def test_the_suite_has_one_cassette_per_scenario_covering_the_documented_behaviour():
    assert sorted(p.stem for p in SUITE_DIR.glob("*.yaml")) == sorted(SUITE)
    update = load(SUITE_DIR / "cards-update.yaml").interactions
    bodies = [i.request.body.value for i in update if i.endpoint == "cards.update"]
    assert {"name": "Jenny Rosen"} in bodies and {"metadata": ""} in bodies and {"metadata": {"channel": ""}} in bodies
    card_error = update[-1].response.json()["error"]
    assert update[-1].response.status == 402 and card_error["type"] == "card_error" and card_error["param"] == "exp_month"
    after_updates = [i.response.json() for i in update if i.endpoint in ("cards.retrieve", "sources.retrieve")]
    assert len(after_updates) == 2 and all(c["name"] == "Jenny Rosen" and c["exp_month"] == 12 and c["metadata"] == {}
                                           for c in after_updates)  # both routes show every update
    listing = load(SUITE_DIR / "cards-list.yaml").interactions
    attached = [i.response.json() for i in listing if i.endpoint == "sources.create"]
    assert len(attached) == 11 and {c["brand"] for c in attached} == {"Visa", "MasterCard"}  # no Amex
    lists = [i for i in listing if i.endpoint == "cards.list"]
    pages = [i for i in lists if i.request.query.get("limit") == "3" and "ending_before" not in i.request.query]
    assert [len(p.response.json()["data"]) for p in pages] == [3, 3, 3, 2]
    assert pages[0].response.json()["has_more"] is True and pages[-1].response.json()["has_more"] is False
    assert "starting_after" in pages[1].request.query
    (before,) = [i for i in lists if "ending_before" in i.request.query]
    assert before.request.query["ending_before"] == pages[2].response.json()["data"][0]["id"]
    assert before.response.json()["data"] == pages[1].response.json()["data"]  # the page before the third: the second
    (default,) = [i for i in lists if not i.request.query]
    assert len(default.response.json()["data"]) == 10 and default.response.json()["has_more"] is True
    bounds = {i.request.query["limit"]: i.response for i in lists if i.request.query.get("limit") in ("0", "101")}
    assert {limit: (r.status, r.json()["error"]["param"]) for limit, r in bounds.items()} == {
        "0": (400, "limit"), "101": (400, "limit")}
    plain, expanded = listing[-2], listing[-1]
    assert "sources" not in plain.response.json() and plain.request.query in ({}, "")  # only when expanded
    assert expanded.request.query == {"expand": ["sources"]}
    customer = expanded.response.json()
    assert len(customer["sources"]["data"]) == 10 and customer["sources"]["has_more"] is True
    assert customer["livemode"] is False and customer["invoice_settings"]["default_payment_method"] is None
    delete = load(SUITE_DIR / "cards-delete.yaml").interactions
    attached = [i.response.json() for i in delete[1:5]]
    assert [(c["brand"], c["funding"], c["last4"]) for c in attached] == [
        ("Visa", "credit", "4242"), ("MasterCard", "credit", "4444"), ("Visa", "debit", "5556"),
        ("MasterCard", "credit", "4444")]  # no Amex: the rules are judged on targets that refuse it (localstripe)
    assert delete[5].response.json()["deleted"] is True
    assert delete[6].response.status == 404 and delete[6].response.json()["error"]["code"] == "resource_missing"
    assert delete[7].response.json() == {"id": attached[0]["id"], "object": "card", "deleted": True}
    # two cards are left: the most recently added (the second Mastercard) becomes the default, not the oldest
    assert delete[8].response.json()["default_source"] == attached[3]["id"] != attached[2]["id"]
    assert delete[10].response.json()["default_source"] == attached[2]["id"]
    assert delete[12].response.json()["default_source"] is None
    assert delete[14].request.path.endswith(f"/cards/{delete[13].response.json()['id']}") and delete[14].response.json()["deleted"] is True
    assert delete[15].response.status == 404
    errors = load(SUITE_DIR / "card-errors.yaml").interactions
    assert [i.response.status for i in errors] == [200, 404, 404, 404, 404, 404, 401]
    assert {i.request.method for i in errors[3:6]} == {"GET", "POST", "DELETE"}
    assert all("/sources/" in i.request.path and i.response.json()["error"]["code"] == "resource_missing"
               for i in errors[3:6])
    assert "Authorization" not in errors[-1].request.headers
    retrieve = load(SUITE_DIR / "cards-retrieve.yaml").interactions
    expanded = [i.response.json() for i in retrieve if "expand" in str(i.request.query)]
    assert len(expanded) == 2 and all(c["customer"]["object"] == "customer" for c in expanded)
    amex = load(SUITE_DIR / "cards-amex.yaml").interactions
    assert amex[1].response.json()["brand"] == "American Express" and amex[1].response.json()["last4"] == "8431"


def test_every_cassette_states_its_api_version_and_sends_it():
    for path in sorted(SUITE_DIR.glob("*.yaml")):
        cassette = load(path)
        assert cassette.meta["api_version"] == "2023-08-16", path
        for interaction in cassette.interactions:
            assert interaction.request.headers["Stripe-Version"] == "2023-08-16", (path, interaction.index)
            assert interaction.response.headers["Stripe-Version"] == "2023-08-16", (path, interaction.index)


def test_every_cassette_says_where_its_expectations_come_from_and_what_is_disputed():
    for path in sorted(SUITE_DIR.glob("*.yaml")):
        cassette = load(path)
        source = cassette.meta.get("source", "")
        assert source.startswith(PROVENANCE) and "OpenAPI" in source and "API reference" in source, path
        assert "wallet" in cassette.meta["compare"]["ignore"], path
        assert "currency" in cassette.meta["compare"]["nullable"] and "`currency`" in source, path  # fake vs fixture
        if any(i.response.status == 404 and "card" in i.request.path.split("/")[-1] for i in cassette.interactions):
            assert "error.param" in cassette.meta["compare"]["loose"], path  # the missing card's param is disputed


def test_the_suite_replays_with_zero_findings_against_a_documented_target(tmp_path):
    report = tmp_path / "report.json"
    with FakeStripe() as target:
        code, output = cli("run", SUITE_DIR, "--target", target, "--json-report", report)
    assert code == 0, output
    summary = json.loads(report.read_text())["summary"]
    assert summary["failures"] == summary["warnings"] == 0 and summary["interactions"] > 40


def test_check_passes_on_the_suite():
    code, output = cli("check", SUITE_DIR)
    assert code == 0, output
    assert output.strip() == f"{len(SUITE)} cassettes checked: 0 problems, 0 unreadable"


def test_check_finds_a_planted_secret_and_an_unreplayable_request(tmp_path):
    planted = tmp_path / "planted.yaml"
    text = (SUITE_DIR / "cards-retrieve.yaml").read_text()
    planted.write_text(text.replace("email: jenny.rosen@example.com", f"email: {API_KEY}", 1))
    code, output = cli("check", planted)
    assert code == 1
    line = next(n for n, text in enumerate(planted.read_text().splitlines(), 1) if API_KEY in text)
    assert f"{planted}:{line}: an unredacted sk_test" in output
    assert API_KEY not in output
    orphan = tmp_path / "orphan.yaml"
    lines = (SUITE_DIR / "cards-retrieve.yaml").read_text().split("\n---\n")
    orphan.write_text("\n---\n".join([*lines[:2], *lines[3:]]))  # the customer is never created
    code, output = cli("check", orphan)
    assert code == 1 and "which no earlier response returned" in output


@pytest.mark.parametrize("text, problem", [
    ("version: 2\nname: x\n", "unsupported cassette version 2"),
    ("version: 1\n---\nrequest: [\n", "invalid YAML"),
])
def test_check_refuses_unreadable_cassettes_with_exit_2(tmp_path, text, problem):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    code, output = cli("check", path)
    assert code == 2
    assert output.splitlines()[0].startswith(f"{path}:") and problem in output.splitlines()[0]


def test_capture_against_a_local_server_gives_the_suite_again(tmp_path):
    out = tmp_path / "suite"
    with FakeStripe() as upstream:
        process = subprocess.run(
            [sys.executable, "-m", "conformance", "capture", "--upstream", upstream, "--out", str(out)],
            capture_output=True, text=True, timeout=300, env={**_env(), "STRIPE_API_KEY": API_KEY},
        )
        assert process.returncode == 0, process.stdout + process.stderr
        assert sorted(p.name for p in out.glob("*.yaml")) == sorted(p.name for p in SUITE_DIR.glob("*.yaml"))
        for path in out.glob("*.yaml"):  # the same interactions as the committed suite: a clean diff
            assert [i.endpoint for i in load(path).interactions] == \
                [i.endpoint for i in load(SUITE_DIR / path.name).interactions]
            # the header says where the answers came from, then what public sources disagree on
            source = load(path).meta["source"]
            assert source.startswith(f"Captured with `conformance capture` from {upstream}. ") and "wallet" in source
            assert load(path).meta["compare"] == load(SUITE_DIR / path.name).meta["compare"]
        assert cli("check", out)[0] == 0
        code, output = cli("run", out, "--target", upstream)
    assert code == 0, output
    assert API_KEY not in "".join(p.read_text() for p in out.glob("*.yaml")) + process.stdout


def test_check_tells_the_story_run_would_of_a_recording_that_contradicts_the_reference(tmp_path):
    """Recorded from a target that breaks a documented rule (a delete answering `deleted: false`) and replayed
    against it, the diff is clean but the rule fails; `check` says it first."""
    out = tmp_path / "suite"
    with FakeStripe(deviation="deleted-false") as upstream:
        process = subprocess.run(
            [sys.executable, "-m", "conformance", "capture", "--upstream", upstream, "--out", str(out),
             "--only", "cards-delete"],
            capture_output=True, text=True, timeout=300, env={**_env(), "STRIPE_API_KEY": API_KEY})
        code, output = cli("run", out, "--target", upstream)
    assert code == 1, process.stdout + process.stderr + output  # the documented rules fail against its own server
    checked, said = cli("check", out)
    assert checked == 0, said  # warnings by default
    assert "warning: weak reference: interaction 6 (cards.delete): the recording contradicts the API reference: " \
           "[invariant.deleted]" in said
    assert "5 warnings" in said  # every delete
    strict, _ = cli("check", out, "--strict")
    assert strict == 1


def test_capture_refuses_a_live_key():
    process = subprocess.run([sys.executable, "-m", "conformance", "capture", "--upstream", "http://127.0.0.1:9"],
                             capture_output=True, text=True, timeout=60,
                             env={**_env(), "STRIPE_API_KEY": "sk_live_" + "a" * 24})
    assert process.returncode == 2 and "refusing a live API key" in process.stderr


def test_the_demo_replays_the_suite_against_localstripe_and_writes_reports(tmp_path):
    process = subprocess.run([sys.executable, "-m", "conformance", "demo", "--out", str(tmp_path / "reports")],
                             capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert process.returncode == 0, process.stdout + process.stderr
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    assert report["summary"]["failed"] > 0  # localstripe's deviations are the demo's findings
    assert (tmp_path / "reports" / "junit.xml").exists() and "the demo itself succeeded" in process.stdout


def _env():
    import os

    return {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
