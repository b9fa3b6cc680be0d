"""The matrix as an interop report, with real targets: localstripe, two test fakes and one that breaks a behaviour
only it breaks.

Scores, the interop row and the target-specific failures are checked against the cells they count; a profile's
limitation that no longer matches is reported fixed and an expired one expired, and `--strict-profiles` fails the
run on each; three matrices of successive fake versions make a history page where one behaviour breaks in the
second and is fixed in the third, rendered in a real Chromium.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conformance.cli import main
from conformance.report.matrix import scored_rows

from .test_reports import chromium, cli, need_chromium

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "cassettes"
FAKE = f"{sys.executable} -m tests.stripe_fake --port {{port}}"
TARGETS = {
    "localstripe": f"{sys.executable} -m conformance.suite.localstripe_target --port {{port}}",
    "fake": FAKE,
    "stateless": f"{FAKE} --deviation stateless",
    # has_more as a string: a list rule no other target breaks (localstripe cannot be judged on it)
    "has-more": f"{FAKE} --deviation has-more-string",
}
PROFILE = """\
stateless:
  - preset: stateless
    reason: it keeps no state
    issue: https://example.com/fake/issues/1
  - preset: one-type
    reason: a delete answers a fixed account
    issue: https://example.com/fake/issues/2
    until: 2020-01-31
  - rule: not-expanded
    reason: expand[] is not applied to the fixture
    issue: https://example.com/fake/issues/3
  - rule: parameters-not-applied
    reason: an update answers the fixture
    issue: https://example.com/fake/issues/4
  - rule: request.invalid_expiry
    reason: the fixture accepts any expiry
    issue: https://example.com/fake/issues/5
fake:
  - rule: "invariant.list:has_more"
    reason: has_more was a string before 1.2
    issue: https://example.com/fake/issues/6
