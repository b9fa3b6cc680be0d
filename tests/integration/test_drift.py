"""Drift between re-recordings: the same stripe SDK session recorded twice through `conformance record`, against
two upstreams on 127.0.0.1 that differ by one added key, one type change and one changed value (and every id,
timestamp and fingerprint): `conformance diff` reports exactly those three, graded. Real processes throughout."""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from conformance.cassette import load

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

APP = """
import os, sys
import stripe
stripe.api_key = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
stripe.api_base = os.environ["STRIPE_API_BASE"]
stripe.max_network_retries = 0
customer = stripe.Customer.create(email="jenny.rosen@example.com", description="drift")
stripe.Customer.create_source(customer.id, source="tok_visa")
if "--no-retrieve" not in sys.argv:
    stripe.Customer.retrieve(customer.id)
stripe.Customer.delete(customer.id)
"""


class Upstream(ThreadingHTTPServer):
    """A Stripe-shaped upstream minting fresh ids, times and fingerprints; ``changed`` adds a key to cards,
    answers exp_year as text and funding as debit."""

    daemon_threads = True

    def __init__(self, changed: bool) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.changed = changed
        self.customers: dict[str, dict[str, Any]] = {}

    def card(self, customer: str) -> dict[str, Any]:
        card: dict[str, Any] = {"id": "card_" + secrets.token_hex(8), "object": "card", "brand": "Visa",
                                "customer": customer, "exp_month": 12, "exp_year": "2030" if self.changed else 2030,
                                "fingerprint": secrets.token_hex(8), "funding": "debit" if self.changed else "credit",
                                "last4": "4242", "metadata": {}}
        if self.changed:
            card["regulated_status"] = "unregulated"
        return card


