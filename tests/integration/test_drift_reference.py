"""A real re-recording of the reference suite from the project's test fake diffs clean against the suite: ids,
creation times and fingerprints all differ, and `conformance diff` says nothing of them, even at --fail-on
additive. Real processes: the fake, mitmdump with the recorder, the stripe SDK scenarios."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.cassette import load

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_the_reference_suite_recaptured_from_the_fake_diffs_clean(tmp_path):
    fresh = tmp_path / "fresh"
    captured = subprocess.run([sys.executable, "-m", "tests.stripe_fake", "--capture", fresh], capture_output=True,
                              text=True, timeout=180, cwd=ROOT)
    assert captured.returncode == 0, captured.stdout + captured.stderr
    old, new = load(ROOT / "cassettes" / "cards-list.yaml"), load(fresh / "cards-list.yaml")
    assert old.interactions[0].response.json()["id"] != new.interactions[0].response.json()["id"]  # fresh ids
    report = tmp_path / "drift.json"
    done = subprocess.run([sys.executable, "-m", "conformance", "diff", ROOT / "cassettes", fresh, "--fail-on",
                           "additive", "--json", report], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    data = json.loads(report.read_text())
    assert len(data["cassettes"]) == 7 and data["only_old"] == data["only_new"] == []
    assert all(c["changes"] == [] and c["volatile"] == [] and c["paired"] > 0 for c in data["cassettes"])
