"""A recording from a weak upstream is challenged, not trusted: the suite captured from localstripe (the stripe SDK
through the recorder) and checked — each weak spot named, the cassette called a weak reference, --strict fails it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.suite.localstripe_target import running

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def conformance(*args: object, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Scenarios of the reference suite recorded from localstripe: with its magic tokens as Stripe's test mode
    takes them, and with tokens made from the test cards' numbers (what localstripe can do)."""
    out = tmp_path_factory.mktemp("from-localstripe")
    with running() as upstream:
        for mode, scenarios in (("magic", ["cards-update"]), ("create", ["card-errors", "cards-retrieve",
                                                                          "cards-delete"])):
            only = [arg for name in scenarios for arg in ("--only", name)]
            done = conformance("capture", "--upstream", upstream, "--out", out / mode, "--api-key",
                               "sk_test_weakreference", "--tokens", mode, *only)
            assert (out / mode / f"{scenarios[0]}.yaml").exists(), done.stdout + done.stderr
    return out


def lines_of(output: str, cassette: str) -> list[str]:
    return [line for line in output.splitlines() if f"{cassette}.yaml:" in line and "weak reference: interaction" in line]


def test_each_weak_spot_of_a_localstripe_recording_is_named(recorded):
    done = conformance("check", recorded / "create", recorded / "magic")
    out = done.stdout
    assert done.returncode == 0, out + done.stderr  # warnings: the recording is readable and replayable
    errors = lines_of(out, "card-errors")
    assert any("interaction 2 (cards.list): the upstream has no route GET /v1/customers/:customer/cards (405: "
               in line for line in errors), errors
    assert any("(cards.retrieve): the upstream has no route GET /v1/customers/:customer/cards/:card (404: " in line
               for line in errors), errors
    retrieve = lines_of(out, "cards-retrieve")
    assert any("answers the test card mastercard-4444 with brand \"Visa\"" in line and
               "where that card's brand is \"MasterCard\"" in line for line in retrieve), retrieve
    delete = lines_of(out, "cards-delete")
    assert any("answers the test card visa-debit-5556 with funding \"credit\"" in line for line in delete), delete
    assert any("the recording contradicts the API reference: [invariant.deleted]" in line for line in delete), delete
    update = lines_of(out, "cards-update")
    assert any("interaction 2 (sources.create): the upstream refused the test token tok_visa (404: " in line
               for line in update), update
    assert all(": warning: weak reference: interaction " in line for line in errors + retrieve + delete + update)


def test_a_weak_recording_is_said_to_be_one_plainly(recorded):
    out = conformance("check", recorded / "create" / "cards-delete.yaml").stdout
    (summary,) = [line for line in out.splitlines() if ": a weak reference: " in line]
    assert summary.startswith(f"{recorded / 'create' / 'cards-delete.yaml'}: a weak reference: its upstream answered "
                              "what the API does not (")
    assert "missing route" in summary and "test cards contradicted" in summary and "documented rules broken" in summary
    assert "(--strict fails it)" in summary
    assert out.rstrip().endswith("; 1 is a weak reference")


def test_strict_fails_a_weak_reference_and_the_reference_suite_passes_it(recorded):
    strict = conformance("check", "--strict", recorded / "magic")
    assert strict.returncode == 1, strict.stdout
    assert ": warning: " not in strict.stdout and ": weak reference: interaction 2 (sources.create)" in strict.stdout
    suite = conformance("check", "--strict", ROOT / "cassettes")
    assert suite.returncode == 0 and "weak reference" not in suite.stdout, suite.stdout


def test_check_help_says_what_strict_does():
    out = conformance("check", "--help").stdout
    strict = " ".join(out.split("\n  --strict", 1)[1].split())
    assert strict.startswith("Fail (exit 1) on what is otherwise a warning: every weak-reference warning")
