"""Recordings of other tools, written by those tools themselves, imported and replayed clean; no planted secret survives."""

from __future__ import annotations

import base64
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
import vcr
from click.testing import CliRunner

from conformance.cli import main
from conformance.net import free_port
from conformance.processes import wait_until_listening

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
KEY = "sk_test_" + "PlantedInTheSource" * 2
CARD = "4242424242424242"


def traffic(base_url: str, client: httpx.Client | None = None) -> None:
    """A card's life, as an application would drive it; the card number rides in a token request."""
    with client or httpx.Client(base_url=base_url, timeout=30, headers={"Authorization": f"Bearer {KEY}"}) as http:
        token = http.post("/v1/tokens", data={"card[number]": CARD, "card[cvc]": "739", "card[exp_month]": "8",
                                              "card[exp_year]": "2031"}).json()
        customer = http.post("/v1/customers", data={"email": "jenny.rosen@example.com"}).json()
        card = http.post(f"/v1/customers/{customer['id']}/sources", data={"source": token["id"]}).json()
        http.post(f"/v1/customers/{customer['id']}/sources/{card['id']}", data={"name": "Jenny Rosen"})
        http.get(f"/v1/customers/{customer['id']}/cards/{card['id']}")
        http.get(f"/v1/customers/{customer['id']}/cards", params={"limit": 3})
        http.delete(f"/v1/customers/{customer['id']}/sources/{card['id']}")
        http.get("/healthz")  # not /v1/: left out


def through_mitmdump(upstream: str, tmp_path: Path, *options: str) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from mitmproxy.tools.main import mitmdump; mitmdump()", "--listen-host", "127.0.0.1",
         "--listen-port", str(port), "--mode", f"reverse:{upstream}", "--set", f"confdir={tmp_path / 'mitm'}",
         "--set", "flow_detail=0", *options],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until_listening(process, "127.0.0.1", port, 30) is None
        traffic(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()  # mitmdump writes the HAR when it shuts down
        process.wait(30)


def with_vcrpy(upstream: str, tmp_path: Path) -> Path:
    path = tmp_path / "vcrpy.yaml"
    with vcr.use_cassette(str(path), record_mode="all"):
        traffic(upstream)
    return path


def with_vcrpy_json(upstream: str, tmp_path: Path) -> Path:
    """VCR.py's JSON serializer (pytest-recording's --record-mode with serializer json)."""
    path = tmp_path / "vcrpy-json.json"
    with vcr.VCR(serializer="json").use_cassette(str(path), record_mode="all"):
        traffic(upstream)
    return path


def with_vcrpy_gzip(upstream: str, tmp_path: Path) -> Path:
    """Answers kept gzip-compressed in the cassette (VCR.py's default), as binary YAML."""
    path = tmp_path / "vcrpy-gzip.yaml"

    def gzip_answers(response: dict) -> dict:
        import gzip

        response["body"]["string"] = gzip.compress(response["body"]["string"])
        response["headers"]["Content-Encoding"] = ["gzip"]
        return response

    with vcr.VCR(before_record_response=gzip_answers).use_cassette(str(path), record_mode="all"):
        traffic(upstream)
    return path


def with_hardump(upstream: str, tmp_path: Path) -> Path:
    path = tmp_path / "mitm.har"
    through_mitmdump(upstream, tmp_path, "--set", f"hardump={path}")
    return path


def with_flows(upstream: str, tmp_path: Path) -> Path:
    path = tmp_path / "flows.mitm"
    through_mitmdump(upstream, tmp_path, "-w", str(path))
    return path


@pytest.mark.parametrize("write", [with_vcrpy, with_vcrpy_json, with_vcrpy_gzip, with_hardump, with_flows],
                         ids=["vcrpy-yaml", "vcrpy-json", "vcrpy-gzip", "har-hardump", "mitmdump-w"])
def test_a_recording_of_another_tool_imports_and_replays_clean(tmp_path, write: Callable[[str, Path], Path]):
    with FakeStripe() as upstream:
        source = write(upstream, tmp_path)
    raw = source.read_bytes()
    assert KEY.encode() in raw or base64.b64encode(KEY.encode())[:20] in raw or b"PlantedInTheSource" in raw

    # given to run as it is, it is refused with the format and the command that converts it
    refused = CliRunner().invoke(main, ["run", str(source), "--target", "http://127.0.0.1:9"])
    assert refused.exit_code == 2 and "conformance import" in refused.output, refused.output

    out = tmp_path / "cassettes"
    imported = CliRunner().invoke(main, ["import", str(source), "--out", str(out)])
    assert imported.exit_code == 0, imported.output
    assert "7 interactions into" in imported.output and "1 left out" in imported.output
    cassette = out / f"{source.stem}.yaml"
    text = cassette.read_text()
    assert "PlantedInTheSource" not in text and CARD not in text and "739" not in text.split("card[cvc]")[-1][:20]
    assert "[REDACTED:card-number:visa-4242]" in text and "[REDACTED:sk_test]" in text

    checked = CliRunner().invoke(main, ["check", str(cassette)])
    assert checked.exit_code == 0, checked.output
    with FakeStripe() as target:  # a fresh target: every id is bound anew
        replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", target])
    assert replayed.exit_code == 0, replayed.output
    assert "7 passed, 0 failed" in replayed.output


def test_import_refuses_what_it_cannot_read_and_keeps_existing_cassettes(tmp_path):
    other = tmp_path / "notes.json"
    other.write_text('{"hello": "world"}')
    result = CliRunner().invoke(main, ["import", str(other), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2 and "not a recording this tool imports" in result.output
    with FakeStripe() as upstream:
        source = with_vcrpy(upstream, tmp_path)
    out = tmp_path / "out"
    assert CliRunner().invoke(main, ["import", str(source), "--out", str(out)]).exit_code == 0
    before = (out / "vcrpy.yaml").read_bytes()
    again = CliRunner().invoke(main, ["import", str(source), "--out", str(out)])
    assert again.exit_code == 2 and "exists; pass --overwrite" in again.output
    assert (out / "vcrpy.yaml").read_bytes() == before


def test_two_recordings_of_one_name_become_two_cassettes(tmp_path):
    """flows.har and flows.mitm of the same traffic: each its own cassette, never one appended to the other."""
    with FakeStripe() as upstream:
        har = with_hardump(upstream, tmp_path)
        flows = with_flows(upstream, tmp_path)
    same = [har.rename(tmp_path / "traffic.har"), flows.rename(tmp_path / "traffic.mitm")]
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["import", *map(str, same), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["traffic-har.yaml", "traffic-mitm.yaml"]
    from conformance.cassette import load

    assert [len(load(path).interactions) for path in sorted(out.iterdir())] == [7, 7]
    again = CliRunner().invoke(main, ["import", *map(str, same), "--out", str(out)])
    assert again.exit_code == 2 and "traffic-har.yaml exists; pass --overwrite" in again.output
    assert "--append" not in again.output
