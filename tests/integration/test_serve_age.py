"""``conformance serve`` says how old the answers it served were: the session summary names the oldest one served,
``--max-age`` warns of each cassette holding older (or undated) answers — a real mitmdump, a real httpx client."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

NOW = datetime.now(UTC).replace(microsecond=0)
OLD = NOW - timedelta(days=67, hours=1)  # the older of the two: the summary names it
OLDER_UNSERVED = NOW - timedelta(days=400)  # recorded, never asked for: not what the session was told
RECENT = NOW - timedelta(days=3)

# Asks for the customer and the card, never for the list of sources: what a session serves is what it asked.
CLIENT = """
import os, httpx
base = os.environ["STRIPE_API_BASE"]
for path in ("/v1/customers/cus_1", "/v1/customers/cus_1/sources/card_1"):
    answer = httpx.get(base + path, headers={"Authorization": "Bearer sk_test_" + "a" * 24}, timeout=10)
    print(path, answer.status_code, answer.json()["id"])
"""


def _interaction(number: int, path: str, answer_id: str, when: datetime | None) -> str:
    recorded = f'recorded_at: "{when:%Y-%m-%dT%H:%M:%SZ}"\n' if when is not None else ""
    return (f"---\ninteraction: {number}\n{recorded}request:\n  method: GET\n  path: {path}\n"
            f"response:\n  status: 200\n  headers:\n    Content-Type: application/json\n"
            f"  json:\n    id: {answer_id}\n...\n")


def cassette(folder: Path, name: str, dated: bool) -> Path:
    """Three GETs: the customer (recorded 67 days ago), its card (3 days ago), its sources (400 days ago,
    never asked for by CLIENT); without dates when not ``dated``."""
    times = (OLD, RECENT, OLDER_UNSERVED) if dated else (None, None, None)
    body = (f"# card-conformance cassette\n---\nversion: 1\nname: {name}\n...\n"
            + _interaction(1, "/v1/customers/cus_1", "cus_1", times[0])
            + _interaction(2, "/v1/customers/cus_1/sources/card_1", "card_1", times[1])
            + _interaction(3, "/v1/customers/cus_1/sources", "list", times[2]))
    path = folder / f"{name}.yaml"
    path.write_text(body, encoding="utf-8")
    return path


def line_of(path: Path, text: str) -> int:
    """The line (from 1) holding ``text``: an interaction's first key, where the reader says it is."""
    return path.read_text(encoding="utf-8").splitlines().index(text) + 1


def serve(path: Path, *options: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "conformance", "serve", path.name, *options, "--",
                           sys.executable, "-c", CLIENT], cwd=path.parent, capture_output=True, text=True, timeout=60)
    assert "/v1/customers/cus_1 200 cus_1" in done.stdout, done.stdout + done.stderr  # the client was served
    return done


def summary(done: subprocess.CompletedProcess[str]) -> str:
    [line] = [line for line in done.stdout.splitlines() if line.startswith("Session: ")]
    return line


def test_the_summary_names_the_oldest_answer_served_not_the_oldest_recorded(tmp_path):
    path = cassette(tmp_path, "dated", dated=True)
    done = serve(path, "--allow-misses")
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(done) == (
        "Session: 2 requests answered, 0 misses, 1 recorded interaction never asked for; the oldest answer served "
        f"was recorded {OLD:%Y-%m-%d} (67 days ago: {path.name} #1 customers.retrieve)")
    assert "warning" not in done.stdout + done.stderr  # no --max-age: the age is said, not judged


def test_max_age_warns_of_the_cassette_with_older_answers_and_keeps_the_exit_code(tmp_path):
    path = cassette(tmp_path, "dated", dated=True)
    done = serve(path, "--max-age", "30")
    assert done.returncode == 0, done.stdout + done.stderr  # a warning: serve has no failing on warnings
    warnings = [line for line in done.stdout.splitlines() if "warning:" in line]
    assert warnings == [
        f"{path.name}:{line_of(path, 'interaction: 3')}: warning: 2 of 3 interactions were recorded more than 30 "
        f"days ago (the oldest, interaction 3 (sources.list), on {OLDER_UNSERVED:%Y-%m-%d}, 400 days ago): its answers "
        "may no longer be the API's; re-record it with `conformance record --refresh` (docs: keeping cassettes fresh)"]
    assert "was recorded" in summary(done)


def test_max_age_above_every_answers_age_warns_of_nothing(tmp_path):
    done = serve(cassette(tmp_path, "dated", dated=True), "--max-age", "500")
    assert "warning" not in done.stdout + done.stderr


def test_a_cassette_without_dates_says_nothing_about_age_unless_asked(tmp_path):
    path = cassette(tmp_path, "undated", dated=False)
    done = serve(path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert summary(done) == "Session: 2 requests answered, 0 misses, 1 recorded interaction never asked for"
    assert "recorded" not in done.stdout.replace("recorded interaction", "") + done.stderr

    asked = serve(path, "--max-age", "30")
    assert [line for line in asked.stdout.splitlines() if "warning:" in line] == [
        f"{path.name}:{line_of(path, 'interaction: 1')}: warning: 3 of 3 interactions have no recorded_at "
        "(recorded before card-conformance kept it), so no known age against --max-age 30 days; re-record it "
        "with `conformance record --refresh` (docs: keeping cassettes fresh)"]


def test_a_max_age_that_is_no_number_of_days_is_one_line_and_exit_2(tmp_path):
    done = subprocess.run([sys.executable, "-m", "conformance", "serve", str(cassette(tmp_path, "d", dated=True)),
                           "--max-age", "0"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and "--max-age" in done.stderr
