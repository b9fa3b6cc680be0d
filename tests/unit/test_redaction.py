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


CARD = "4000056655665556"


@pytest.mark.parametrize("raw", [
    f"name=Ren%E9&card[cvc]=739&card[number]={CARD}",  # one percent-escape that is not UTF-8 keeps the form raw
    f"card[cvc][]=739&card[number][0]={CARD}&expand=a&expand=a",
    f"card[cvc][0]=739&card%5Bnumber%5D%5B%5D={CARD}&name=Ren%E9",
    f"card[ cvc ]=739&card[[number]]={CARD}&x=%FF",
])
def test_a_raw_form_loses_its_secret_fields_by_name(raw):
    redacted = Redactor().form_text(raw, REQUEST_FIELDS)
    assert "739" not in redacted and CARD not in redacted
    assert "[REDACTED:cvc]" in redacted and "[REDACTED:card-number" in redacted


@pytest.mark.parametrize("value", [4000056655665556.0, 4.000056655665556e15, 4000056655665556e0, 1.2345678901234567e18])
def test_a_card_number_sent_as_a_json_float_is_redacted(value):
    assert Redactor().data({"card": {"token": value}}) == {"card": {"token": "[REDACTED:card-number]"}}


@pytest.mark.parametrize("value", [1690000000.25, 1e20, 12.5, 4242424242424241.0])
def test_other_floats_are_left_alone(value):
    assert Redactor().data({"amount": value}) == {"amount": value}


@pytest.mark.parametrize("text", [
    '{"card": {"c\\u0076c": "739"}}',
    '{"card": {"\\u0063\\u0076\\u0063": "739"}}',
    '{"card": {"CVC": "739"}}',
])
def test_a_json_key_written_with_escapes_does_not_hide_its_field(text):
    from conformance.cassette.exchange import build_interaction

    interaction = build_interaction(method="POST", url_path="/v1/tokens", request_headers=[("Content-Type", "application/json")],
                                    request_content=text.encode(), status=200, response_headers=[],
                                    response_content=b"", redactor=Redactor())
    assert "739" not in repr(interaction.request.body)
    assert "739" not in Redactor().text_body(text, REQUEST_FIELDS)


@pytest.mark.parametrize("written", [
    "4000  0566  5566  5556", "4000.0566.5566.5556", "4000\u00a00566\u00a05566\u00a05556", "4000\t0566\t5566\t5556",
    "4000\n0566\n5566\n5556", "4000/0566/5566/5556", "4000 - 0566 - 5566 - 5556", "4000\u202f0566\u202f5566\u202f5556",
    "\uff14\uff10\uff10\uff10\uff10\uff15\uff16\uff16\uff15\uff15\uff16\uff16\uff15\uff15\uff15\uff16",  # fullwidth
    "\uff14\uff10\uff10\uff10 \uff10\uff15\uff16\uff16 \uff15\uff15\uff16\uff16 \uff15\uff15\uff15\uff16",
    "\u0664\u0660\u0660\u0660\u0660\u0665\u0666\u0666\u0665\u0665\u0666\u0666\u0665\u0665\u0665\u0666",  # Arabic-Indic
    "3782.822463.10005",
])
def test_a_card_number_split_or_spelt_otherwise_is_found(written):
    redacted = Redactor().text(f"card: {written}.")
    assert redacted == "card: [REDACTED:card-number].", redacted
    assert Redactor().finds_secret(written)


@pytest.mark.parametrize("text", [
    "created 1690000000.123456", "version 1.2.3.4", "2023.08.16 12:00", "10.0.0.1/24", "+1 415 555 0100",
    "order 1234.5678.9012", "fp 4242/4242", "webhook_secret_rotation", "client_secret_key", "a week_test_x",
    "\uff11\uff12\uff13", "bearer of bad news",
])
def test_what_looks_a_little_like_a_secret_is_left_alone(text):
    assert Redactor().text(text) == text


@pytest.mark.parametrize("secret, kind", [
    ("cuss_secret_" + "AbCdEfGh1234567890XyZ", "client_secret"),
    ("seti_1NaBc_secret_" + "XyZ123aBc", "client_secret"),
    ("ek_test_" + "YWNjdF8xMjM0NTY3ODkw", "ek_test"),
    ("ek_live_" + "YWNjdF8xMjM0NTY3ODkw", "ek_live"),
])
def test_client_secrets_of_every_kind_and_ephemeral_keys(secret, kind):
    assert Redactor().text(f"x {secret} y") == f"x [REDACTED:{kind}] y"


@pytest.mark.parametrize("echo", ["authorization: bearer abcdefghijklmnop123", "AUTHORIZATION: BEARER abcdefghijklmnop123"])
def test_a_lowercase_or_uppercase_bearer_echo_is_redacted(echo):
    redacted = Redactor().text(echo)
    assert "abcdefghijklmnop123" not in redacted and "[REDACTED:token]" in redacted


