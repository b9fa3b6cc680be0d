"""A graceful stop of the recorder loses no answered exchange, and one cassette has one recorder.

Real processes: mitmdump with the recorder addon, 20 concurrent httpx clients
through it, a local upstream on 127.0.0.1 that answers after a random delay
(so exchanges are in flight when the signal comes), SIGINT or SIGTERM at a
random moment. Every answer a client received must be in the cassette, the
cassette must load, and mitmdump must exit 0. Six rounds here, three of each
signal (a recorder that does not drain loses answers in most rounds); the long
variant, a hundred rounds and more, is ``bench/graceful_stop.py``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from conformance.cassette import load

from ..graceful import Round, Upstream, mitmdump_recorder, run_rounds

pytestmark = pytest.mark.integration

ROUNDS = 6


@pytest.fixture(scope="module")
def upstream():
    with Upstream(max_delay=0.08) as url:
        yield url


def test_sigint_and_sigterm_at_random_moments_lose_no_answered_exchange(upstream, tmp_path):
    chooser = random.Random()
    seed = chooser.randrange(1 << 30)
    chooser.seed(seed)
    rounds: list[Round] = []
    for number, result in enumerate(run_rounds(upstream, tmp_path, ROUNDS, chooser)):
        rounds.append(result)
        assert not result.missing, f"seed {seed}, round {number} ({result.signal}): answered, not recorded: {result}"
        assert result.code == 0, f"seed {seed}, round {number}: mitmdump exit code {result.code}: {result.output}"
    # the rounds stopped with traffic under way: exchanges answered before and cut off after
    assert sum(r.answered for r in rounds) >= ROUNDS * 20, rounds
    assert sum(r.refused for r in rounds) > 0, "no round stopped while clients were still sending"


def test_an_exchange_still_in_flight_after_the_drain_is_cut_off_unanswered_and_said_so(tmp_path):
    """An upstream slower than the drain: the client gets no answer, the cassette no interaction, the output a line."""
    upstream = Upstream(max_delay=0.0, slow_path="/v1/slow", slow=12.0)
    with upstream as url:
        path = tmp_path / "slow.yaml"
        with mitmdump_recorder(url, path) as (process, address, output):
            outcome: dict[str, object] = {}

            def slow() -> None:
                try:
                    outcome["status"] = httpx.get(f"{address}/v1/slow", timeout=20).status_code
                except httpx.HTTPError as error:
                    outcome["error"] = type(error).__name__

            thread = threading.Thread(target=slow)
            thread.start()
            assert httpx.get(f"{address}/v1/fast", timeout=10).status_code == 200
            assert upstream.slow_arrived.wait(20)  # the slow one is upstream now
            process.send_signal(signal.SIGTERM)
            code = process.wait(20)
            thread.join(20)
        assert "error" in outcome, outcome  # not answered
        assert [i.request.path for i in load(path).interactions] == ["/v1/fast"]
        assert "1 exchange still in flight after 5s were cut off: not answered, not recorded" in "".join(output)
        assert code == 0


def refused_second(cli, upstream, path, *extra):
    second = cli("record", "--upstream", upstream, "--cassette", path, *extra)
    code = second.finish(60)
    lines = [line for line in second.text.splitlines() if line.strip()]
    assert code == 2, second.text
    assert lines[-1].startswith("Error: ") and "being written by another process" in lines[-1], second.text
    assert "Traceback" not in second.text


def test_two_recorders_on_one_cassette_the_second_is_refused_with_one_line(cli, fake_stripe, tmp_path):
    path = tmp_path / "one.yaml"
    first = cli("record", "--upstream", fake_stripe, "--cassette", path)
    address = first.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
    refused_second(cli, fake_stripe, path)  # before the first wrote anything: it would have truncated its file
    assert not path.exists()
    auth = {"Authorization": "Bearer sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"}
    assert httpx.post(f"{address}/v1/customers", data={"email": "a@example.com"}, headers=auth).status_code == 200
    before = path.read_bytes()
    for extra in ("--append", "--overwrite"):
        refused_second(cli, fake_stripe, path, extra)
        assert path.read_bytes() == before  # nothing lost, nothing written by the refused one
    assert httpx.post(f"{address}/v1/customers", data={"email": "b@example.com"}, headers=auth).status_code == 200
    assert first.interrupt() == 0, first.text
    assert [i.request.body.value["email"] for i in load(path).interactions] == ["a@example.com", "b@example.com"]
    assert not list(tmp_path.glob(".*.lock"))  # the lock goes with its recorder
    again = cli("record", "--upstream", fake_stripe, "--cassette", path, "--append")  # free again
    again.wait_for(r"API base at")
    assert again.interrupt() == 0, again.text


def test_mitmdump_exits_non_zero_after_a_write_failure(tmp_path):
    """A recording stopped by a write failure (a file size limit here) must not end with exit code 0."""
    with Upstream(max_delay=0.0) as url:
        path = tmp_path / "limited.yaml"
        limit = "import resource; resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000)); "
        with mitmdump_recorder(url, path, preamble=limit) as (process, address, output):
            codes = []
            with httpx.Client(base_url=address, timeout=10) as client:
                for number in range(50):
                    try:
                        codes.append(client.get(f"/v1/things/{number}").status_code)
                    except httpx.HTTPError:
                        break
            code = process.wait(20)
        text = "".join(output)
        assert code != 0, text
        assert "error: cannot write to" in text and "recording stopped" in text, text
        recorded = load(path).interactions
        assert len(recorded) == len(codes)  # every answer the client got, and no other


def test_the_bench_variant_runs(tmp_path):
    """bench/graceful_stop.py: the long variant, here for two rounds."""
    script = Path(__file__).parents[2] / "bench" / "graceful_stop.py"
    done = subprocess.run([sys.executable, str(script), "--rounds", "2", "--dir", str(tmp_path)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 rounds" in done.stdout and "0 answered exchanges missing" in done.stdout, done.stdout


@pytest.mark.parametrize("how", ["SIGINT to the group (Ctrl-C in a terminal)", "SIGTERM to conformance"])
def test_conformance_record_waits_for_the_answer_in_flight(cli, tmp_path, how):
    """Through the command line: an exchange upstream when the stop comes is answered, recorded and counted."""
    upstream = Upstream(max_delay=0.0, slow_path="/v1/slow", slow=1.5)
    with upstream as url:
        path = tmp_path / "c.yaml"
        recorder = cli("record", "--upstream", url, "--cassette", path)
        address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
        assert httpx.get(f"{address}/v1/fast", timeout=10).status_code == 200
        outcome: dict[str, int] = {}
        thread = threading.Thread(target=lambda: outcome.update(
            status=httpx.get(f"{address}/v1/slow", timeout=20).status_code))
        thread.start()
        assert upstream.slow_arrived.wait(20)  # the slow request is upstream: in flight when the stop comes
        if how.startswith("SIGINT"):
            os.killpg(recorder.process.pid, signal.SIGINT)
        else:
            recorder.process.send_signal(signal.SIGTERM)
        code = recorder.finish(30)
        thread.join(20)
    assert outcome == {"status": 200}, recorder.text
    assert [i.request.path for i in load(path).interactions] == ["/v1/fast", "/v1/slow"]
    assert "Wrote 2 interactions" in recorder.text and code == 0, recorder.text
