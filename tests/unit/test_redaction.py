import base64

import pytest

from conformance.redaction import REQUEST_FIELDS, Redactor, luhn_valid
from conformance.stripe.testcards import CARDS

KEY = "sk_test_" + "4eC39HqLyjWDarjtT1zdp7dc"


@pytest.mark.parametrize(
    "secret, marker",
    [
        (KEY, "[REDACTED:sk_test]"),
        ("sk_live_" + "51Habc0123456789", "[REDACTED:sk_live]"),
        ("rk_test_" + "abcdef0123456789", "[REDACTED:rk_test]"),
        ("whsec_" + "abcdefghijklmnop", "[REDACTED:whsec]"),
        ("pi_3Nabc_secret_XyZ123", "[REDACTED:client_secret]"),
        ("4242424242424242", "[REDACTED:card-number:visa-4242]"),  # a documented test card keeps its name
        ("4242 4242 4242 4242", "[REDACTED:card-number:visa-4242]"),
        ("4111 1111 1111 1111", "[REDACTED:card-number]"),  # any other number: only that it was one
        ("378282246310005", "[REDACTED:card-number]"),
    ],
)
def test_secrets_inside_text_become_markers(secret, marker):
    redacted = Redactor(cards=CARDS).text(f"before {secret} after")
    assert redacted == f"before {marker} after"


@pytest.mark.parametrize(
    "written",
    [
        "No such customer: 'sk%5Ftest%5F4eC39HqLyjWDarjtT1zdp7dc'",  # an error quoting the request path
        "/v1/customers/sk%255Ftest%255F4eC39HqLyjWDarjtT1zdp7dc/",  # percent-encoded twice
        "sk\\u005ftest\\u005f4eC39HqLyjWDarjtT1zdp7dc",  # JSON escapes, escaped again by a JSON echo
        "sk&#95;test&#95;4eC39HqLyjWDarjtT1zdp7dc",
        "token " + base64.b64encode(KEY.encode()).decode(),
        "/v1/customers/" + base64.urlsafe_b64encode(KEY.encode()).decode().rstrip("=") + "/",
    ],
)
def test_a_key_is_found_in_every_encoding_it_is_written_in(written):
    redacted = Redactor().text(written)
    assert "4eC39HqLyjWDarjtT1zdp7dc" not in redacted and "[REDACTED:sk_test]" in redacted


@pytest.mark.parametrize("text", ["4242424242424241", "1700000000", "cus_NffrFeUfNV2Hib", "card_1NBLeN2eZvKYlo2C",
                                  "fingerprint Xt5EWLLDS7FJjR1c", "a=1&not=2", "50%+ of 4242+x"])
def test_ordinary_values_are_left_alone(text):
    assert Redactor().text(text) == text


def test_luhn():
    assert luhn_valid("4242424242424242")
    assert not luhn_valid("4242424242424243")


def test_authorization_headers_keep_their_scheme_and_say_what_was_removed():
    r = Redactor()
    assert r.header("Authorization", f"Bearer {KEY}") == "Bearer [REDACTED:sk_test]"
    curl_basic = "Basic " + base64.b64encode(f"{KEY}:".encode()).decode()
    assert r.header("Authorization", curl_basic) == "Basic [REDACTED:sk_test]"
    other_basic = "Basic " + base64.b64encode(b"jenny:hunter2").decode()
    assert r.header("Authorization", other_basic) == "Basic [REDACTED:credentials]"
    assert r.header("Cookie", "session=abc") == "[REDACTED:cookie]"
    assert r.header("Set-Cookie", "session=abc; HttpOnly") == "[REDACTED:set-cookie]"


def test_request_fields_are_redacted_at_any_depth_and_responses_lose_client_secrets():
    r = Redactor(cards=CARDS)
    request = r.request_data({"card": {"number": "4000056655665556", "cvc": "123", "exp_month": "8"}, "list": [{"cvc": "9"}]})
    assert request == {"card": {"number": "[REDACTED:card-number:visa-debit-5556]", "cvc": "[REDACTED:cvc]", "exp_month": "8"},
                       "list": [{"cvc": "[REDACTED:cvc]"}]}
    response = r.response_data({"client_secret": "opaque", "nested": [{"note": f"key {KEY}"}]})
    assert response == {"client_secret": "[REDACTED:client_secret]", "nested": [{"note": "key [REDACTED:sk_test]"}]}