# -- gaps a review found (issue 35) ---------------------------------------------------------------------------
LIVE = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"


@pytest.mark.parametrize("url, kept", [
    ("http://user:p@ss@127.0.0.1:1/v1", "127.0.0.1:1/v1"),
    ("https://user:p%40ss@api.example.com", "api.example.com"),
    ("http://a@b@c:p@w@@host:8080?q=a@b", "host:8080?q=a@b"),
    ("--upstream http://sk_live_x:@h/ then mail me@example.com", "h/ then mail me@example.com"),
])
def test_url_credentials_are_hidden_up_to_the_last_at_sign_before_the_path(url, kept):
    from conformance.redaction import without_credentials

    hidden = without_credentials(url)
    assert hidden.endswith("[REDACTED:credentials]@" + kept), hidden
    assert "p@ss" not in hidden and "ss@" not in hidden and "p%40ss" not in hidden and "@w@" not in hidden


@pytest.mark.parametrize("written", [
    "key=sk+AF8-live+AF8-a1B2c3D4e5F6g7H8i9J0k1L2",  # UTF-7, no charset said
    "key=sk=5Flive=5Fa1B2c3D4e5F6g7H8i9J0k1L2",  # quoted-printable
    "key=sk=5flive=5fa1B2c3D4e5F6g7H8i9J0k1L2",
    "key: =73=6B=5F=6C=69=76=65=5Fa1B2c3D4e5F6g7H8i9J0k1L2",
    "sk_live_a1B2c3D4\u200be5F6g7H8i9J0k1L2",  # a zero-width space inside
    "sk_live_a1B2\u2060c3D4e5F6g7H8\u00adi9J0k1L2",  # word joiner, soft hyphen
    "\u202esk_live_a1B2c3D4e5F6\ufeffg7H8i9J0k1L2",  # bidi override, BOM
])
def test_a_key_in_utf7_quoted_printable_or_with_invisible_characters_is_one_marker(written):
    redacted = Redactor().text(written)
    assert "[REDACTED:sk_live]" in redacted and "a1B2" not in redacted and "L2" not in redacted, redacted


def test_a_card_number_in_quoted_printable_or_with_invisible_characters_is_found():
    assert Redactor().text("n: =34=30=30=30=30=35=36=36=35=35=36=36=35=35=35=36") == "n: [REDACTED:card-number]"
    assert Redactor().text("4000\u200b0566\u200b5566\u200b5556.") == "[REDACTED:card-number]."


def test_a_quoted_printable_body_with_soft_line_breaks_is_read_joined():
    body = "note: sk=5Flive=5Fa1B2c3D4=\r\ne5F6g7H8i9J0k1L2 and 4000056655=\n665556\n"
    redacted = Redactor().text_body(body, REQUEST_FIELDS)
    assert "a1B2" not in redacted and "e5F6" not in redacted and "665556" not in redacted, redacted


@pytest.mark.parametrize("text", [
    "limit=10&created=1690000000&version=2023", "fingerprint=ABCD1234ef", "a \U0001f468\u200d\U0001f469 family",
    "\u200bzero width\u200b", "version=2023-08-16;q=0.9", "x=1;note=a", "<p>card <b>number</b> 12</p>",
    "AF8-live+AF8-", "a=5F", "2+2=4",
])
def test_new_readings_leave_ordinary_text_alone(text):
    assert Redactor().text_body(text, REQUEST_FIELDS) == text


@pytest.mark.parametrize("raw", ["x=1;card[cvc]=739", "x=1;card%5Bcvc%5D=739&y=2", "n=Ren%E9;card[cvc]=739",
                                 "a=b;c=d;card[cvc][]=739", "card[%2563vc]=739", "card%5B%2563vc%5D=739"])
def test_a_cvc_after_a_semicolon_or_with_its_name_encoded_twice_is_redacted(raw):
    from conformance.cassette.exchange import build_interaction

    redacted = Redactor().form_text(raw, REQUEST_FIELDS)
    assert "739" not in redacted and "[REDACTED:cvc]" in redacted, redacted
    interaction = build_interaction(method="POST", url_path="/v1/tokens", request_content=raw.encode(), status=200,
                                    request_headers=[("Content-Type", "application/x-www-form-urlencoded")],
                                    response_headers=[], response_content=b"", redactor=Redactor())
    assert "739" not in repr(interaction.request.body), interaction.request.body


@pytest.mark.parametrize("xml", [
    "<card><cvc>739</cvc><number>4000056655665556</number></card>",
    '<card><ns:cvc xmlns:ns="x">739</ns:cvc><number type="pan">4111 1111 1111 1111</number></card>',
    "<card><CVC><![CDATA[739]]></CVC><number>\n  4000056655665557\n</number></card>",
])
def test_xml_fields_of_secret_names_lose_their_values(xml):
    redacted = Redactor().text_body(xml, REQUEST_FIELDS)
    assert "739" not in redacted and "5566" not in redacted and "1111" not in redacted, redacted
    assert "[REDACTED:cvc]" in redacted and "[REDACTED:card-number]" in redacted
    assert redacted.startswith("<card>") and redacted.endswith("</card>")