"""


@pytest.fixture(scope="module")
def interop_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("interop")
    (out / "profile.yaml").write_text(PROFILE)
    args = ["matrix", SUITE, "--tokens", "localstripe=create", "--profile", out / "profile.yaml", "--workers", "4",
            "--json-report", out / "matrix.json", "--markdown-report", out / "matrix.md"]
    for name, command in TARGETS.items():
        args += ["--target-cmd", f"{name}={command}"]
    code, output = cli(*args)
    return out, code, output, json.loads((out / "matrix.json").read_text())


def states(matrix, name):
    return {row_id: matrix["cells"][row_id][name]["state"] for row_id in scored_rows(matrix)}


def test_scores_interop_and_target_specific_failures_count_the_cells(interop_run):
    _, code, _, matrix = interop_run
    assert code == 1  # localstripe's broken cells
    fixed_set = [row["id"] for row in matrix["rows"] if row["source"] != "the suite"]
    assert scored_rows(matrix) == fixed_set and len(fixed_set) == 28
    for target in matrix["targets"]:
        cells = states(matrix, target["name"])
        counted = {state: list(cells.values()).count(state)
                   for state in ("holds", "broken", "known", "not judged", "not covered")}
        score = target["score"]
        assert {state: score[state] for state in counted} == counted, target["name"]
        assert score["behaviours"] == 28 == sum(counted.values())
        assert score["score"] == int(counted["holds"] * 1000 / 28) / 10
        assert score["coverage"] == int((28 - counted["not covered"]) * 1000 / 28) / 10
    # the retry contract's rows: localstripe executes a repeated key again, the faithful fake replays it
    assert states(matrix, "localstripe")["idempotency.replay"] == "broken"
    assert states(matrix, "fake")["idempotency.replay"] == states(matrix, "fake")["idempotency.mismatch"] == "holds"
    # the interop row: exactly the behaviours every target holds
    every = [row for row in fixed_set if all(states(matrix, t)[row] == "holds" for t in TARGETS)]
    assert matrix["interop"]["rows"] == every and "invariant.error" in every
    assert matrix["interop"]["holds"] == len(every) and matrix["interop"]["score"] == int(len(every) * 1000 / 28) / 10
    # the failures one target alone has: broken there, failing nowhere else, holding somewhere
    specific = {(item["target"], item["row"]) for item in matrix["target_specific"]}
    expected = set()
    for row in fixed_set:
        row_states = {t: states(matrix, t)[row] for t in TARGETS}
        failing = [t for t, s in row_states.items() if s in ("broken", "known")]
        if len(failing) == 1 and row_states[failing[0]] == "broken" and "holds" in row_states.values():
            expected.add((failing[0], row))
    assert specific == expected
    assert ("has-more", "invariant.list") in specific  # localstripe is not judged on it, the others hold it
    the_fake = next(t for t in matrix["targets"] if t["name"] == "fake")
    assert the_fake["score"]["broken"] == 0 and the_fake["score"]["score"] > \
        next(t for t in matrix["targets"] if t["name"] == "localstripe")["score"]["score"]


def test_target_specific_failures_come_first(interop_run):
    out, _, output, _ = interop_run
    assert output.index("Target-specific failures") < output.index("localstripe (http://")
    assert "has-more · invariant.list — problems 1" in output
    markdown = (out / "matrix.md").read_text()
    assert "| target | score | holds | broken | known | not judged | not covered | coverage |" in markdown
    assert markdown.index("**Target-specific failures**") < markdown.index("#### localstripe")
    assert "| interop (every target) |" in markdown


def test_a_limitation_no_longer_matching_is_fixed_and_an_expired_one_expired(interop_run):
    out, _, output, matrix = interop_run
    limitations = {t["name"]: t["limitations"] for t in matrix["targets"]}
    [stale] = limitations["fake"]
    assert stale["state"] == "fixed" and stale["problems"] == []
    assert stale["strict"] == [f"{out / 'profile.yaml'}:19: invariant.list:has_more: fixed — no problem matches it and "
                               "the behaviour it names holds: remove the limitation"]
    one_type = limitations["stateless"][1]
    assert one_type["state"] == "in use" and one_type["expired"] and one_type["until"] == "2020-01-31"
    assert "expired on 2020-01-31 (https://example.com/fake/issues/2)" in one_type["strict"][0]
    assert [lim["strict"] for lim in limitations["stateless"] if lim is not one_type] == [[]] * 4
    assert "invariant.list:has_more: fixed" in output and "preset one-type: expired on 2020-01-31" in output
    # the stateless preset does not silence what keeping no state does not explain
    updates = [p for row in matrix["cells"].values() for p in row["stateless"].get("problems", [])
               if p["key"][:2] == ["problem", "parameters-not-applied"]]
    assert updates and all("an update answers the fixture (parameters-not-applied" in p["known"] for p in updates)


STRICT = any("--strict-profiles" in param.opts for param in main.commands["matrix"].params)


@pytest.mark.skipif(not STRICT, reason="conformance/cli/matrix.py has no --strict-profiles yet (its diff is pending)")
@pytest.mark.parametrize(("name", "deviation", "profile", "said"), [
    ("fake", "", 'fake:\n  - rule: "invariant.list:has_more"\n    reason: was a string\n'
                 "    issue: https://example.com/i/1\n", "invariant.list:has_more: fixed — no problem matches it"),
    ("has-more", " --deviation has-more-string", 'has-more:\n  - rule: "invariant.list:has_more"\n'
                 "    reason: a string\n    issue: https://example.com/i/1\n    until: 2020-01-31\n",
     "invariant.list:has_more: expired on 2020-01-31"),
])
def test_strict_profiles_fails_the_run_on_each(tmp_path, name, deviation, profile, said):
    (tmp_path / "p.yaml").write_text(profile)
    args = ["matrix", SUITE, "--target-cmd", f"{name}={FAKE}{deviation}", "--profile", tmp_path / "p.yaml"]
    code, output = cli(*args)
    assert code == 0, output  # nothing broken but what the profile expects: the note alone does not fail
    assert said in output
    code, output = cli(*args, "--strict-profiles")
    assert code == 1, output
    assert said in output


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    """Three releases of a fake (1.0 right, 1.1 answers deleted: false, 1.2 right again) beside a steady one."""
    out = tmp_path_factory.mktemp("history")
    for version, deviation in (("1.0", ""), ("1.1", " --deviation deleted-false"), ("1.2", "")):
        code, output = cli("matrix", SUITE / "cards-delete.yaml", "--target-cmd", f"mine={FAKE}{deviation}",
                           "--target-cmd", f"steady={FAKE}", "--json-report", out / f"mine-{version}.json")
        assert code == (1 if deviation else 0), output
    files = [out / f"mine-{v}.json" for v in ("1.0", "1.1", "1.2")]
    code, output = cli("matrix-history", *files, "--json-report", out / "history.json", "--markdown-report",
                       out / "history.md", "--html-report", out / "history.html")
    assert code == 0, output
    return out, output, json.loads((out / "history.json").read_text())


def test_the_history_says_when_a_behaviour_broke_and_when_it_was_fixed(history):
    out, output, data = history
    assert [run["label"] for run in data["runs"]] == ["mine-1.0", "mine-1.1", "mine-1.2"]
    mine, steady = data["targets"]
    scores = [s["score"] for s in mine["scores"]]
    assert scores[0] == scores[2] > scores[1] and len({s["score"] for s in steady["scores"]}) == 1
    deleted = next(b for b in data["behaviours"] if b["target"] == "mine" and b["row"] == "invariant.deleted")
    assert deleted["states"] == ["holds", "broken", "holds"]
    assert deleted["events"] == [{"run": "mine-1.1", "event": "broke"}, {"run": "mine-1.2", "event": "fixed"}]
    assert all(b["target"] == "mine" for b in data["behaviours"])
    assert "Behaviours that broke or were fixed" in output and "broke in" in output  # a terminal table, folded
    assert "broke in mine-1.1; fixed in mine-1.2" in (out / "history.md").read_text()


def test_the_history_page_in_a_real_chromium(history, tmp_path):
    need_chromium()
    from PIL import Image

    out = history[0]
    page = out / "history.html"
    html = page.read_text()
    assert "<link" not in html and "<script" not in html and "@import" not in html
    dom = chromium(tmp_path, "--dump-dom", f"file://{page}").stdout
    assert dom.count("<polyline") == 2 and "broke in mine-1.1; fixed in mine-1.2" in dom
    shot = tmp_path / "history.png"
    chromium(tmp_path, "--window-size=1100,900", f"--screenshot={shot}", f"file://{page}")
    image = Image.open(shot).convert("RGB")
    colours = dict((colour, count) for count, colour in image.getcolors(maxcolors=1 << 20))
    # the broken cell's vermillion and the holding cells' bluish green, each drawn
    assert colours.get((0xFB, 0xE3, 0xD4), 0) > 500 and colours.get((0xE1, 0xF3, 0xEC), 0) > 500
