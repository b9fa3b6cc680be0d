"""The benchmarks keep working: each runs once at a tiny size (figures are not checked here)."""

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_run_at_a_tiny_size(tmp_path):
    # the contract benchmark on the tests' card description, not a generated spec of Stripe's size (3 MB, most of
    # this test's time); tests/unit/test_contract.py reads that one
    spec = tmp_path / "cards-openapi.json"
    spec.write_text(json.dumps(yaml.safe_load((ROOT / "tests" / "schemas" / "cards-openapi.yaml").read_text()),
                               default=str))
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run.py"), "--requests", "5", "--rounds", "1", "--openapi", str(spec),
         "--json", str(out)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(out.read_text())["results"]
    assert {row["case"] for row in rows} >= {"plain mitmdump", "mitmdump + recorder"}
    assert {row["benchmark"] for row in rows} >= {"record", "replay", "parse", "serve", "scale", "workers", "matrix",
                                                  "contract", "any"}  # every benchmark ran
    assert all(row["req_per_s"] > 0 for row in rows if isinstance(row.get("req_per_s"), (int, float)))