class Handler(BaseHTTPRequestHandler):
    server: Upstream

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self, body: dict[str, Any], status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Stripe-Version", "2024-06-20")
        self.send_header("Request-Id", "req_" + secrets.token_hex(7))
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        return dict(parse_qsl(self.rfile.read(length).decode()))

    def do_POST(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        form = self._form()
        customers = self.server.customers
        if parts == ["v1", "customers"]:
            customer = {"id": "cus_" + secrets.token_hex(7), "object": "customer", "created": int(time.time()),
                        "default_source": None, "description": form.get("description"), "email": form.get("email"),
                        "livemode": False, "metadata": {}}
            customers[customer["id"]] = customer
            return self._answer(customer)
        if len(parts) == 4 and parts[3] == "sources" and parts[2] in customers:
            card = self.server.card(parts[2])
            customers[parts[2]]["default_source"] = card["id"]
            return self._answer(card)
        return self._answer({"error": {"type": "invalid_request_error", "message": "no route"}}, 404)

    def do_GET(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 3 and parts[2] in self.server.customers:
            return self._answer(self.server.customers[parts[2]])
        return self._answer({"error": {"type": "invalid_request_error", "message": "No such customer"}}, 404)

    def do_DELETE(self) -> None:
        parts = self.path.split("?")[0].strip("/").split("/")
        if len(parts) == 3 and self.server.customers.pop(parts[2], None) is not None:
            return self._answer({"id": parts[2], "object": "customer", "deleted": True})
        return self._answer({"error": {"type": "invalid_request_error", "message": "No such customer"}}, 404)


@pytest.fixture
def upstreams() -> Iterator[tuple[str, str]]:
    servers = [Upstream(changed=False), Upstream(changed=True)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    try:
        yield tuple(f"http://127.0.0.1:{s.server_address[1]}" for s in servers)  # type: ignore[misc]
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def conformance(*args: object, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)


def record(upstream: str, cassette: Path, app: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return conformance("record", "--upstream", upstream, "--cassette", cassette, *extra, "--", sys.executable, app)


def test_diff_of_two_recordings_reports_exactly_the_three_changes_graded(tmp_path, upstreams):
    app = tmp_path / "app.py"
    app.write_text(APP)
    before, after = upstreams
    old, new = tmp_path / "old" / "session.yaml", tmp_path / "new" / "session.yaml"
    for upstream, cassette in ((before, old), (after, new)):
        done = record(upstream, cassette, app)
        assert done.returncode == 0, done.stdout + done.stderr
    recorded = load(old).interactions
    assert [i.endpoint for i in recorded] == ["customers.create", "sources.create", "customers.retrieve",
                                              "customers.delete"]
    assert all(i.recorded_at is not None for i in recorded)  # the recorder dates every answer
    report, markdown = tmp_path / "drift.json", tmp_path / "drift.md"
    done = conformance("diff", old, new, "--json", report, "--markdown", markdown)
    assert done.returncode == 1, done.stdout + done.stderr  # a breaking change
    changes = json.loads(report.read_text())["cassettes"][0]["changes"]
    assert sorted((c["grade"], c["kind"], c["endpoint"], c["path"], c["old"], c["new"]) for c in changes) == [
        ("additive", "key added", "sources.create", "regulated_status", None, "unregulated"),
        ("behaviour", "value changed", "sources.create", "funding", "credit", "debit"),
        ("breaking", "type changed", "sources.create", "exp_year", 2030, "2030"),
    ]
    out = done.stdout
    for word in ("cus_", "card_", "fingerprint", "created", "recorded_at", "Request-Id", "volatile"):
        assert word not in out.split("\n", 1)[1], out  # past the first line (which names the files)
    assert '    sources.create  type changed  exp_year: integer -> string ("2030")  (1 interaction: #2)' in out
    assert "1 cassette compared: 1 breaking change, 1 behaviour change, 1 additive change" in out
    assert "| breaking | sources.create | type changed | `exp_year: integer -> string (\"2030\")` | #2 |" \
        in markdown.read_text()
    # a recording of the same upstream is clean, even failing on additive changes
    again = tmp_path / "again" / "session.yaml"
    assert record(before, again, app).returncode == 0
    same = conformance("diff", old, again, "--fail-on", "additive")
    assert same.returncode == 0 and ": 4 requests paired, no change" in same.stdout, same.stdout


def test_diff_of_recordings_with_no_request_in_common_is_one_line_exit_2(tmp_path):
    one, other = tmp_path / "one.yaml", tmp_path / "other.yaml"
    one.write_text((ROOT / "cassettes" / "cards-list.yaml").read_text())
    other.write_text("---\nversion: 1\n...\n---\ninteraction: 1\nendpoint: other\nrequest:\n  method: GET\n"
                     "  path: /v1/balance\nresponse:\n  status: 200\n  json: {object: balance}\n...\n")
    done = conformance("diff", one, other)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().count("\n") == 0 and "share no request" in done.stderr, done.stderr


def test_refresh_drops_what_the_application_no_longer_asks_and_shows_it_removed(tmp_path, upstreams):
    app = tmp_path / "app.py"
    app.write_text(APP)
    before, _ = upstreams
    cassette = tmp_path / "session.yaml"
    done = conformance("record", "--upstream", before, "--cassette", cassette, "--name", "checkout",
                       "--source", "the drift test's upstream", "--", sys.executable, app)
    assert done.returncode == 0, done.stdout + done.stderr
    text = cassette.read_text().replace("version: 1\n", "version: 1\nfixtures: [tok_visa]\n", 1)
    cassette.write_text(text)  # a header entry no recording learns: a refresh keeps it
    recorded = cassette.read_bytes()

    dry = conformance("record", "--upstream", before, "--cassette", cassette, "--refresh", "--dry-run", "--",
                      sys.executable, app, "--no-retrieve")
    assert dry.returncode == 0, dry.stdout + dry.stderr
    assert "request removed  customers.retrieve  #3 GET /v1/customers/cus_" in dry.stdout, dry.stdout
    assert f"Dry run: {cassette} left as it was" in dry.stdout
    assert cassette.read_bytes() == recorded and sorted(p.name for p in tmp_path.iterdir()) == ["app.py",
                                                                                              "session.yaml"]

    failing = conformance("record", "--upstream", before, "--cassette", cassette, "--refresh", "--",
                          sys.executable, "-c", "import sys; sys.exit(3)")
    assert failing.returncode == 3 and cassette.read_bytes() == recorded, failing.stdout

    done = conformance("record", "--upstream", before, "--cassette", cassette, "--refresh", "--",
                       sys.executable, app, "--no-retrieve")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "request removed  customers.retrieve  #3 GET /v1/customers/cus_" in done.stdout
    assert "0 breaking changes, 0 behaviour changes, 0 additive changes; 1 request removed, 0 added" in done.stdout
    assert f"Refreshed {cassette}: 3 interactions (was 4)" in done.stdout
    refreshed = load(cassette)
    assert [i.endpoint for i in refreshed.interactions] == ["customers.create", "sources.create", "customers.delete"]
    assert refreshed.name == "checkout" and refreshed.meta["fixtures"] == ["tok_visa"]
    assert refreshed.meta["source"] == "the drift test's upstream"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py", "session.yaml"]  # nothing left behind


def test_refresh_refuses_what_it_cannot_do_in_one_line(tmp_path, upstreams):
    before, _ = upstreams
    missing = conformance("record", "--upstream", before, "--cassette", tmp_path / "none.yaml", "--refresh", "--",
                          sys.executable, "-c", "pass")
    assert missing.returncode == 2 and "holds no recording to refresh" in missing.stderr
    lonely = conformance("record", "--upstream", before, "--cassette", tmp_path / "none.yaml", "--dry-run")
    assert lonely.returncode == 2 and "--dry-run goes with --refresh" in lonely.stderr
    both = conformance("record", "--upstream", before, "--cassette", tmp_path / "none.yaml", "--refresh",
                       "--overwrite")
    assert both.returncode == 2 and "without --overwrite" in both.stderr
    assert not (tmp_path / "none.yaml").exists()
