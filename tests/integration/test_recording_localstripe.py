"""docs/recording.md's "Recording against localstripe" does what it says: the loopback launcher, the stripe SDK's
client object pointed with ``base_addresses``, a token made from a test card (the number kept as the marker that
names it), magic tokens refused with the 404 the recorder keeps, and the cassette replayed with ``--tokens create``
against a fresh localstripe. The page's own Python block is the application that runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.suite.localstripe_target import running

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SECTION = (ROOT / "docs" / "recording.md").read_text(encoding="utf-8").split("## Recording against localstripe", 1)[1]


def conformance(*args: object, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180)


def test_the_launcher_listens_on_loopback_only():
    with running() as url:
        port = int(url.rsplit(":", 1)[1])
        listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True, timeout=30)
    if listening.returncode != 0:
        pytest.skip("ss is not available")
    assert f"127.0.0.1:{port}" in listening.stdout and f"0.0.0.0:{port}" not in listening.stdout


def test_recording_against_localstripe_as_documented(tmp_path):
    app = re.search(r"```python\n(.*?)```", SECTION, re.S)
    assert app is not None and "base_addresses" in app.group(1)
    (tmp_path / "app.py").write_text(app.group(1))
    cassette = tmp_path / "cassettes" / "local.yaml"
    with running() as upstream:
        customer = httpx.post(f"{upstream}/v1/customers", auth=("sk_test_local", ""), timeout=10).json()
        refused = httpx.post(f"{upstream}/v1/customers/{customer['id']}/sources", data={"source": "tok_visa"},
                             auth=("sk_test_local", ""), timeout=10)
        assert refused.status_code == 404, refused.text  # the page's "no magic test tokens"
        recorded = conformance("record", "--upstream", upstream, "--cassette", cassette, "--", sys.executable,
                               "app.py", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    text = cassette.read_text()
    assert "4242424242424242" not in text and "[REDACTED:card-number:visa-4242]" in text
    assert "endpoint: sources.create" in text
    with running() as target:
        replayed = conformance("run", cassette, "--target", target, "--tokens", "create", cwd=tmp_path)
    assert replayed.returncode == 0 and "conforms" in replayed.stdout, replayed.stdout + replayed.stderr
