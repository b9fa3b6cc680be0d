"""`conformance explore --reference`: the same generated sequences sent to a faithful reference and to the
candidate; the candidate's answers compared by run's comparison, the failing cassette recorded from the
reference, so `run` reproduces the difference on the candidate and passes on a faithful target."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main

pytestmark = pytest.mark.integration

FAKE = f"{sys.executable} -m tests.stripe_fake --port {{port}}"


def explore(tmp_path: Path, candidate: str, *extra: str) -> tuple[int, str, dict]:
    report = tmp_path / "explore.json"
    result = CliRunner().invoke(main, ["explore", "--target-cmd", candidate, "--reference-cmd", FAKE, "--seed", "1",
                                       "--out", str(tmp_path / "out"), "--json-report", str(report),
                                       "--budget", "60", *extra], env={"CONFORMANCE_CACHE": "0"})
    return result.exit_code, result.output, json.loads(report.read_text()) if report.exists() else {}


def test_a_candidate_that_differs_from_the_reference_is_found_and_recorded_from_the_reference(tmp_path):
    broken = FAKE + " --deviation update-ignores-name"  # an update's name is not kept
    code, output, data = explore(tmp_path, broken, "--max-examples", "500", "--max-failures", "1")
    assert code == 1, output
    (failure,) = data["failures"]
    assert failure["steps"] <= 8, output
    cassette = Path(failure["cassette"])
    header = next(yaml.safe_load_all(cassette.read_text()))
    assert header["meta"]["reference"] and "reference" in header["source"]
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target-cmd", broken])
    assert replayed.exit_code == 1, replayed.output
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target-cmd", FAKE])
    assert replayed.exit_code == 0, replayed.output


def test_a_candidate_alike_to_the_reference_differs_in_nothing(tmp_path):
    code, output, data = explore(tmp_path, FAKE, "--max-examples", "100")
    assert code == 0, output
    assert data["sequences"] >= 100 and data["failures"] == [] and data["reference"], output


def test_two_references_are_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["explore", "--target-cmd", FAKE, "--reference", "http://127.0.0.1:9",
                                       "--reference-cmd", FAKE])
    assert result.exit_code == 2 and "--reference" in result.output and "Traceback" not in result.output
