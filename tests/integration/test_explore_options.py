"""`conformance explore` retries, warnings, `--tokens create`, `--openapi`, the written cassette's last answer,
and `--reference` judging the candidate by the documented rules: each against the test fake as a process of
its own, bounded by examples, never by the clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main

from ..stripe_fake import FakeStripe
from .test_explore import explore, fake_process

pytestmark = pytest.mark.integration

FAKE = f"{sys.executable} -m tests.stripe_fake --port {{port}}"


@pytest.fixture(scope="module")
def faithful_url() -> Iterator[str]:
    """One faithful fake for the module's replays (each cassette makes its own customers)."""
    with fake_process() as url:
        yield url


@pytest.mark.parametrize(("deviation", "rule"), [("no-replayed-header", "idempotency.replayed_header"),
                                                 ("constant-request-id", "request.id")])
def test_a_retry_warning_is_listed_and_never_fails(deviation, rule, tmp_path):
    with fake_process(deviation) as target:
        code, output, data = explore(target, tmp_path, "--max-examples", "120", "--budget", "60")
    assert code == 0, output
    assert [w["rule"] for w in data["warnings"]] == [rule] and f"! [{rule}]" in output, output


def test_a_retried_attach_is_read_back_and_its_cassette_reproduces_as_a_retry(tmp_path, faithful_url):
    """executes-repeats: the retry made a second card; the cassette sends one key twice, so run judges it."""
    with fake_process("executes-repeats") as target:
        code, output, data = explore(target, tmp_path, "--max-examples", "500", "--max-failures", "1")
        assert code == 1 and data["failures"][0]["rule"] == "idempotency.replay", output
        cassette = Path(data["failures"][0]["cassette"])
        interactions = list(yaml.safe_load_all(cassette.read_text()))[1:]
        keys = [i["request"]["headers"].get("Idempotency-Key") for i in interactions]
        assert keys[-1] and keys.count(keys[-1]) == 2, keys  # the same recorded key twice: run's retry
        assert CliRunner().invoke(main, ["run", str(cassette), "--target", target]).exit_code == 1
    assert CliRunner().invoke(main, ["run", str(cassette), "--target", faithful_url]).exit_code == 0


def test_the_last_answer_pairs_the_expected_status_with_a_body_of_its_own_kind(tmp_path, faithful_url):
    """unknown-tokens refuses the magic token with a 404 error where the rules expect the card attached: the
    cassette's last answer is 200 with a card (the model's), never 200 with the target's error; and it still
    reproduces on the target and passes on the faithful fake."""
    with fake_process("unknown-tokens") as target:
        code, output, data = explore(target, tmp_path, "--max-examples", "50", "--max-failures", "1")
        assert code == 1 and data["failures"][0]["rule"] == "status", output
        cassette = Path(data["failures"][0]["cassette"])
        last = list(yaml.safe_load_all(cassette.read_text()))[-1]["response"]
        assert last["status"] == 200 and last["json"]["object"] == "card" and "error" not in last["json"], last
        assert last["json"]["id"].startswith("card_") and last["json"]["metadata"] == {}  # the model's new card
        assert CliRunner().invoke(main, ["run", str(cassette), "--target", target]).exit_code == 1
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", faithful_url])
    assert replayed.exit_code == 0, replayed.output


def test_tokens_create_attaches_tokens_the_target_made_and_the_cassette_replays_with_run(tmp_path):
    """unknown-tokens: the fake refuses magic tokens (as localstripe does) but makes tokens from card numbers."""
    with fake_process("unknown-tokens,update-ignores-name") as target:
        refused = CliRunner().invoke(main, ["explore", "--target", target, "--max-examples", "20",
                                            "--out", str(tmp_path / "magic")], env={"CONFORMANCE_CACHE": "0"})
        assert refused.exit_code == 1 and "[status]" in refused.output, refused.output
        code, output, data = explore(target, tmp_path, "--tokens", "create", "--max-examples", "500",
                                     "--max-failures", "1")
        assert code == 1 and data["failures"][0]["rule"] == "card.attributes", output
        cassette = Path(data["failures"][0]["cassette"])
        assert "source: tok_" in cassette.read_text()  # the magic token: run --tokens create makes its own
        assert "--tokens create" in output
        replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", target, "--tokens", "create"])
        assert replayed.exit_code == 1, replayed.output
    with fake_process("unknown-tokens") as plain:  # faithful but for the magic tokens
        replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", plain, "--tokens", "create"])
        assert replayed.exit_code == 0, replayed.output