def test_user_fields_and_patterns():
    r = Redactor(fields=["email"], patterns=[r"acct_[A-Za-z0-9]+"])
    assert r.request_data({"email": "jenny@example.com", "note": "acct_123 paid"}) == {
        "email": "[REDACTED:email]",
        "note": "[REDACTED:pattern] paid",
    }
    assert r.header("Email", "x@example.com") == "[REDACTED:email]"


def test_credentials_echoed_in_text_are_redacted_with_their_scheme():
    r = Redactor()
    assert r.text("header was 'Authorization: Bearer abcdefghijklmnop123'") == \
        "header was 'Authorization: Bearer [REDACTED:token]'"
    assert r.text(f"Bearer {KEY}") == "Bearer [REDACTED:sk_test]"
    assert r.text("Basic " + base64.b64encode(b"jenny:hunter2hunter2").decode()) == "Basic [REDACTED:credentials]"
    assert r.text("a Bearer token is short") == "a Bearer token is short"
    assert r.text("Basic authentication and Bearer authentication") == "Basic authentication and Bearer authentication"
    assert r.text("(e.g. 'Authorization: Bearer YOUR_SECRET_KEY')") == "(e.g. 'Authorization: Bearer [REDACTED:token]')"


@pytest.mark.parametrize("number, alias", [(card.number, card.alias) for card in CARDS.cards])
def test_a_test_card_number_is_named_in_every_encoding(number, alias):
    r = Redactor(cards=CARDS)
    named = f"[REDACTED:card-number:{alias}]"
    assert r.text(f"number {number}.") == f"number {named}."
    assert r.request_data({"card": {"number": number}}) == {"card": {"number": named}}
    assert r.data(int(number)) == named
    assert r.form_text(f"card[number]={number}&x=%", REQUEST_FIELDS) == f"card[number]={named}&x=%25"
    assert number[-4:] in alias and number not in named


def test_a_marker_is_kept_and_a_value_holding_one_is_not_trusted():
    r = Redactor(cards=CARDS)
    assert r.request_data({"card": {"number": "[REDACTED:card-number:amex-8431]"}}) == \
        {"card": {"number": "[REDACTED:card-number:amex-8431]"}}
    sneaky = r.request_data({"card": {"number": "[REDACTED:card-number] 4000056655665556"}})
    assert sneaky == {"card": {"number": "[REDACTED:card-number:visa-debit-5556]"}}
    assert r.request_data({"card": {"number": "5105105105105100"}}) == {"card": {"number": "[REDACTED:card-number]"}}


@pytest.mark.parametrize(
    "line, secret",
    [
        ("c.yaml:8: request.path must start with '/', got 'v1/" + "sk_live_" + "51HbcdEfGhIjKl'", "sk_live_51HbcdEfGhIjKl"),
        ("c.yaml:3: unknown header key '4000 0566 5566 5556'", "4000 0566 5566 5556"),
        ("x.json: body 'card[cvc]=739&card[number]=42'", "739"),
        ('x.json: expected a mapping near "cvc": "739"', "739"),
        ("x.har: 'sk%5Flive%5F51HbcdEfGhIjKl' is no URL", "sk%5Flive%5F51HbcdEfGhIjKl"),
    ],
)
def test_an_error_line_keeps_its_words_and_loses_its_secrets(line, secret):
    from conformance.redaction import redact_message

    redacted = redact_message(line)
    assert secret not in redacted and "[REDACTED:" in redacted
    assert redacted.split(":")[0] == line.split(":")[0]


def test_an_error_line_without_secrets_is_unchanged():
    from conformance.redaction import redact_message

    line = "c.yaml:12: response.status 700 is not an HTTP status code (Stripe-Version 2023-08-16, card_1NaBc)"
    assert redact_message(line) == line
