"""The README's "Catch regressions" sequence, run exactly as shown: a known problem accepted by the baseline is told
as accepted — in the terminal, the JSON report, the comparison's JSON and its Markdown — never as fixed."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
README_TARGET = "http://127.0.0.1:8420"


def regression_commands() -> list[str]:
    """The README's three commands of the sequence (the runs writing known.json and new.json, and compare)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("**Catch regressions.**"):]
    block = re.search(r"^```sh\n(.*?)^```", section, re.M | re.S)
    assert block is not None
    lines = [line.strip() for line in block.group(1).splitlines()]
    commands = [line for line in lines if "known.json" in line or "new.json" in line]
    assert len(commands) == 3 and commands[2].startswith("conformance compare "), commands
    return commands


def run_as_shown(command: str, target: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command.replace(README_TARGET, target))
    assert argv[0] == "conformance"
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    return subprocess.run([sys.executable, "-m", "conformance", *argv[1:]], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env)


@pytest.fixture(scope="module")
def sequence(tmp_path_factory):
    """The three commands against a target with one known problem (a deleted card answered deleted: false)."""
    work = tmp_path_factory.mktemp("regressions")
    (work / "cassettes").symlink_to(ROOT / "cassettes")
    done = []
    with FakeStripe(deviation="deleted-false") as target:
        for command in regression_commands():
            done.append(run_as_shown(command, target, work))
    return work, done


def test_the_sequence_runs_as_the_readme_shows_it(sequence):
    _, (first, second, compared) = sequence
    assert first.returncode == 1, first.stdout + first.stderr  # the problem, before it is accepted
    assert second.returncode == 0, second.stdout + second.stderr  # accepted by the baseline
    assert compared.returncode == 0, compared.stdout + compared.stderr


def test_compare_tells_the_accepted_problem_as_accepted_never_fixed(sequence):
    work, (_, _, compared) = sequence
    out = compared.stdout
    assert "fixed root cause" not in out and "fixed:" not in out, out
    (accepted,) = [line for line in out.splitlines() if line.startswith("accepted: ")]
    assert "cards.delete [invariant.deleted]" in accepted and "5 interactions" in accepted and "not fixed" in accepted
    assert "0 regressions (0 new root causes), 0 fixed (0 root causes), 5 unchanged; 5 accepted by the run's " \
           "baseline (1 root cause), not fixed" in out
    markdown = next(work.glob("*.md")).read_text()  # the file the README names
    assert "Fixed root causes" not in markdown and "### Accepted root causes" in markdown
    assert "| cards.delete | invariant.deleted | `deleted` | 5 |" in markdown


def test_the_baseline_runs_json_report_keeps_the_accepted_problem_marked(sequence):
    work, _ = sequence
    known, new = (json.loads((work / name).read_text()) for name in ("known.json", "new.json"))
    assert [(c["rule"], c["count"], c["accepted"]) for c in known["root_causes"]] == [("invariant.deleted", 5, False)]
    assert [(c["rule"], c["count"], c["accepted"]) for c in new["root_causes"]] == [("invariant.deleted", 5, True)]
    assert new["summary"]["accepted"] == 5 and new["summary"]["failures"] == 0


def test_the_comparisons_json_names_it_accepted(sequence, tmp_path):
    work, _ = sequence
    done = subprocess.run([sys.executable, "-m", "conformance", "compare", "known.json", "new.json", "--json",
                           str(tmp_path / "c.json")], cwd=work, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads((tmp_path / "c.json").read_text())
    assert data["fixed_root_causes"] == [] and data["fixes"] == [] and data["regressions"] == []
    assert [(c["rule"], c["count"]) for c in data["accepted_root_causes"]] == [("invariant.deleted", 5)]
    assert len(data["accepted"]) == 5 and all(entry["accepted"] for entry in data["unchanged"])


def test_a_problem_the_baseline_accepted_that_is_gone_is_fixed(sequence, tmp_path):
    """Accepted is not forever: when the target stops showing it, the comparison says fixed."""
    work, _ = sequence
    with FakeStripe() as target:
        done = subprocess.run([sys.executable, "-m", "conformance", "run", "cassettes/", "--target", target,
                               "--baseline", "known.json", "--json-report", str(tmp_path / "later.json")], cwd=work,
                              capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    done = subprocess.run([sys.executable, "-m", "conformance", "compare", "new.json", str(tmp_path / "later.json")],
                          cwd=work, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "fixed root cause: cards.delete [invariant.deleted]" in done.stdout, done.stdout
    assert "0 regressions (0 new root causes), 5 fixed (1 root cause), 0 unchanged" in done.stdout
