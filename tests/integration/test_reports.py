"""Reports people read and CI gates trust: HTML (in a real Chromium), Markdown, JUnit, compare, baseline, shards."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xmlschema
from click.testing import CliRunner

from conformance.cli import main

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "cassettes"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture(scope="module")
def deviating_run(tmp_path_factory):
    """One run of the suite against a target with two known deviations, with every report."""
    out = tmp_path_factory.mktemp("reports")
    with FakeStripe(deviation="deleted-false") as target:
        code, output = cli("run", SUITE, "--target", target, "--json-report", out / "report.json",
                           "--junit-xml", out / "junit.xml", "--html-report", out / "report.html",
                           "--markdown-report", out / "summary.md")
    assert code == 1, output
    return out


def need_chromium():
    if CHROMIUM is None:
        if os.environ.get("CONFORMANCE_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required here (.ci/run installs Debian's chromium package)")
        pytest.skip("chromium is not installed")


def chromium(tmp_path, *args, timeout=60):
    return subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", *args],
                          capture_output=True, text=True, timeout=timeout)


def test_the_html_report_is_self_contained(deviating_run):
    html = (deviating_run / "report.html").read_text()
    assert "<link" not in html and not re.search(r"\bsrc=", html) and "@import" not in html
    assert "invariant.deleted" in html and 'data-outcome="failed"' in html and 'data-outcome="passed"' in html


@pytest.mark.parametrize("outcome", ["failed", "passed"])
def test_the_filter_works_in_a_real_chromium(deviating_run, tmp_path, outcome):
    need_chromium()
    page = f"file://{deviating_run / 'report.html'}#{outcome}"
    dom = chromium(tmp_path, "--dump-dom", page).stdout
    assert f'data-filter="{outcome}"' in dom  # the page's script ran
    shown = re.findall(r'<div class="interaction (\w+)" data-outcome="\w+"[^>]*>', dom)
    hidden = re.findall(r'<div class="interaction (\w+) hidden"', dom)
    assert shown and set(shown) == {outcome}
    assert hidden and outcome not in hidden


def test_a_screenshot_of_the_html_report_is_not_blank(deviating_run, tmp_path):
    need_chromium()
    from PIL import Image

    shot = tmp_path / "shot.png"
    chromium(tmp_path, "--window-size=1280,900", f"--screenshot={shot}", f"file://{deviating_run / 'report.html'}")
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert image.size == (1280, 900) and len(colours) > 20  # text, tables, highlights — not one flat colour
    red = sum(count for count, (r, g, b) in colours if r > 180 and g < 80 and b < 80)
    assert red > 100  # the failed interactions' marks


def test_the_markdown_summary_fits_a_pull_request_comment(deviating_run):
    text = (deviating_run / "summary.md").read_text()
    assert text.startswith("### Card conformance of")
    assert "| endpoint | passed | failed | blocked | warnings |" in text and "| `cards.delete` | 1 | 5 | 0 | 0 |" in text
    # one root cause for the three deletions, at the top
    assert "| `cards.delete` | invariant.deleted | deleted: expected true (a boolean), got false (first: " \
           "cards-delete.yaml #6) | 5 in 1" in text
    # the symptoms one click away
    assert text.index("<details><summary>Findings") > text.index("| endpoint | passed")
    assert text.index("Root causes") < text.index("| endpoint | passed")
    assert "| cards-delete.yaml | 6 | `cards.delete` | `deleted` | invariant.deleted |" in text
    assert len(text.splitlines()) < 60


def test_junit_xml_validates_against_the_common_schema(deviating_run):
    schema = xmlschema.XMLSchema(str(ROOT / "tests" / "schemas" / "junit.xsd"))
    schema.validate(str(deviating_run / "junit.xml"))
    text = (deviating_run / "junit.xml").read_text()
    assert text.count("<testsuite ") == len(list(SUITE.glob("*.yaml"))) and text.count("<failure ") == 5
    assert "[invariant.deleted] deleted: expected true, got false" in text


def test_compare_lists_regressions_and_fixes_with_stable_identities(tmp_path):
    reports = {}
    for name, deviation in (("a", "deleted-false"), ("a-again", "deleted-false"), ("b", "update-ignores-name")):
        with FakeStripe(deviation=deviation) as target:
            cli("run", SUITE, "--target", target, "--json-report", tmp_path / f"{name}.json")
        reports[name] = tmp_path / f"{name}.json"
    code, output = cli("compare", reports["a"], reports["a-again"])
    # new ids each run, same identities
    assert code == 0 and "0 regressions (0 new root causes), 0 fixed (0 root causes), 5 unchanged" in output
    code, output = cli("compare", reports["a"], reports["b"], "--markdown", tmp_path / "c.md", "--json", tmp_path / "c.json")
    assert code == 1
    # by problem: one line per root cause with the interactions it newly fails (or passes), not one per finding
    assert "regression: " not in output and "fixed: " not in output
    (new,) = [line for line in output.splitlines() if line.startswith("new root cause: ")]
    assert "[type]" in new and "10 interactions: " in new and "and 5 more)" in new
    data = json.loads((tmp_path / "c.json").read_text())
    assert {r["rule"] for r in data["regressions"]} == {"type"} and {f["rule"] for f in data["fixes"]} == {
        "invariant.deleted"}
    # the four failed deletions were one root cause: one fix
    assert [(c["rule"], c["count"]) for c in data["fixed_root_causes"]] == [("invariant.deleted", 5)]
    assert "fixed root cause: cards.delete [invariant.deleted] deleted" in output
    assert "**" in (tmp_path / "c.md").read_text() and "### Regressions" in (tmp_path / "c.md").read_text()
    code, output = cli("compare", reports["a"], tmp_path / "missing.json")
    assert code == 2 and "cannot read report" in output


def test_a_baseline_accepts_known_deviations_and_fails_on_new_ones(tmp_path):
    with FakeStripe(deviation="deleted-false") as target:
        cli("run", SUITE, "--target", target, "--json-report", tmp_path / "known.json")
    with FakeStripe(deviation="deleted-false") as target:
        code, output = cli("run", SUITE, "--target", target, "--baseline", tmp_path / "known.json")
    assert code == 0, output
    assert "known deviations accepted by the baseline" in output
    with FakeStripe(deviation="update-ignores-name") as target:
        code, output = cli("run", SUITE, "--target", target, "--baseline", tmp_path / "known.json")
    assert code == 1


def test_under_a_baseline_what_follows_from_an_accepted_deviation_stays_blocked(tmp_path):
    """Accepting a deviation accepts its consequences, but they were never judged: blocked, not passed."""
    with FakeStripe(deviation="refuse-amex") as target:
        cli("run", SUITE, "--target", target, "--json-report", tmp_path / "known.json")
    known = json.loads((tmp_path / "known.json").read_text())["summary"]
    assert known["blocked"] > 0
    with FakeStripe(deviation="refuse-amex") as target:
        code, output = cli("run", SUITE, "--target", target, "--baseline", tmp_path / "known.json",
                           "--json-report", tmp_path / "again.json")
    assert code == 0, output
    again = json.loads((tmp_path / "again.json").read_text())["summary"]
    assert again["blocked"] == known["blocked"] and again["failed"] == 0
    assert again["passed"] == known["passed"] + known["failed"]  # accepted: the failures pass, what they block does not
    assert f"{known['blocked']} blocked" in output


def test_shards_are_disjoint_stable_and_complete(tmp_path):
    seen = []
    with FakeStripe() as target:
        for index in (1, 2, 3):
            code, _ = cli("run", SUITE, "--target", target, "--shard", f"{index}/3", "--json-report",
                          tmp_path / f"{index}.json")
            assert code == 0
            seen.append([c["path"] for c in json.loads((tmp_path / f"{index}.json").read_text())["cassettes"]])
    flat = [path for shard in seen for path in shard]
    assert sorted(flat) == sorted(str(p) for p in SUITE.glob("*.yaml")) and len(flat) == len(set(flat))
    assert cli("run", SUITE, "--target", "http://127.0.0.1:9", "--shard", "4/3")[0] == 2


def test_the_pytest_plugin_collects_cassettes_and_runs_them_on_xdist_workers(tmp_path):
    junit = tmp_path / "pytest.xml"
    with FakeStripe(deviation="deleted-false") as target:
        process = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--conformance-target", target, str(SUITE),
             "-n", "2", "--dist", "loadfile", f"--junitxml={junit}", "-q", "--rootdir", str(tmp_path)],
            capture_output=True, text=True, timeout=300, cwd=tmp_path,
        )
    assert process.returncode == 1, process.stdout + process.stderr
    assert "1 failed, 6 passed" in process.stdout
    assert "FAIL #6 cards.delete DELETE" in process.stdout and "[invariant.deleted] deleted" in process.stdout
    xml = junit.read_text()
    assert xml.count("<testcase ") == 7 and xml.count("<failure ") == 1


def test_the_pytest_plugin_collects_cassettes_only_and_summarizes_the_first_failing_step(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(SUITE, project / "cassettes")
    (project / "docker-compose.yaml").write_text("version: '3'\nservices:\n  web:\n    image: nginx\n")
    (project / "cassettes" / "empty.yaml").write_text("version: 1\nname: empty\n")
    (project / "cassettes" / "vcr.yaml").write_text("interactions: []\nversion: 1\n")  # VCR.py's, not ours
    (project / "pytest.ini").write_text("[pytest]\nconformance_paths = cassettes\n")
    with FakeStripe(deviation="deleted-false") as target:
        process = subprocess.run(
            [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--conformance-target", target, "-ra", "-q",
             str(project)], capture_output=True, text=True, timeout=300, cwd=project,
            env={**os.environ, "COLUMNS": "200"},
        )
    out = process.stdout
    assert process.returncode == 1, out + process.stderr
    assert "docker-compose" not in out  # not a cassette: never collected
    assert "3 failed, 6 passed" in out
    assert "FAILED cassettes/empty.yaml::empty - no interactions to replay in" in out
    assert "FAILED cassettes/vcr.yaml::vcr - " in out and "a VCR.py cassette, not a card-conformance cassette" in out
    summary = next(line for line in out.splitlines() if line.startswith("FAILED cassettes/cards-delete.yaml"))
    assert "cards-delete - #6 cards.delete [invariant.deleted] deleted: expected true, got false" in summary


def test_the_pytest_plugin_takes_tokens_a_baseline_and_names_its_own_live_key_flag(tmp_path):
    def plugin(target, *options):
        return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--rootdir",
                               str(tmp_path), "--conformance-target", target, *options, str(SUITE / "cards-delete.yaml")],
                              capture_output=True, text=True, timeout=300, cwd=tmp_path)

    with FakeStripe(deviation="deleted-false") as target:
        cli("run", SUITE / "cards-delete.yaml", "--target", target, "--json-report", tmp_path / "known.json")
        assert plugin(target).returncode == 1
        accepted = plugin(target, "--conformance-baseline", str(tmp_path / "known.json"))
        assert accepted.returncode == 0, accepted.stdout + accepted.stderr
        live = plugin(target, "--conformance-api-key", "sk_live_" + "x" * 24)
        assert live.returncode == 4 and "or pass --conformance-allow-live" in live.stderr
    with FakeStripe(deviation="unknown-tokens") as target:  # a target without the magic test tokens
        assert plugin(target).returncode == 1
        created = plugin(target, "--conformance-tokens", "create")
        assert created.returncode == 0, created.stdout + created.stderr


def test_compare_counts_what_was_not_run_as_not_run_never_as_fixed(tmp_path):
    with FakeStripe(deviation="deleted-false") as target:
        cli("run", SUITE, "--target", target, "--json-report", tmp_path / "all.json")
        cli("run", SUITE / "cards-update.yaml", "--target", target, "--json-report", tmp_path / "one.json")
    code, output = cli("compare", tmp_path / "all.json", tmp_path / "one.json", "--json", tmp_path / "c.json")
    assert code == 1
    assert "0 fixed" in output and "6 not run" in output
    assert f"not run: {SUITE / 'cards-delete.yaml'} (the whole cassette)" in output
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["fixes"] == [] and data["fixed_root_causes"] == [] and len(data["not_run"]) == 6
    assert cli("compare", tmp_path / "all.json", tmp_path / "one.json", "--allow-missing")[0] == 0


def test_a_report_of_the_previous_schema_compares_by_the_same_problems(tmp_path):
    """A baseline written before findings said which object they are about: the problems are recomputed from the
    bodies it kept, so no cause reads as new or fixed."""
    from conformance.report.baseline import compare_reports

    with FakeStripe(deviation="missing-null-field") as target:
        cli("run", SUITE, "--target", target, "--json-report", tmp_path / "now.json")
    now = json.loads((tmp_path / "now.json").read_text())
    old = json.loads(json.dumps(now))
    old["schema"] = "card-conformance/report/2"
    old.pop("not_judged")
    for cause in old["root_causes"]:
        for key in ("key", "kind", "endpoints", "paths", "symptoms"):
            cause.pop(key)
    for cassette in old["cassettes"]:
        for interaction in cassette["interactions"]:
            interaction.pop("blocked_id")
            for finding in interaction["findings"]:
                for key in ("kind", "key_path", "problem", "consequence_of"):
                    finding.pop(key, None)
    comparison = compare_reports(old, now)
    assert comparison.new_causes == [] and comparison.fixed_causes == [] and not comparison.regressions
    assert any(c["rule"] == "keys.missing" and c["kind"] == "card" for c in now["root_causes"])