def test_xml_without_secret_fields_is_unchanged():
    xml = "<card><exp_month>8</exp_month><cvc></cvc><number> </number><name>Jenny</name></card>"
    assert Redactor().text_body(xml, REQUEST_FIELDS) == xml


@pytest.mark.parametrize("separator", [" ", ":", "  "])
def test_a_hex_dump_with_bytes_apart_is_redacted_in_mitmdump_lines(separator):
    from conformance.redaction import relayed

    dump = separator.join(f"{b:02x}" for b in LIVE.encode())
    assert relayed(f"ClientHello: {dump} end", Redactor()) == "ClientHello: [REDACTED:hex] end"
    xxd = " ".join(LIVE.encode().hex()[i:i + 4] for i in range(0, 2 * len(LIVE), 4))
    assert relayed(f"00000000: {xxd}  sk_live_a1B2c3D4", Redactor()).endswith("[REDACTED:hex]  [REDACTED:sk_live]")
    ordinary = "16 03 01 02 00 01 00 01 fc 03 03 aa bb"
    assert relayed(f"ClientHello {ordinary}", Redactor()) == f"ClientHello {ordinary}"


@pytest.mark.parametrize("line, secret", [
    ("c.yaml:14: body: {cvc: '739', exp_month: 8}", "739"),
    ("c.yaml:14: bad indentation near 'cvc: 739'", "739"),
    ('c.yaml:9: near "    cvc: \\"7391\\""', "7391"),
    ("c.yaml:14: near 'card[cvc] = 739'", "739"),
    ("c.yaml:3: - number: 4000 0566 5566 5557 (expected a mapping)", "5557"),
])
def test_an_error_line_quoting_yaml_loses_secret_fields(line, secret):
    from conformance.redaction import redact_message

    redacted = redact_message(line)
    assert secret not in redacted and "[REDACTED:" in redacted, redacted
    assert redacted.split(":")[0] == "c.yaml"


@pytest.mark.parametrize("line", ["c.yaml:12: interaction number: 4 has no response", "c.yaml:3: field cvc is empty",
                                  "c.yaml:7: version: 1.0 is not 1", "c.yaml:2: expected number = 3, got 2"])
def test_an_error_line_with_harmless_numbers_is_unchanged(line):
    from conformance.redaction import redact_message

    assert redact_message(line) == line


def test_every_format_character_is_in_the_planes_looked_at():
    import sys
    import unicodedata

    from conformance.redaction import _format_characters

    everywhere = {chr(c) for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)) == "Cf"}
    assert all(_format_characters().fullmatch(c) for c in everywhere)
    assert not _format_characters().search("abc \u00e9\u4e2d\U0001f468 \u200c".replace("\u200c", ""))


@pytest.mark.parametrize("escape", ["\\u2064", "\\u200b", "\\U000e0041", "\\xad", "\\ufeff"])
def test_an_error_line_quoting_a_key_with_an_escaped_invisible_character_shows_none_of_it(escape):
    from conformance.redaction import redact_message

    tail = "def4567890abcdefghijklmn"
    line = f"cassette.yaml:3: unknown key 'sk_live_abc{escape}{tail}'"
    assert tail not in redact_message(line) and "[REDACTED:sk_live]" in redact_message(line)


def test_an_escape_of_an_invisible_character_outside_a_secret_is_kept():
    from conformance.redaction import redact_message

    line = "cassette.yaml:3: path /v1/customers/cus_a\\u200bb holds a control character"
    assert redact_message(line) == line


@pytest.mark.parametrize("text", ["00000=2010000000000000009", "ref=204242424242424242"])
def test_a_card_number_behind_a_quoted_printable_space_is_found(text):
    """``=20`` (a space) then digits: the digits alone read as a number, the escape undone they are a card."""
    assert "[REDACTED:card-number]" in Redactor().text(text)


def test_a_form_s_flat_key_kept_as_written_is_redacted_by_its_innermost_name():
    """A hand-written cassette may keep ``card[cvc]`` as one key: its value is a CVC all the same."""
    redacted = Redactor().request_data({"source[cvc]": "987", "card[cvc][]": "123", "metadata[note]": "987"})
    assert redacted == {"source[cvc]": "[REDACTED:cvc]", "card[cvc][]": "[REDACTED:cvc]", "metadata[note]": "987"}


def test_a_url_s_password_never_survives_a_text():
    said = Redactor().text("reproduce: conformance run x.yaml --target http://bob:hunter2pass@127.0.0.1:8420")
    assert "hunter2pass" not in said and "bob" not in said and "@127.0.0.1:8420" in said
