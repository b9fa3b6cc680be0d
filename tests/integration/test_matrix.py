"""`conformance matrix` with real targets: localstripe and two deliberately different test fakes in one matrix.

The matrix must say what three single runs say (a cell broken exactly where a run finds a problem), a profile
turns a stateless fake's expected breaks into known ones, `compare` of two matrices names one regression and one
fix, the HTML page renders in a real Chromium, and bad input is one line and exit 2.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

from conformance.report.matrix import CellState
from conformance.stripe import STRIPE

from .test_reports import chromium, cli, need_chromium

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SUITE = ROOT / "cassettes"
PYTHON = sys.executable
FAKE = f"{PYTHON} -m tests.stripe_fake --port {{port}}"
TARGETS = {
    "localstripe": f"{PYTHON} -m conformance.suite.localstripe_target --port {{port}}",
    # lists oldest first and deletes answer deleted: false
    "lists": f"{FAKE} --deviation oldest-first,deleted-false",
    # one fixture card for any id, nothing kept (as stripe-mock)
    "stateless": f"{FAKE} --deviation stateless",
}
PROFILE = """\
# the stateless fake's limitations, as its docstring states them
stateless:
  - preset: stateless
    reason: it keeps no state, as stripe-mock
  - preset: one-type
    reason: a delete answers a fixed account
  - rule: not-expanded
    reason: expand[]=customer is not applied to the fixture
  - rule: parameters-not-applied
    reason: an update's answer is the fixture, not the parameters it sets (a bug of the fake, not statelessness)
  - rule: request.invalid_expiry
    reason: the fixture accepts any expiry
