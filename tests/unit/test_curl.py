"""The reproduce line: test card numbers in clear, any other card number a variable to fill in, no secret."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conformance.redaction import Redactor
from conformance.replay.curl import CurlRequest, curl_command
from conformance.stripe import STRIPE

CARDS = STRIPE.cards
FORM = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Bearer sk_test_x"}


def line(content: str, headers: dict[str, str] = FORM) -> str:
    return curl_command(CurlRequest("POST", "http://127.0.0.1:9/v1/tokens", headers, content.encode()), CARDS,
                        Redactor(cards=CARDS), frozenset({"Idempotency-Key"}))


def arguments(command: str, env: dict[str, str]) -> list[str]:
    """The words a shell hands curl, the variables set: ``printf`` in its place."""
    printed = subprocess.run(["bash", "-c", "curl() { printf '%s\\n' \"$@\"; }; " + command], capture_output=True,
                             text=True, timeout=10, env=env, check=True)
    return printed.stdout.splitlines()


def test_a_documented_test_card_number_is_printed_as_sent():
    command = line("card%5Bnumber%5D=4000056655665556&card%5Bcvc%5D=314")
    assert "card%5Bnumber%5D=4000056655665556" in command and "REDACTED" not in command
    assert "#" not in command


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_any_other_card_number_stays_redacted_and_the_line_says_what_to_fill_in():
    other = "4000" + "0000" + "0000" + "0077"  # Luhn-valid, no test card of the profile
    command = line(f"card%5Bnumber%5D={other}&card%5Bcvc%5D=314")
    assert other not in command
    assert '"$CARD_NUMBER"' in command and "# set CARD_NUMBER first" in command
    words = arguments(command, {"CARD_NUMBER": "4242424242424242", "STRIPE_API_KEY": "sk_test_k"})
    assert words[words.index("--data-raw") + 1] == "card%5Bnumber%5D=4242424242424242&card%5Bcvc%5D=314"
    assert "Authorization: Bearer sk_test_k" in words


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_a_marker_the_replay_sent_as_recorded_is_filled_in_json_too():
    command = line('{"card": {"number": "[REDACTED:card-number]"}}', {"Content-Type": "application/json"})
    words = arguments(command, {"CARD_NUMBER": "5555555555554444"})
    assert words[words.index("--data-raw") + 1] == '{"card": {"number": "5555555555554444"}}'


def test_secrets_beside_a_test_card_are_still_redacted():
    command = line("card%5Bnumber%5D=4242424242424242&note=sk_live_" + "a" * 24,
                   {**FORM, "Stripe-Account": "sk_live_" + "b" * 24})
    assert "sk_live_a" not in command and "sk_live_b" not in command and "4242424242424242" in command
    assert "Bearer sk_test_x" not in command and "$STRIPE_API_KEY" in command


def test_a_test_card_written_in_groups_is_still_the_public_number():
    command = line("card%5Bnumber%5D=4242+4242+4242+4242&n=5555%205555%205555%204444")
    assert "REDACTED" not in command and "#" not in command
    assert "4242424242424242" in command and "5555555555554444" in command
