"""The benchmarks keep working: each runs once at a tiny size (figures are not checked here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_run_at_a_tiny_size(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--requests", "5", "--rounds", "1", "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["results"]
    assert {row["case"] for row in rows} >= {"plain mitmdump", "mitmdump + recorder"}
    assert all(row["req_per_s"] > 0 for row in rows if isinstance(row.get("req_per_s"), (int, float)))