"""


@pytest.fixture(scope="module")
def matrix_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("matrix")
    (out / "profile.yaml").write_text(PROFILE)
    args = ["matrix", SUITE, "--tokens", "localstripe=create", "--profile", out / "profile.yaml", "--workers", "3",
            "--json-report", out / "matrix.json", "--markdown-report", out / "matrix.md",
            "--html-report", out / "matrix.html", "--reports-dir", out / "targets"]
    for name, command in TARGETS.items():
        args += ["--target-cmd", f"{name}={command}"]
    code, output = cli(*args)
    singles = {}
    for name, command in TARGETS.items():
        tokens = ["--tokens", "create"] if name == "localstripe" else []
        single_code, single_output = cli("run", SUITE, "--target-cmd", command, *tokens, "--json-report",
                                         out / f"single-{name}.json")
        assert single_code == 1, single_output
        singles[name] = json.loads((out / f"single-{name}.json").read_text())
    return out, code, output, json.loads((out / "matrix.json").read_text()), singles


def cells_of(matrix, name):
    return {row_id: row[name] for row_id, row in matrix["cells"].items()}


def test_the_matrix_renders_in_four_formats(matrix_run):
    out, code, output, matrix, _ = matrix_run
    assert code == 1, output  # localstripe and the list fake break documented behaviours
    assert matrix["schema"] == "card-conformance/matrix/2"
    assert [t["name"] for t in matrix["targets"]] == list(TARGETS)
    cassettes = len(list(SUITE.glob("*.yaml")))
    assert f"Compatibility matrix: {cassettes} cassettes, 3 targets" in output and "✓ holds · ✗ broken" in output
    markdown = (out / "matrix.md").read_text()
    assert markdown.startswith(f"### Compatibility matrix: {cassettes} cassettes, 3 targets")
    assert "| behaviour | localstripe | lists | stateless |" in markdown
    html = (out / "matrix.html").read_text()
    assert "<link" not in html and not re.search(r"\bsrc=", html) and "@import" not in html
    assert html.count('data-state="broken"') > 5 and 'data-state="known"' in html
    # every target's own reports, linked from the problems
    for name in TARGETS:
        assert (out / "targets" / name / "report.html").is_file()
    assert 'href="targets/lists/report.html#i-cards-delete-' in html


def test_each_column_says_what_a_single_run_of_its_target_says(matrix_run):
    _, _, _, matrix, singles = matrix_run
    rows = {row["id"]: row for row in matrix["rows"]}
    for target in matrix["targets"]:
        name, single = target["name"], singles[target["name"]]
        cells = cells_of(matrix, name)
        assert target["interactions"] == {k: single["summary"][k] for k in ("passed", "failed", "warning", "blocked")}
        # the same problems, by identity
        single_causes = {tuple(c["key"]): c for c in single["root_causes"] if c["severity"] == "failure"}
        matrix_problems = {tuple(p["key"]) for cell in cells.values() for p in cell.get("problems", [])}
        assert matrix_problems == set(single_causes), name
        # a rule is broken exactly where the single run has a problem of that rule
        for row_id, cell in cells.items():
            if rows[row_id]["kind"] != "rule":
                continue
            broken = cell["state"] in (CellState.BROKEN, CellState.KNOWN)
            # … or where its own findings follow from another problem (a reused key accepted by a target that
            # executed the repeat again: told under that problem)
            followed = any(f["rule"] == row_id and f.get("consequence_of") is not None and not i.get("blocked_id")
                           for c in single["cassettes"] for i in c["interactions"] for f in i["findings"])
            own = any(c["rule"] == row_id for c in single_causes.values())
            assert broken == (own or followed), (name, row_id, cell)
            covered = any(row_id in i.get("covers", []) for c in single["cassettes"] for i in c["interactions"])
            assert (cell["state"] != CellState.NOT_COVERED) == covered, (name, row_id, cell)
        # a route is broken exactly where the single run has a failed interaction on it
        failed_routes = set()
        for cassette in single["cassettes"]:
            for interaction in cassette["interactions"]:
                if interaction["outcome"] == "failed":
                    found = STRIPE.routes.match(interaction["method"], interaction["path"].split("?")[0])
                    assert found is not None
                    failed_routes.add(found.route.template)
        broken_routes = {rows[row_id]["id"] for row_id, cell in cells.items() if rows[row_id]["kind"] == "route"
                         and cell["state"] in (CellState.BROKEN, CellState.KNOWN)}
        assert {re.sub(r"\{(\w+)\}", r":\1", t) for t in failed_routes} == {r.split(" ", 1)[1] for r in broken_routes}


def test_cells_name_the_problems_of_each_target(matrix_run):
    _, _, output, matrix, _ = matrix_run
    localstripe, lists, stateless = (cells_of(matrix, n) for n in TARGETS)
    route = "GET /v1/customers/:customer/cards"
    assert localstripe[route]["state"] == "broken"
    assert [p["rule"] for p in localstripe[route]["problems"]] == ["route.missing"]
    # the list rules cannot be judged where the route is missing: said, with the problem that stops them
    assert localstripe["invariant.list"]["state"] == "not judged"
    assert "problem" in localstripe["invariant.list"]["reasons"][0] and "route.missing" in localstripe["invariant.list"]["reasons"][0]
    assert lists["list.order"]["state"] == "broken" and lists["invariant.deleted"]["state"] == "broken"
    assert lists["invariant.card"]["state"] == lists["invariant.error"]["state"] == "holds"
    problem = lists["invariant.deleted"]["problems"][0]
    assert problem["interaction"]["endpoint"] == "cards.delete"
    assert problem["findings"][0] == {"rule": "invariant.deleted", "path": "deleted", "expected": "true", "actual": "false",
                                      "message": "deleted: expected true (a boolean), got false"}
    assert "list.order" in output and "oldest first" in output
    # a stateless target still gets its lists right: held, not hidden by its other limitations
    assert stateless["invariant.list"]["state"] == stateless["list.order"]["state"] == "holds"


def test_a_profile_turns_expected_breaks_into_known_ones(matrix_run):
    out, _, output, matrix, _ = matrix_run
    stateless = cells_of(matrix, "stateless")
    states = {cell["state"] for cell in stateless.values()}
    assert "broken" not in states and "known" in states
    assert stateless["invariant.deleted_card"]["state"] == "known"
    known = stateless["invariant.deleted_card"]["problems"][0]["known"]
    assert "it keeps no state, as stripe-mock" in known and f"{out / 'profile.yaml'}:3" in known
    target = next(t for t in matrix["targets"] if t["name"] == "stateless")
    assert target["known_problems"] == target["problems"] > 0
    assert [limitation["state"] for limitation in target["limitations"]] == ["in use"] * 5
    assert "≈" in output


def test_the_html_page_in_a_real_chromium(matrix_run, tmp_path):
    need_chromium()
    from PIL import Image

    out = matrix_run[0]
    dom = chromium(tmp_path, "--dump-dom", f"file://{out / 'matrix.html'}").stdout
    assert dom.count("<details>") > 10 and "position:sticky" in dom.replace(" ", "")
    shot = tmp_path / "matrix.png"
    chromium(tmp_path, "--window-size=1280,900", f"--screenshot={shot}", f"file://{out / 'matrix.html'}")
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert image.size == (1280, 900) and len(colours) > 20
    # the broken cells' vermillion and the holding cells' bluish green (Okabe-Ito), each a visible area
    def near(colour, target):
        return all(abs(a - b) <= 6 for a, b in zip(colour, target))

    broken = sum(count for count, colour in colours if near(colour, (0xFB, 0xE3, 0xD4)))
    holds = sum(count for count, colour in colours if near(colour, (0xE1, 0xF3, 0xEC)))
    assert broken > 2000 and holds > 2000, (broken, holds)


def test_compare_of_two_matrices_shows_a_regression_and_a_fix(tmp_path):
    old_suite = tmp_path / "old-suite"
    old_suite.mkdir()
    for cassette in SUITE.glob("*.yaml"):
        if cassette.name not in ("cards-list.yaml", "cards-retries.yaml"):  # the two that list a customer's cards
            (old_suite / cassette.name).write_bytes(cassette.read_bytes())
    code, output = cli("matrix", old_suite, "--target-cmd", f"mine={FAKE} --deviation deleted-false",
                       "--target-cmd", f"other={FAKE}", "--json-report", tmp_path / "old.json")
    assert code == 1, output
    code, output = cli("matrix", SUITE, "--target-cmd", f"mine={FAKE} --deviation oldest-first",
                       "--target-cmd", f"other={FAKE}", "--json-report", tmp_path / "new.json")
    assert code == 1, output
    code, output = cli("compare", tmp_path / "old.json", tmp_path / "new.json", "--json", tmp_path / "c.json",
                       "--markdown", tmp_path / "c.md")
    assert code == 1, output
    data = json.loads((tmp_path / "c.json").read_text())
    assert [(r["target"], r["what"].split("]")[0]) for r in data["regressions"]] == [("mine", "[list.order")]
    assert [(f["target"], f["what"].split("]")[0]) for f in data["fixes"]] == [("mine", "[invariant.deleted")]
    covered = {(c["target"], c["what"]) for c in data["newly_covered"]}
    assert {("other", "invariant.list"), ("other", "sources.list GET /v1/customers/:customer/sources")} <= covered
    assert "newly broken: mine · [list.order]" in output and "fixed: mine · [invariant.deleted]" in output
    assert "### Newly broken" in (tmp_path / "c.md").read_text()
    # the same matrix again: nothing changed, exit 0
    code, output = cli("compare", tmp_path / "new.json", tmp_path / "new.json")
    assert code == 0 and "0 newly broken, 0 fixed" in output
    # a matrix is compared with a matrix: anything else is one line, exit 2
    code, output = cli("compare", tmp_path / "new.json", tmp_path / "nothing.json")
    assert code == 2 and "cannot read matrix" in output and "nothing.json" in output
    code, output = cli("compare", tmp_path / "c.json", tmp_path / "new.json")
    assert code == 2 and "c.json: not a card-conformance matrix" in output


@pytest.mark.parametrize(("args", "profile", "message"), [
    (["--target-cmd", f"a={FAKE}", "--target-cmd", f"a={FAKE}"], None, "target name a given twice"),
    (["--target-cmd", f"a={FAKE}"], "b:\n  - preset: stateless\n    reason: x\n",
     "profile.yaml:1: the profile names target 'b', which is not one of the targets (a)"),
    (["--target-cmd", f"a={FAKE}"], "a:\n  - rule: no.such_rule\n    reason: x\n", "profile.yaml:2: unknown rule"),
    (["--target-cmd", f"a={FAKE}"], "a:\n  - rule: status\n", "profile.yaml:2: say why with `reason: …`"),
    (["--target-cmd", f"a={FAKE}"], "a: " + "[" * 20_000 + "]" * 20_000 + "\n", "profile.yaml: not a profile: nested"),
    (["--target-cmd", f"a={FAKE}", "--target-cmd", f"dead={PYTHON} -c 'import sys; sys.exit(3)' --port {{port}}"], None,
     "target dead: target command exited with code 3 before answering"),
    (["--target", "a=http://127.0.0.1:9"], None, "target a: "),
    ([], None, "give the targets: --target NAME=URL or --target-cmd NAME=CMD"),
    (["--target", "a b=http://127.0.0.1:9"], None, "target name 'a b'"),
    (["--target", "nourl"], None, "--target 'nourl': expected NAME=VALUE"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, profile, message):
    extra = []
    if profile is not None:
        (tmp_path / "profile.yaml").write_text(profile)
        extra = ["--profile", tmp_path / "profile.yaml"]
    code, output = cli("matrix", SUITE, *args, *extra)
    assert code == 2, output
    assert message in output and "Traceback" not in output
    said = [line for line in output.splitlines() if line and not line.startswith(("Usage:", "Try "))]
    assert len(said) == 1 and said[0].startswith("Error: "), output  # Click's usage hint aside


def test_the_readme_and_the_docs_show_what_the_command_makes(tmp_path):
    """The matrix shown (localstripe and the test fake) is the command's own Markdown: its table in the README and
    docs/matrix.md, its numbered problems in docs/matrix.md."""
    code, output = cli("matrix", SUITE, "--workers", "2", "--tokens", "localstripe=create",
                       "--target-cmd", f"localstripe={TARGETS['localstripe']}", "--target-cmd", f"test-fake={FAKE}",
                       "--markdown-report", tmp_path / "m.md")
    assert code == 1, output
    made = (tmp_path / "m.md").read_text()
    readme = (ROOT / "README.md").read_text()
    docs = (ROOT / "docs" / "matrix.md").read_text()

    def rows(text):  # the table's rows: what does not depend on ports
        return [line for line in text.splitlines() if line.startswith("| ") and ("✓" in line or "behaviour" in line
                                                                                  or "**" in line or "–" in line)]

    def problems(text):
        return [line for line in text.splitlines() if re.match(r"\d+\. [✗≈] ", line)]

    assert rows(made) and rows(made) == rows(docs)
    # the README shows the rules' rows and the scores, and points at docs/matrix.md for the routes' rows
    routes = rows(made).index(next(line for line in rows(made) if "endpoints × routes" in line))
    assert rows(readme)[:routes] == rows(made)[:routes] and "endpoints × routes" in rows(readme)[routes]
    assert [line for line in made.splitlines() if line.startswith("| ") and "%" in line] == [
        line for line in readme.splitlines() if line.startswith("| ") and "%" in line]
    assert problems(made) and problems(made) == problems(docs)
