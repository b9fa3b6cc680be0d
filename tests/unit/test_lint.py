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


def test_a_body_stored_as_bytes_no_reader_can_scan_is_named_so(tmp_path):
    """A gzip body an older recorder kept as base64: nothing in it could be checked, whatever it holds."""
    import gzip

    stored = base64.b64encode(gzip.compress(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4)).decode()
    path = cassette(tmp_path, interaction("  method: GET\n  path: /v1/files/file_123/contents\n",
                                          f"response:\n  status: 200\n  base64: {stored}\n"))
    problems = [str(problem) for problem in check_cassette(path, STRIPE)]
    assert len(problems) == 1 and "stores a body as bytes the redactor cannot read as text" in problems[0], problems
    assert "unredacted" not in problems[0]


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


# -- a weak reference: the recording judged by what the profile knows of the API -------------------------------

CUSTOMER = ("  method: POST\n  path: /v1/customers\n",
            "response:\n  status: 200\n  json:\n    id: cus_NffrFeUfNV2Hib\n    object: customer\n")


def weak(found: list) -> list[str]:
    return [f"{p.weak}: {p.message}" for p in found if p.weak]


def test_a_documented_route_the_upstream_lacks_is_a_weak_reference(tmp_path):
    listing = interaction("  method: GET\n  path: /v1/customers/cus_NffrFeUfNV2Hib/cards\n",
                          "response:\n  status: 405\n  text: \"405: Method Not Allowed\"\n")
    unknown = interaction("  method: GET\n  path: /v1/customers/cus_NffrFeUfNV2Hib/cards/card_1NBLeN2eZvKYlo2C\n",
                          "response:\n  status: 404\n  json:\n    error:\n      type: invalid_request_error\n"
                          "      message: \"Unrecognized request URL (GET: /v1/customers/…/cards/card_1NBLeN2eZvKYlo2C)\"\n")
    found = check_cassette(cassette(tmp_path, interaction(*CUSTOMER), listing, unknown), STRIPE)
    assert weak(found) == [
        "missing route: interaction 2 (cards.list): the upstream has no route GET /v1/customers/:customer/cards "
        "(405: 405: Method Not Allowed), which the API documents: a replay would hold every target to that answer",
        "missing route: interaction 3 (cards.retrieve): the upstream has no route GET "
        "/v1/customers/:customer/cards/:card (404: Unrecognized request URL (GET: /v1/customers/…/cards/"
        "card_1NBLeN2eZvKYlo2C)), which the API documents: a replay would hold every target to that answer"]
    assert all(p.warning for p in found if p.weak)
    assert all(not p.warning for p in check_cassette(tmp_path / "old.yaml", STRIPE, strict=True) if p.weak)
    (line,) = [str(p) for p in found if p.weak and "interaction 3" in p.message]
    assert line.startswith(f"{tmp_path / 'old.yaml'}:20: warning: weak reference: interaction 3 (cards.retrieve): ")


def test_an_api_error_saying_an_object_does_not_exist_is_no_missing_route(tmp_path):
    missing = interaction("  method: GET\n  path: /v1/customers/cus_DoesNotExist0000/cards\n",
                          "response:\n  status: 404\n  json:\n    error:\n      type: invalid_request_error\n"
                          "      message: \"No such customer: 'cus_DoesNotExist0000'\"\n      param: id\n")
    found = check_cassette(cassette(tmp_path, missing), STRIPE)
    assert weak(found) == []


ATTACH = "  method: POST\n  path: /v1/customers/{customer}/sources\n  form:\n    source: {token}\n"


@pytest.mark.parametrize(("customer", "error", "refused"), [
    # the customer was made by this upstream: nothing but the token can be what it refused
    ("cus_NffrFeUfNV2Hib", "      message: Not Found\n", True),
    # the error names the token, whatever else the request holds
    ("cus_DoesNotExist0000", "      message: \"No such token: 'tok_visa'\"\n      param: source\n", True),
    # an object this upstream never made: the refusal is its, not the token's
    ("cus_DoesNotExist0000", "      message: \"No such customer: 'cus_DoesNotExist0000'\"\n", False),
    # another parameter refused
    ("cus_NffrFeUfNV2Hib", "      message: Invalid integer\n      param: exp_month\n", False),
])
def test_a_test_token_the_upstream_refused_is_a_weak_reference(tmp_path, customer, error, refused):
    attach = interaction(ATTACH.format(customer=customer, token="tok_visa"),
                         f"response:\n  status: 404\n  json:\n    error:\n      type: invalid_request_error\n{error}")
    found = weak(check_cassette(cassette(tmp_path, interaction(*CUSTOMER), attach), STRIPE))
    assert [line.split(" (", 1)[0] for line in found] == (["refused test card: interaction 2"] if refused else [])
    if refused:
        assert "the upstream refused the test token tok_visa (404: " in found[0]


