"""A hostile target against `run` and `matrix` as real processes: answers too large to hold (endless, announced,
compression bombs of every coding httpx decodes, stacked), ids no URL or report can carry. Each is a finding of its
exchange; the run goes on, writes its reports, and its memory stays bounded."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response

from ..fault_target import OVERSIZE, FaultTarget, MintingTarget

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "cassettes" / "cards-retrieve.yaml"
MB = 1 << 20


# The process's own high-water mark (VmHWM of its memory after exec: not what the test process held when it forked,
# which rusage would report), written when it exits.
_MEASURED = """
import atexit, runpy, sys
peak_file = sys.argv.pop(1)

def peak():
    with open("/proc/self/status") as status, open(peak_file, "w") as out:
        out.write(next(line.split()[1] for line in status if line.startswith("VmHWM:")))

atexit.register(peak)
sys.argv[0] = "conformance"
runpy.run_module("conformance", run_name="__main__")
"""


def conformance(*args: object, timeout: float = 120) -> tuple[int, str, int]:
    """``conformance ARGS`` as a process: its exit code, output, and peak resident memory in bytes."""
    with tempfile.NamedTemporaryFile("r") as peak:
        process = subprocess.run([sys.executable, "-c", _MEASURED, peak.name, *map(str, args)], capture_output=True,
                                 text=True, timeout=timeout, env={**os.environ, "CONFORMANCE_CACHE": "0"})
        measured = peak.read().strip()
    return process.returncode, process.stdout + process.stderr, int(measured or 0) * 1024


def findings(report: Path) -> list[list[tuple[str, str]]]:
    data: dict[str, Any] = json.loads(report.read_text())
    return [[(f["rule"], f["message"]) for f in interaction["findings"]]
            for cassette in data["cassettes"] for interaction in cassette["interactions"]]


@pytest.mark.parametrize("fault", OVERSIZE)
def test_an_answer_too_large_is_a_finding_and_the_run_goes_on(tmp_path: Path, fault: str) -> None:
    with FaultTarget(fault) as url:
        code, output, peak = conformance("run", CASSETTE, "--target", url, "--timeout", "60",
                                         "--json-report", tmp_path / "r.json", "--junit-xml", tmp_path / "j.xml")
    assert code == 1, output
    assert "Traceback" not in output and (tmp_path / "j.xml").exists()
    every = findings(tmp_path / "r.json")
    assert len(every) == 6  # every interaction was sent and judged: one answer too large stops nothing
    for interaction in every:
        (rule, message), *_ = interaction
        assert rule == "target.protocol" and "larger than --max-body 10 MB" in message, interaction
    assert 0 < peak < 120 * MB, f"{peak / MB:.0f} MB"  # a run alone holds ~50 MB; the bomb decodes to 200 MB


def test_max_body_sets_the_cap_and_reads_sizes(tmp_path: Path) -> None:
    with FaultTarget("deep-json") as url:  # a valid answer of 200 KB
        code, output, _ = conformance("run", CASSETTE, "--target", url, "--max-body", "100KB",
                                      "--json-report", tmp_path / "small.json")
        assert code == 1, output
        (rule, message), *_ = findings(tmp_path / "small.json")[0]
        assert rule == "target.protocol" and message == (
            "the exchange broke off: the answer's body is larger than --max-body 100 KB: its Content-Length says "
            "200 KB; it was not read")
        code, output, _ = conformance("run", CASSETTE, "--target", url, "--max-body", "1MiB",
                                      "--json-report", tmp_path / "large.json")
        assert "larger than --max-body" not in json.dumps(findings(tmp_path / "large.json"))
    code, output, _ = conformance("run", CASSETTE, "--target", url, "--max-body", "ten")
    assert code == 2 and "'ten' is no size" in output and "Traceback" not in output


def test_matrix_takes_the_cap_and_reports_each_target(tmp_path: Path) -> None:
    with FaultTarget("gzip-bomb") as bombing, FaultTarget("http-500") as failing:
        code, output, peak = conformance("matrix", CASSETTE, "--target", f"bomb={bombing}",
                                         "--target", f"plain={failing}", "--max-body", "5MB",
                                         "--json-report", tmp_path / "m.json", "--reports-dir", tmp_path / "each")
    assert code == 1, output
    assert json.loads((tmp_path / "m.json").read_text())["targets"]
    messages = [m for i in findings(tmp_path / "each" / "bomb" / "report.json") for _, m in i]
    assert any("larger than --max-body 5 MB" in m for m in messages)
    assert 0 < peak < 120 * MB, f"{peak / MB:.0f} MB"  # a run alone holds ~50 MB; the bomb decodes to 200 MB


def _minting(tmp_path: Path) -> Path:
    """A customer created, then fetched by the id the answer minted."""
    path = tmp_path / "mint.yaml"
    auth = {"Authorization": "Bearer [REDACTED:sk_test]"}
    json_type = {"Content-Type": "application/json"}
    with CassetteWriter(path, "mint") as writer:
        writer.append(Interaction(
            Request("POST", "/v1/customers", headers={**auth, "Content-Type": "application/x-www-form-urlencoded"},
                    body=Body("form", {"email": "a@example.com"})),
            Response(200, json_type, Body("json", {"id": "cus_Recorded0001", "object": "customer"}))))
        for _ in range(2):
            writer.append(Interaction(
                Request("GET", "/v1/customers/cus_Recorded0001", headers=auth),
                Response(200, json_type, Body("json", {"id": "cus_Recorded0001", "object": "customer"}))))
    return path


HOSTILE_IDS = {
    "a lone high surrogate": rb'"cus_\ud800"',
    "a lone low surrogate": rb'"cus_Ab\udfffcd"',
    "a surrogate alone": rb'"\ud800"',
    "a surrogate pair": rb'"cus_\ud83d\ude00"',
    # far beyond any id (Stripe's are at most 255 characters) and any URL a server takes; 1 MB costs a fifth of the
    # 5 MB the adversarial pass used, on the same paths (the id is never bound, the reports quote it cut)
    "1 MB": b'"cus_' + b"A" * 1_000_000 + b'"',
    "256 characters": b'"cus_' + b"B" * 252 + b'"',
    "a NUL": rb'"cus_\u0000x"',
    "CR LF": rb'"cus_1\r\nX-Injected: 1"',
    "a slash": rb'"cus_1/../../v1/charges"',
    "non-ASCII": '"cus_\u00e9t\u00e9"'.encode(),
    "a number": b"12345678901234567890",
    "an object": b'{"id": "cus_1"}',
    "null": b"null",
    "empty": b'""',
}


@pytest.mark.parametrize("name", HOSTILE_IDS)
def test_a_hostile_id_is_a_finding_and_every_report_is_written(tmp_path: Path, name: str) -> None:
    reports = {"--json-report": "r.json", "--junit-xml": "j.xml", "--html-report": "r.html", "--markdown-report": "r.md"}
    with MintingTarget(HOSTILE_IDS[name]) as url:
        code, output, _ = conformance("run", _minting(tmp_path), "--target", url,
                                      *[str(a) for option, file in reports.items() for a in (option, tmp_path / file)])
    assert code == 1 and "Traceback" not in output, output[-3000:]
    for file in reports.values():
        (tmp_path / file).read_text(encoding="utf-8")  # written, and UTF-8 every reader can take
    results = findings(tmp_path / "r.json")
    assert len(results) == 3 and results[0], results  # the create's id is its finding; every request was judged


def test_matrix_survives_a_hostile_id(tmp_path: Path) -> None:
    with MintingTarget(rb'"cus_\ud800"') as lone, MintingTarget(HOSTILE_IDS["1 MB"]) as huge:
        code, output, _ = conformance("matrix", _minting(tmp_path), "--target", f"lone={lone}",
                                      "--target", f"huge={huge}", "--json-report", tmp_path / "m.json",
                                      "--html-report", tmp_path / "m.html", "--reports-dir", tmp_path / "each")
    assert code == 1 and "Traceback" not in output, output[-3000:]
    json.loads((tmp_path / "m.json").read_text(encoding="utf-8"))
    assert {p.name for p in (tmp_path / "each").iterdir()} == {"lone", "huge"}