def test_openapi_judges_every_answer_and_the_cassette_reproduces_with_run(tmp_path, faithful_url):
    """integer-as-string: the card's exp_year a string, which the contract refuses (schema.type)."""
    spec = Path(__file__).parent.parent / "schemas" / "cards-openapi.yaml"
    with fake_process("integer-as-string") as target:
        code, output, data = explore(target, tmp_path, "--openapi", str(spec), "--max-examples", "300",
                                     "--max-failures", "1")
        assert code == 1 and data["failures"][0]["rule"].startswith("schema."), output
        cassette = Path(data["failures"][0]["cassette"])
        assert f"--openapi {spec}" in output
        assert CliRunner().invoke(main, ["run", str(cassette), "--target", target, "--openapi", str(spec)]
                                  ).exit_code == 1
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", faithful_url, "--openapi", str(spec)])
    assert replayed.exit_code == 0, replayed.output


def test_a_missing_openapi_spec_is_one_line_and_exit_2(tmp_path):
    result = CliRunner().invoke(main, ["explore", "--target", "http://127.0.0.1:9", "--openapi",
                                       str(tmp_path / "nosuch.yaml")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) <= 3, result.output


def test_reference_mode_judges_the_candidate_by_the_documented_rules_too(tmp_path):
    """random-fingerprint: run's comparison treats a fingerprint as minted (it passes), the documented rule does
    not. Through the real CLI as a process."""
    report = tmp_path / "explore.json"
    done = subprocess.run([sys.executable, "-m", "conformance", "explore", "--target-cmd",
                           FAKE + " --deviation random-fingerprint", "--reference-cmd", FAKE, "--seed", "1",
                           "--max-examples", "500", "--max-failures", "1", "--out", str(tmp_path / "out"),
                           "--json-report", str(report)], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path, env={**os.environ, "CONFORMANCE_CACHE": "0",
                                             "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert done.returncode == 1, done.stdout + done.stderr
    assert json.loads(report.read_text())["failures"][0]["rule"] == "card.fingerprint"
    assert not (tmp_path / ".hypothesis").exists()  # Hypothesis' own files never land in the user's folder


def test_an_https_target_with_a_private_ca_is_explored_with_cacert_and_refused_in_one_line_without(tmp_path):
    """run's --cacert and --max-body reach explore's own client: without the CA the first request gets no answer,
    said in one line with what to do (a traceback before); with it the target is explored; a body cap below the
    fake's answers is the same one line, naming --max-body."""
    from ..tls import self_signed

    cert, key = self_signed(tmp_path)
    with FakeStripe(tls=(cert, key)) as target:
        for extra, said in (((), ("CERTIFICATE_VERIFY_FAILED", "trust the target's CA with --cacert FILE, or pass --insecure")),
                            (("--cacert", str(cert), "--max-body", "100"), ("larger than --max-body 100 bytes",))):
            refused = CliRunner().invoke(main, ["explore", "--target", target, "--max-examples", "3",
                                                "--out", str(tmp_path / "out"), *extra], env={"CONFORMANCE_CACHE": "0"})
            assert refused.exit_code == 2, refused.output
            (line,) = refused.output.strip().splitlines()
            assert all(words in line for words in said) and target in line, line
        code, output, data = explore(target, tmp_path, "--max-examples", "3", "--cacert", str(cert))
    assert code == 0 and data["sequences"] >= 1 and data["requests"] > 2, output
    assert not (tmp_path / "out").exists()
