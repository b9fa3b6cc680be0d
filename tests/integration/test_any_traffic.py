"""Traffic beyond the card endpoints: the official SDK's session against a generic stateful server — a coupon whose
id has no known prefix, a payment intent whose client secret embeds its id, a multipart file upload whose id is
of a kind the id table does not know and sits in its url, a list, a delete — recorded, replayed against a fresh
instance with no finding, and served offline twice with the same client output."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ..client_lines import client_json
from ..generic_fake import GenericFake

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SESSION = '''
import json, os, stripe, sys

stripe.api_key = "sk_test_anytraffic"
stripe.api_base = stripe.upload_api_base = os.environ["STRIPE_API_BASE"]
stripe.max_network_retries = 0
coupon = stripe.Coupon.create(percent_off=25, duration="once")
again = stripe.Coupon.retrieve(coupon.id)
listed = stripe.Coupon.list(limit=3)
intent = stripe.PaymentIntent.create(amount=1099, currency="usd")
fetched = stripe.PaymentIntent.retrieve(intent.id)
with open("receipt.png", "rb") as handle:
    uploaded = stripe.File.create(purpose="dispute_evidence", file=handle)
stored = stripe.File.retrieve(uploaded.id)
deleted = stripe.Coupon.delete(coupon.id)
sys.stdout.write(json.dumps({
    "coupon": [coupon.id, again.id == coupon.id, again.percent_off, [c.id for c in listed.data]],
    "intent": [intent.id, intent.client_secret, fetched.client_secret == intent.client_secret],
    "file": [uploaded.id, stored.url, stored.size, stored.filename],
    "deleted": [deleted.id, deleted.deleted],
}) + "\\n")
'''


def conformance(*args, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def client_output(done: subprocess.CompletedProcess[str]) -> dict:
    return client_json(done.stdout, '{"coupon"')


def test_any_traffic_records_replays_clean_and_serves_alike_twice(tmp_path):
    (tmp_path / "session.py").write_text(SESSION)
    (tmp_path / "receipt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)
    cassette = tmp_path / "cassettes" / "session.yaml"
    with GenericFake() as server:
        recorded = conformance("record", "--upstream", server, "--cassette", cassette, "--",
                               sys.executable, "session.py", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    direct = client_output(recorded)
    assert direct["coupon"][0].startswith("_") and direct["file"][0] in direct["file"][1]
    assert direct["intent"][1].startswith(direct["intent"][0] + "_secret_")
    upload = next(doc for doc in yaml.safe_load_all(cassette.read_text()) if doc and "request" in doc
                  and doc["request"]["path"] == "/v1/files")
    parts = {part["name"]: part for part in upload["request"]["multipart"]["parts"]}  # readable, the file a digest
    assert parts["purpose"]["text"] == "dispute_evidence" and parts["file"]["filename"] == "receipt.png"
    assert parts["file"]["size"] == 8 + 256 * 4 and "text" not in parts["file"] and "base64" not in parts["file"]
    checked = conformance("check", cassette, cwd=tmp_path)
    assert checked.returncode == 0, checked.stdout

    with GenericFake() as fresh:  # every id minted anew
        replayed = conformance("run", cassette, "--target", fresh, "--json-report", tmp_path / "run.json",
                               cwd=tmp_path)
    report = json.loads((tmp_path / "run.json").read_text())
    findings = [f for c in report["cassettes"] for i in c["interactions"] for f in i["findings"]]
    assert replayed.returncode == 0 and findings == [], replayed.stdout + json.dumps(findings, indent=1)[:3000]
    assert report["summary"]["interactions"] == 8 and report["summary"]["passed"] == 8

    outputs = []
    for _ in range(2):  # offline, twice: the multipart upload matches whatever boundary the SDK draws
        served = conformance("serve", cassette, "--", sys.executable, "session.py", cwd=tmp_path)
        assert served.returncode == 0 and "0 misses" in served.stdout, served.stdout + served.stderr
        outputs.append(client_output(served))
    assert outputs[0] == outputs[1]
    # the client secret is a secret: the cassette holds it redacted, so that is what serving answers
    assert outputs[0]["intent"][1] == "[REDACTED:client_secret]"
    outputs[0]["intent"][1] = direct["intent"][1]
    assert outputs[0] == direct


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_a_failed_upload_is_reproduced_by_curl_with_its_parts(tmp_path):
    """The reproduce line of a multipart upload is curl's own form (-F, --form-string), not a body whose bytes the
    cassette never kept: run as printed next to a file of the recorded name, it uploads again."""
    (tmp_path / "session.py").write_text(SESSION)
    (tmp_path / "receipt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)))
    cassette = tmp_path / "session.yaml"
    with GenericFake() as server:
        recorded = conformance("record", "--upstream", server, "--cassette", cassette, "--",
                               sys.executable, "session.py", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    # the recording said another purpose: the replay's upload deviates, and prints how to reproduce it
    cassette.write_text(cassette.read_text().replace("purpose: dispute_evidence", "purpose: identity_document", 1))
    with GenericFake() as fresh:
        replayed = conformance("run", cassette, "--target", fresh, "--json-report", tmp_path / "run.json",
                               cwd=tmp_path)
        assert replayed.returncode == 1, replayed.stdout
        report = json.loads((tmp_path / "run.json").read_text())
        (curl,) = [i["curl"] for c in report["cassettes"] for i in c["interactions"] if i.get("curl")]
        assert "-F 'file=@receipt.png;type=" in curl and "--form-string purpose=dispute_evidence" in curl, curl
        assert "Content-Type: multipart" not in curl and "card-conformance-boundary" not in curl
        done = subprocess.run(["sh", "-c", curl + " --silent --max-time 20"], cwd=tmp_path, capture_output=True,
                              text=True, timeout=60, env={**os.environ, "STRIPE_API_KEY": "sk_test_anytraffic"})
    answer = json.loads(done.stdout)
    assert answer["object"] == "file" and answer["purpose"] == "dispute_evidence" and answer["size"] == 8 + 256
