"""The parse cache's quick test for secrets agrees with the full redaction it stands in for.

``message_unchanged`` clears a document without running ``redact_message`` on it; it may only clear what the
redaction would leave as it is. Each property feeds it what the cache sees (a document's JSON text) and bare text,
holding a secret in every encoding the redaction sees through, near misses of them (a character dropped or added,
separators widened, case changed) and noise made of the characters its rules look for.
"""

from __future__ import annotations

import base64
import html
import json
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, event, example, given
from hypothesis import strategies as st

from conformance.cassette import Body, cache, load
from conformance.redaction import message_unchanged, redact_message

from ..conftest import examples
from .test_cache import entries
from .test_cassette import sample, write
from .test_redaction_properties import CARDS, INVISIBLE, TEXT_SECRETS, secrets

FIELD_NAMES = ["cvc", "CVC", "cvv", "number", "Number", "card[cvc]", "card[ cvc ]", "card[number]", "card[cvc][0]",
               "c\\u0076c", "card[%63vc]", "cvc_check", "last4", "numbers", "x_number", "cvc2"]
SEPARATORS = [" ", "-", ".", "/", "  ", "\t", "\n", " - ", "\u00a0", "+", ",", "_", "...."]
# the characters the rules look for, for noise and near misses
NOISE = "0123456789 -./_:=%+&\\@\"'[]<>{}#;~*kKsStTeElLiIvVwWhHcCrRbBaAuUnNmMoOpPxX\n\t"


def _grouped(card: str, separator: str, size: int) -> str:
    return separator.join(card[i:i + size] for i in range(0, len(card), size))


ENCODINGS = {
    "plain": lambda s: s,
    "percent-all": lambda s: "".join(f"%{ord(c):02X}" for c in s),
    "percent-underscore": lambda s: s.replace("_", "%5F"),
    "percent-twice": lambda s: quote(quote(s, safe=""), safe=""),
    "json-escape": lambda s: "".join(f"\\u{ord(c):04x}" if c in "_0123456789" else c for c in s),
    "x-escape": lambda s: s.replace("_", "\\x5f"),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-url-bare": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "quoted-printable": lambda s: s.replace("_", "=5F").replace("4", "=34"),
    "utf-7": lambda s: s.encode("utf-7").decode("ascii"),
    "entities": lambda s: "".join(f"&#{ord(c)};" if c in "_4" else c for c in s),
    "entity-names": lambda s: html.escape(s).replace("_", "&lowbar;"),
    "plus-for-space": lambda s: _grouped(s, "+", 4),
    "invisible": lambda s: s[:5] + INVISIBLE[len(s) % len(INVISIBLE)] + s[5:],
    "fullwidth": lambda s: "".join(chr(0xFF10 + int(c)) if c.isdigit() else c for c in s),
}


@st.composite
def disguised(draw: st.DrawFn) -> str:
    """A secret, a field with its value, a credential or a URL's password, in one of the encodings, perhaps
    damaged: what the redaction must find, and what it must not (a near miss the quick test may not clear)."""
    kind = draw(st.sampled_from(["secret", "card-grouped", "field", "scheme", "url"]))
    if kind == "secret":
        text = draw(secrets)
    elif kind == "card-grouped":
        text = _grouped(draw(st.sampled_from(CARDS)), draw(st.sampled_from(SEPARATORS)), draw(st.integers(2, 6)))
    elif kind == "field":
        template = draw(st.sampled_from(['"{}":"{}"', '"{}":{}', "{}: '{}'", "{}={}", "<{0}>{1}</{0}>", "{} = {}",
                                         'name="{}"\r\n\r\n{}']))
        text = template.format(draw(st.sampled_from(FIELD_NAMES)), draw(st.sampled_from(["739", "4242", *CARDS])))
    elif kind == "scheme":
        token = draw(st.sampled_from(["dXNlcjpwYXNzd29yZA==", "abcdef.ghijkl.mnopqr", *TEXT_SECRETS]))
        scheme = draw(st.sampled_from(["Bearer", "bearer", "BASIC", "Basic", "bEaReR"]))
        text = f"{scheme}{draw(st.sampled_from([' ', '  ', chr(9)]))}{token}"
    else:
        text = f"{draw(st.sampled_from(['https', 'http', 'git+ssh']))}://{draw(st.sampled_from(['user:pass', 'sk_live_x']))}@host/v1"
    text = ENCODINGS[draw(st.sampled_from(sorted(ENCODINGS)))](text)
    damage = draw(st.sampled_from(["none", "drop", "insert", "truncate", "case"]))
    if damage == "none" or not text:
        return text
    at = draw(st.integers(0, len(text) - 1))
    if damage == "drop":
        return text[:at] + text[at + 1:]
    if damage == "insert":
        return text[:at] + draw(st.sampled_from(NOISE)) + text[at:]
    return text[:at] if damage == "truncate" else text.swapcase()


pieces = st.one_of(disguised(), st.text(NOISE, max_size=16), st.sampled_from(
    ["Bearer [REDACTED:sk_test]", "[REDACTED:card-number:visa-4242]", "client_secret", "cvc_check", "4242",
     "2023-08-16", "1690000000", "card_1NBLeN2eZvKYlo2CIg1o7Pzs", "/v1/customers/cus_NhD8HD2bY8dP3V/cards"]))
texts = st.lists(pieces, min_size=1, max_size=4).map(" ".join)


