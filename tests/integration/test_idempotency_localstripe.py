"""Issue 39 on a real public fake: localstripe (no idempotency at all, keeps a metadata key sent empty, re-attaches
a used token) through ``run --tokens create --probe idempotency``. What the probe does to it is the probe's finding
or follows from one, never a finding of a later interaction: the probe's own metadata key never differs later, the
card a repeated attach listed twice is said once, and the probe adds no cause but the retry rules' to a plain run."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ("cards-retries.yaml", "cards-update.yaml")


def _run(paths: Path, target: str, report: Path, *extra: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "conformance", "run", str(paths), "--target", target,
                           "--tokens", "create", "--json-report", str(report), *extra],
                          capture_output=True, text=True, timeout=180, check=False)
    assert report.exists(), done.stdout + done.stderr
    assert done.returncode == 1, done.stdout + done.stderr
    return json.loads(report.read_text())


def _findings(data: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(Path(c["path"]).stem, i, f) for c in data["cassettes"] for i in c["interactions"] for f in i["findings"]]


@pytest.fixture(scope="module")
def runs(localstripe_url: str, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    """The plain run and the probed one of the same cassettes."""
    folder = tmp_path_factory.mktemp("localstripe-cassettes")
    for name in CASSETTES:
        shutil.copy(ROOT / "cassettes" / name, folder / name)
    plain = _run(folder, localstripe_url, folder.parent / "plain.json")
    probed = _run(folder, localstripe_url, folder.parent / "probed.json", "--probe", "idempotency")
    return plain, probed


def test_the_probes_leftover_is_said_once_per_cassette_on_the_probed_update(runs):
    _, probed = runs
    left = [(name, i, f) for name, i, f in _findings(probed) if "conformance_probe" in f["path"]]
    assert [(name, i["endpoint"]) for name, i, _ in left] == [("cards-retries", "cards.update"),
                                                              ("cards-update", "cards.update")]
    assert all("the target does not unset a metadata key sent empty" in f["message"] for _, _, f in left)
    # localstripe's recorded retry of the update is answered as the first answer, but for the probe's key
    assert not any("answered another body" in f["message"] for _, _, f in _findings(probed))


def test_a_repeated_attach_listing_the_card_twice_is_the_probes_replay_finding(runs):
    _, probed = runs
    twice = [(name, i["index"], f) for name, i, f in _findings(probed)
             if f["rule"] == "idempotency.replay" and " twice: executed again" in f["message"]]
    assert ("cards-retries", 3) in [(name, index) for name, index, _ in twice]
    assert all(f.get("consequence_of") is None for _, _, f in twice)


def test_the_probe_adds_no_cause_but_the_retry_rules(runs):
    plain, probed = runs
    rules = {c["rule"] for c in plain["root_causes"]}
    added = {c["rule"] for c in probed["root_causes"]} - rules
    assert added <= {"idempotency.replay", "idempotency.mismatch"}
    assert not [c for c in probed["root_causes"] if c["paths"] == ["metadata.conformance_probe"]]
