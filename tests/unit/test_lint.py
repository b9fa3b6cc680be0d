"""`conformance check` finds secrets an older recorder left inside encoded values, once each, at their interaction."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from conformance.checks.lint import check_cassette
from conformance.stripe import STRIPE

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"
HEADER = "version: 1\nname: old\n"


def cassette(tmp_path: Path, *documents: str) -> Path:
    path = tmp_path / "old.yaml"
    path.write_text(HEADER + "".join(f"---\n{document}" for document in documents))
    return path


def interaction(request: str, response: str = "response:\n  status: 200\n") -> str:
    return f"request:\n{request}{response}"


@pytest.mark.parametrize(
    ("request_yaml", "kinds"),
    [
        # a repeated key kept the form raw, and the raw form was not redacted field by field
        ("  method: POST\n  path: /v1/tokens\n  form: \"card[number]=4242+4242+4242+4242&card[cvc]=739"
         "&expand=card&expand=customer\"\n", "card-number, cvc"),
        ("  method: GET\n  path: /v1/customers/sk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc/cards\n", "sk_test"),
        ("  method: GET\n  path: /v1/customers\n  query: \"note=sk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc&a=1&a=2\"\n",
         "sk_test"),
        ("  method: POST\n  path: /v1/customers\n  base64: "
         + base64.b64encode(f"name=Ren\xe9&card[cvc]=739&key={KEY}".encode("latin-1")).decode() + "\n",
         "cvc, sk_test"),
        ("  method: POST\n  path: /v1/customers\n  text: \"--b\\r\\nContent-Disposition: form-data; "
         "name=\\\"card[cvc]\\\"\\r\\n\\r\\n739\\r\\n--b--\\r\\n\"\n", "cvc"),
    ],
)
def test_secrets_inside_encoded_values_are_found(tmp_path, request_yaml, kinds):
    path = cassette(tmp_path, interaction(request_yaml))
    problems = [str(problem) for problem in check_cassette(path, STRIPE)]
    assert problems == [f"{path}:4: interaction 1 holds an unredacted {kinds} (inside an encoded value: a raw form, "
                        "a percent-escape or a base64 body); record it again, or redact it"]


def test_a_secret_shown_on_its_line_is_reported_there_only(tmp_path):
    path = cassette(tmp_path, interaction(f"  method: GET\n  path: /v1/customers\n  query:\n    note: {KEY}\n"))
    problems = [str(problem) for problem in check_cassette(path, STRIPE)]
    assert problems == [f"{path}:8: an unredacted sk_test: replace it with [REDACTED:sk_test] (the recorder does "
                        "this before writing)"]


def test_redacted_values_in_every_encoding_are_clean(tmp_path):
    path = cassette(tmp_path, interaction(
        "  method: POST\n  path: /v1/tokens\n  form: \"card[number]=[REDACTED:card-number]&card[cvc]=[REDACTED:cvc]"
        "&expand=card&expand=customer\"\n"))
    assert check_cassette(path, STRIPE) == []


def test_an_id_nothing_provides_is_one_problem_at_its_first_use_whatever_uses_it_later(tmp_path):
    """A server's fixture id (stripe-mock's acct_xxxxxxxxxxxxx) used by many requests is one thing to record or
    list under 'fixtures', not one problem per request."""
    uses = [interaction(f"  method: GET\n  path: /v1/accounts/acct_xxxxxxxxxxxxx/persons/person_{n}\n")
            for n in range(5)]
    once = interaction("  method: GET\n  path: /v1/charges/ch_xxxxxxxxxxxxx\n")
    found = check_cassette(cassette(tmp_path, *uses, once), STRIPE)
    problems = [str(p) for p in found if "no earlier response" in str(p)]
    assert len(problems) == 2, problems
    (hint,) = [p for p in found if p.warning and "fixtures:" in p.message]
    assert hint.message.endswith("list them in the header: fixtures: [acct_xxxxxxxxxxxxx, ch_xxxxxxxxxxxxx]")
    assert ":4: interaction 1 (other) uses acct_xxxxxxxxxxxxx (and 4 later interactions), which no earlier" in \
        problems[0]
    assert "interaction 6 (other) uses ch_xxxxxxxxxxxxx, which" in problems[1]