def test_a_key_reused_with_another_token_is_refused_for_the_key_not_the_token(tmp_path):
    """A retry scenario reuses an attach's idempotency key with another test token: the upstream's refusal is the
    key's (idempotency_error), which says nothing of the token."""
    key = "  headers:\n    Idempotency-Key: retry-attach\n"
    first = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_visa") + key)
    reused = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_mastercard") + key,
                         "response:\n  status: 400\n  json:\n    error:\n      type: idempotency_error\n"
                         "      message: Keys for idempotent requests can only be used with the same parameters\n")
    assert weak(check_cassette(cassette(tmp_path, interaction(*CUSTOMER), first, reused), STRIPE)) == []
    other = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_mastercard")
                        + "  headers:\n    Idempotency-Key: another\n",
                        "response:\n  status: 404\n  json:\n    error:\n      type: invalid_request_error\n"
                        "      message: Not Found\n")
    assert len(weak(check_cassette(cassette(tmp_path, interaction(*CUSTOMER), first, other), STRIPE))) == 1
    # an SDK's random keys, recorded as one placeholder: no key is reused, the refused token is the upstream's
    generated = "  headers:\n    Idempotency-Key: <generated>\n"
    attach = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_visa") + generated)
    refused = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_mastercard") + generated,
                          "response:\n  status: 404\n  json:\n    error:\n      type: invalid_request_error\n"
                          "      message: Not Found\n")
    assert len(weak(check_cassette(cassette(tmp_path, interaction(*CUSTOMER), attach, refused), STRIPE))) == 1


def test_a_token_from_a_test_card_the_upstream_refused_is_a_weak_reference(tmp_path):
    token = interaction("  method: POST\n  path: /v1/tokens\n  form:\n    card:\n"
                        "      number: \"[REDACTED:card-number:amex-8431]\"\n      exp_month: \"8\"\n",
                        "response:\n  status: 400\n  json:\n    error:\n      type: invalid_request_error\n"
                        "      message: Bad request\n")
    assert weak(check_cassette(cassette(tmp_path, token), STRIPE)) == [
        "refused test card: interaction 1 (tokens.create): the upstream refused the test card amex-8431 (400: Bad "
        "request), which the API's test mode accepts: record from an upstream that knows the test cards and tokens"]


def card(id_: str, brand: str, funding: str = "credit", last4: str = "4444") -> str:
    return (f"    id: {id_}\n    object: card\n    brand: {brand}\n    funding: {funding}\n    last4: \"{last4}\"\n")


def test_a_test_card_answered_as_another_card_is_a_weak_reference_once(tmp_path):
    """The Mastercard test card, its token made from its number, attached, retrieved: answered as a Visa card
    each time — one warning at the first answer, counting the rest."""
    token = interaction("  method: POST\n  path: /v1/tokens\n  form:\n    card:\n"
                        "      number: \"[REDACTED:card-number:mastercard-4444]\"\n",
                        "response:\n  status: 200\n  json:\n    id: tok_tB0Hqg8EdkeUrH\n    object: token\n    card:\n"
                        + card("card_zPvCYae5gfXinJ", "Visa").replace("    ", "      "))
    attached = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_tB0Hqg8EdkeUrH"),
                           "response:\n  status: 200\n  json:\n" + card("card_Qx81aBcDeFgHiJ", "Visa"))
    again = interaction("  method: GET\n  path: /v1/customers/cus_NffrFeUfNV2Hib/sources/card_Qx81aBcDeFgHiJ\n",
                        "response:\n  status: 200\n  json:\n" + card("card_Qx81aBcDeFgHiJ", "Visa"))
    debit = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_visa_debit"),
                        "response:\n  status: 200\n  json:\n" + card("card_Zz81aBcDeFgHiJ", "Visa", "credit", "5556"))
    spelled = interaction(ATTACH.format(customer="cus_NffrFeUfNV2Hib", token="tok_mastercard"),
                          "response:\n  status: 200\n  json:\n" + card("card_Yy81aBcDeFgHiJ", "Mastercard"))
    found = check_cassette(cassette(tmp_path, interaction(*CUSTOMER), token, attached, again, debit, spelled), STRIPE)
    assert [line for line in weak(found) if not line.startswith("documented rule")] == [
        "test card contradicted: interaction 2 (tokens.create): answers the test card mastercard-4444 with brand "
        "\"Visa\" (and 2 later answers), where that card's brand is \"MasterCard\"",
        "test card contradicted: interaction 5 (sources.create): answers the test card visa-debit-5556 with funding "
        "\"credit\", where that card's funding is \"debit\""]


def test_the_reference_suite_is_a_strong_reference():
    suite = Path(__file__).resolve().parents[2] / "cassettes"
    found = [str(p) for path in sorted(suite.glob("*.yaml")) for p in check_cassette(path, STRIPE, strict=True)]
    assert found == []