def _document(payload: str, place: str, line: int) -> str:
    """The JSON text of a recorded interaction holding ``payload`` at ``place``, as the parse cache writes it."""
    data: dict[str, object] = {
        "interaction": line, "endpoint": "",
        "request": {"method": "POST", "path": "/v1/customers/cus_1/cards",
                    "headers": {"Authorization": "Bearer [REDACTED:sk_test]", "Stripe-Version": "2023-08-16"},
                    "form": {"name": "Jenny Rosen", "metadata": {"order_id": "6735"}}},
        "response": {"status": 200, "headers": {"Content-Type": "application/json"},
                     "json": {"id": "card_1NBLeN2eZvKYlo2CIg1o7Pzs", "cvc_check": "pass", "last4": "4242",
                              "exp_year": 2024}},
    }
    request, response = data["request"], data["response"]
    assert isinstance(request, dict) and isinstance(response, dict)
    if place == "value":
        request["form"]["metadata"]["note"] = payload
    elif place == "key":
        response["json"][payload] = "x"
    elif place == "path":
        request["path"] = f"/v1/customers/{payload}/cards"
    elif place == "header":
        request["headers"]["X-Note"] = payload
    elif place == "text-body":
        response["text"] = f"error: {payload}\nsee the docs"
    elif place == "number" and payload.strip().isdigit():
        response["json"]["number"] = int(payload.strip())
    return json.dumps([line, data], ensure_ascii=False, separators=(",", ":"))


def _agrees(text: str) -> None:
    cleared = message_unchanged(text)
    event("cleared by the quick test" if cleared else "left to the redaction")  # both are drawn often
    if cleared:
        assert redact_message(text) == text, text


@examples(ci=400, deep=20000, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts)
@example(text="card[ cvc ]: 739")
@example(text="Bearer " + TEXT_SECRETS[0])
@example(text="c2tfbGl2ZV80ZUMzOUhxTHlqV0RhcmpUMXpkcDdkYw==")
def test_the_quick_test_clears_no_text_the_redaction_would_change(text):
    _agrees(text)


@examples(ci=300, deep=20000, suppress_health_check=[HealthCheck.too_slow])
@given(payload=texts, place=st.sampled_from(["value", "key", "path", "header", "text-body", "number"]),
       line=st.integers(1, 10**6))
def test_the_quick_test_clears_no_document_the_redaction_would_change(payload, place, line):
    _agrees(_document(payload, place, line))


# For each rule of redact_message, a text only that rule changes, which no other test of the quick one rejects:
# a quick test that dropped or narrowed that rule's condition would clear it.
ONE_RULE_EACH = {
    "percent": "4242%204242%204242%204242", "plus": "4242+4242+4242+4242", "entity": "4242&#32;4242&#32;4242&#32;4242",
    "quoted-printable": "4242=204242=204242=204242", "escape": "4242\\u00204242\\u00204242\\u00204242",
    "url": "https://user:pass@example.com/", "key": "sk_live_abcd", "whsec": "whsec_abc", "client-secret": "pi_abc_secret_def",
    "bearer": "Bearer abc.defghijklm", "basic": "basic dXNlcjpwYXNzd28x", "json-field": '{"cvc":"739"}',
    "named-field": "x-cvc: 739", "form-field": "card[cvc]: 739", "marker-not-a-value": "[REDACTED:cvc:739]",
    "number-in-marker": "[REDACTED:card-number:424242424242]", "card": "4242424242424242", "card-13": "4222222222222",
    "card-after-id": "card_1234 4242 4242 4242 4242", "card-after-dash": "ref-4242424242424242",
    "card-dots": "4242.4242.4242.4242", "card-slashes": "4242/4242/4242/4242", "card-tabs": "4242\t4242\t4242\t4242",
    "base64": "c2tfbGl2ZV80ZUMzOUhxTHlqV0RhcmpUMXpkcDdkYw", "base64-20": "Mzc4MjgyMjQ2MzEwMDA1",
    "non-ascii": "\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12\uff14\uff12",
}


@pytest.mark.parametrize("text", ONE_RULE_EACH.values(), ids=ONE_RULE_EACH.keys())
def test_the_quick_test_leaves_each_rules_secret_to_the_redaction(text):
    assert redact_message(text) != text  # the example is one: the full check changes it
    assert not message_unchanged(text)


@pytest.mark.parametrize("payload", ["Jenny Rosen", "[REDACTED:card-number:visa-4242]", "cvc_check", "last4 4242",
                                     "created 1690000000", "card_8841169613592869", "pi_123_secret",
                                     "https://example.com/v1", "jenny@x.com"])
def test_the_quick_test_clears_a_clean_recorded_interaction(payload):
    """Without this the cache would be as slow as before: a card's interaction, markers and all, is cleared."""
    assert message_unchanged(_document(payload, "value", 7))


@pytest.mark.parametrize("name, body", [
    ("key", {"note": TEXT_SECRETS[1]}), ("card", {"note": CARDS[3]}), ("card-dotted", {"note": _grouped(CARDS[3], ".", 4)}),
    ("cvc", {"card": {"cvc": "739"}}), ("base64", {"note": ENCODINGS["base64"](TEXT_SECRETS[0])}),
    ("percent", {"note": ENCODINGS["percent-all"](TEXT_SECRETS[0])}), ("bearer", {"note": "Bearer a1b2c3d4e5f6g7h8"})])
def test_a_document_the_quick_test_cannot_clear_is_redacted_and_never_cached(tmp_path, monkeypatch, name, body):
    """A cassette whose only secret sits in one interaction among clean ones is not cached; the clean ones are
    cleared by the quick test alone (the redaction reads only what it cannot clear)."""
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    redacted: list[str] = []
    monkeypatch.setattr(cache, "redact_message", lambda text: redacted.append(text) or redact_message(text))
    leaking = sample()
    leaking.request.body = Body("json", body)
    path = tmp_path / f"{name}.yaml"
    write(path, sample(), sample(), leaking)
    load(path)
    assert cache.cached_documents(path) is None and entries() == []
    assert len(redacted) == 1 and json.dumps(body, separators=(",", ":")) in redacted[0]
