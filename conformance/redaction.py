"""Redaction: secrets are replaced by a fixed marker before anything is written or printed.

A marker says what was removed (``[REDACTED:sk_test]``, ``[REDACTED:card-number]``),
so a cassette still tells a reviewer that the request carried a test key or a card
number, never which one. Two kinds of rules apply:

* value patterns, applied to every string (keys, values, headers, paths, log lines):
  Stripe secret and restricted keys, webhook secrets, client secrets, and digit runs
  of 13-19 digits that pass the Luhn check (card numbers);
* field names, whose whole value is replaced: ``number`` and ``cvc`` in requests,
  ``client_secret`` and ``cvc`` in responses, plus any the user adds.
"""

from __future__ import annotations

import base64
import binascii
import html
import re
import unicodedata
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Any
from urllib.parse import quote, unquote

from conformance import forms
from conformance.api_profile import TestCards

__all__ = ["Redactor", "marker", "field_marker", "luhn_valid", "redact_message", "message_unchanged", "without_credentials", "relayed"]

# Each rule runs only when its literal is in the text: one regex with four
# alternatives and look-behinds costs ~50 µs per card body, these ~5 µs.
# Ephemeral keys (ek_) only where a token starts: "week_test_…" is a word, not a key.
_KEY = re.compile(r"(?P<prefix>sk|rk|(?<![0-9A-Za-z])ek)_(?:(?P<mode>test|live)_[0-9A-Za-z_*]+|[0-9A-Za-z]{24,})")
# Credentials echoed in text ("Authorization: Bearer abc…" in an error message or a log line).
_SCHEME_CREDENTIAL = re.compile(r"\b((?i:bearer|basic))(\s+)([A-Za-z0-9._~+/=-]{12,})")
_WHSEC = re.compile(r"whsec_[0-9A-Za-z+/=_]+")
# pi_…_secret_…, seti_…_secret_…, and the one-part kind (cuss_secret_… of customer sessions), whose random tail
# is told from a snake_case word (webhook_secret_rotation) by its length and a digit or capital in it.
_CLIENT_SECRET = re.compile(r"[0-9A-Za-z]+_[0-9A-Za-z]+_secret_[0-9A-Za-z]+"
                            r"|(?<![0-9A-Za-z_])[0-9A-Za-z]+_secret_(?=[a-z]*[0-9A-Z])[0-9A-Za-z]{10,}")
# A run of digit groups ("4242 4242 4242 4242", "4242424242424242 0"); _card_spans looks inside
# it for 13-19 digits of whole groups that pass the Luhn check. A group glued to a letter or an
# underscore on its left (``cus_4242…``, ``A0``) belongs to another token and never starts a run;
# one glued on its right is dropped in _card_spans.
_CARD = re.compile(r"(?<![0-9A-Za-z_])\d+(?:[ -]\d+)*")
# A card number written in groups split otherwise (double spaces, dots, slashes, tabs, line breaks, no-break and
# thin spaces): groups of 3-6 digits only, so a timestamp (1690000000.123456) or a version is left alone.
_CARD_SPLIT = re.compile(r"(?<![0-9A-Za-z_])[0-9]{3,6}(?:[ \t\r\n./\u00a0\u2007\u2009\u202f\u3000-]{1,3}[0-9]{3,6}){2,5}"
                         r"(?![0-9])")
_ALNUM_ID = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
# Every card number has such a run. Spelt out in ASCII digits: three times faster to rule out than
# ``\d{4}[ -]?\d{2}`` on a typical body, and the Luhn check reads ASCII digits only anyway.
_DIGITS = re.compile(r"[0-9][0-9][0-9](?:[0-9][ -]?[0-9][0-9]|[^0-9A-Za-z]{1,3}[0-9][0-9][0-9])")

# A secret field's value inside text that is not decoded data: a multipart part
# (``name="card[cvc]"`` then a blank line then the value) or JSON-looking text (``"cvc": "739"``).
_MULTIPART_FIELD = re.compile(r'(name="(?P<name>[^"\r\n]+)"[^\r\n]*\r?\n(?:[^\r\n]+\r?\n)*\r?\n)(?P<value>[^\r\n]*)')
# names may be written with escapes ("c\u0076c"), numbers as floats or with exponents
_QUOTED_FIELD = re.compile(r'("(?P<name>(?:[A-Za-z_\[\]]|\\u[0-9A-Fa-f]{4})+)"\s*:\s*)'
                           r'(?P<value>"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)')
# XML's ``<cvc>739</cvc>``, ``<ns:number>4242…</ns:number>``, a CDATA section as the value.
_XML_FIELD = re.compile(r"(<(?:[A-Za-z_][\w.-]*:)?(?P<name>[A-Za-z_][\w.-]*)(?:\s[^<>]*)?>)"
                        r"(?P<value><!\[CDATA\[.*?\]\]>|[^<]*)(?=</)", re.DOTALL)
_FORM_TEXT = re.compile(r"[^\s&=]+=[^\s&]*(?:&[^\s&=]+=[^\s&]*)*&?")

# Quoted-printable (``sk=5Flive=5F…``, ``=34=32…``, ``4000=3056…``): an escape with a hex letter, two in a row, or
# an escaped digit among digits. ``limit=10`` and ``created=1690000000`` are no sign, so most forms keep the fast path.
_QP_SIGN = re.compile(r"=(?:[0-9][A-Fa-f]|[A-F][0-9A-F]|[0-9]{2}=[0-9A-F]{2}|3[0-9](?=[0-9=])|20(?=[0-9]{4}))")
_QP_ESCAPE = re.compile(r"=([0-9A-Fa-f]{2})")
_SOFT_BREAK = re.compile(r"=\r?\n")
# UTF-7's shifted runs (``sk+AF8-live+AF8-…``): base64 of UTF-16 between ``+`` and ``-``.
_UTF7_SHIFT = re.compile(r"\+[A-Za-z0-9/+]+-?")
# A value written in an encoding: a run of the characters percent-encoding, ``+`` for space, JSON and
# HTML escapes and base64 are written in. Each run holding one of them is decoded until stable, then
# matched; a run whose decoded text holds a secret is replaced by that text, redacted.
_ENCODED_RUN = re.compile(r"[A-Za-z0-9_%+./=\\~*:&#;-]{6,}")
_ENCODED_SIGN = re.compile(r"%[0-9A-Fa-f]{2}|\\[uxU/]|&#|&[a-z]+;|\+")
# ``\\`` too: text escaped twice (JSON quoting a JSON body) comes off one layer per decoding
_ESCAPE = re.compile(r"\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})|\\([/\\])|\\U(0[0-9A-Fa-f]{7})")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{16,}={0,2}|[A-Za-z0-9_-]{16,}={0,2}")
# Five groups of base64 that encode printable ASCII (each group's first character encodes a byte of
# 0x20-0x7f, its third the top bits of another): every secret written in base64 has them, an id or a
# fingerprint almost never (3/16 per group), so only those strings are decoded. Looked for where a token
# starts (after a delimiter, "/" included): one attempt per token, not per character.
_BASE64_TEXT = re.compile(r"(?<![A-Za-z0-9+_-])(?:[I-Za-f][A-Za-z0-9+/_-][ABEFIJMNQRUVYZcdghklopstwx014589][A-Za-z0-9+/_-]){5}")
# Decimal digits of other scripts (fullwidth, Arabic-Indic…), each read as its ASCII digit.
_ASCII_DIGITS = re.compile(r"(?![0-9])\d")
_ENTITY = re.compile(r"&(?:#[0-9]+|#[xX][0-9A-Fa-f]+|[A-Za-z]+);")
_MAX_DECODINGS = 8  # percent-encoding applied eight times over is not a value anyone sends by mistake

REQUEST_FIELDS = {"number": "card-number", "cvc": "cvc", "cvv": "cvc"}
# a CVC in an answer: an issuing card's expanded ``cvc``, or an upstream echoing the request
RESPONSE_FIELDS = {"client_secret": "client_secret", "cvc": "cvc", "cvv": "cvc"}
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}


def marker(what: str) -> str:
    return f"[REDACTED:{what}]"


_MARKER = re.compile(r"\[REDACTED:[a-z0-9_:-]+\]")


def field_marker(what: str, value: object, cards: TestCards | None = None) -> str:
    """The marker for a secret field's value. A documented test card number (of ``cards``) keeps its name
    (``[REDACTED:card-number:visa-4242]``) so a replay sends that card; a marker stays as it is."""
    if isinstance(value, str) and _MARKER.fullmatch(value):
        return value
    if what == "card-number" and cards is not None:
        alias = cards.alias_of(re.sub(r"[^0-9]", "", str(value)))
        if alias is not None:
            return marker(f"card-number:{alias}")
    return marker(what)


def luhn_valid(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_float(value: float) -> bool:
    """Whether a JSON float may be a card number: a whole number of 13-19 digits passing the Luhn check, or one
    too large for a float to hold its digits exactly (they cannot be checked, and may be a card's)."""
    if not 10**12 <= abs(value) < 10**19 or not value.is_integer():
        return False
    return abs(value) >= 2**53 or luhn_valid(str(int(abs(value))))


def _key_marker(match: re.Match[str]) -> str:
    mode = match.group("mode")
    return marker(f"{match.group('prefix')}_{mode}" if mode else f"{match.group('prefix')}_key")


def _card_spans(match: re.Match[str]) -> list[tuple[int, int]]:
    """(start, end) of card numbers in a run of digit groups: whole groups, 13-19 digits, Luhn-valid.

    A group glued to letters (``A0``, ``cus_4242…``, ``4242…abc``) belongs to another token and is skipped.
    """
    run, text = match.group(0), match.string
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", run)]
    if match.end() < len(text) and text[match.end()] in _ALNUM_ID:
        groups = groups[:-1]
    spans = []
    first = 0
    while first < len(groups):
        digits = ""
        for last in range(first, len(groups)):
            digits += run[groups[last][0]:groups[last][1]]
            if len(digits) > 19:
                break
            if len(digits) >= 13 and luhn_valid(digits):
                spans.append((groups[first][0], groups[last][1]))
                first = last
                break
        first += 1
    return spans


def _is_card(match: re.Match[str]) -> bool:
    return bool(_card_spans(match))


def _has_card(text: str) -> bool:
    """Whether ``text`` holds a card number the literal patterns redact (ASCII digits or others)."""
    if not text.isascii() and _ASCII_DIGITS.search(text):
        text = _ASCII_DIGITS.sub(lambda m: str(unicodedata.decimal(m.group(0))), text)
    return bool(_DIGITS.search(text)) and any(_is_card(m) for pattern in (_CARD, _CARD_SPLIT)
                                              for m in pattern.finditer(text))


def _decode_once(text: str) -> str:
    """One layer off: percent escapes, JSON/JavaScript escapes, HTML character references."""
    if "\\" in text:
        text = _ESCAPE.sub(_unescaped, text)
    if "&" in text and _ENTITY.search(text):
        text = html.unescape(text)
    if "%" in text:
        text = unquote(text, errors="replace")
    return text


def _unescaped(match: re.Match[str]) -> str:
    """One escape: ``\\u005f``, ``\\x5f``, ``\\/``, or Python's ``\\U000e0041`` (``repr`` of a quoted value)."""
    if match.group(3):
        return match.group(3)
    code = int(match.group(1) or match.group(2) or match.group(4), 16)
    return chr(code) if code <= 0x10FFFF else match.group(0)


def _decoded_run_plain(text: str) -> str:
    """``text`` with its percent-encoding, escapes and character references undone until stable."""
    for _ in range(_MAX_DECODINGS):
        decoded = _decode_once(text)
        if decoded == text:
            break
        text = decoded
    return text


def _utf7(text: str) -> str:
    """``text`` with each UTF-7 shifted run read (``+AF8-`` is "_"); a run that is no UTF-7 stays as written."""
    def shifted(match: re.Match[str]) -> str:
        try:
            return match.group(0).encode("ascii").decode("utf-7")
        except UnicodeDecodeError:
            return match.group(0)
    return _UTF7_SHIFT.sub(shifted, text)


def _quoted_printable(text: str) -> str:
    """``text`` read as quoted-printable: soft line breaks joined, ``=XX`` escapes as their bytes (UTF-8)."""
    raw = _QP_ESCAPE.sub(lambda m: f"%{m.group(1)}", _SOFT_BREAK.sub("", text.replace("%", "%25")))
    return unquote(raw, errors="replace")


@cache
def _format_characters() -> re.Pattern[str]:
    """Unicode's format characters (category Cf: zero-width space and joiners, bidi controls, soft hyphen…), which
    show as nothing. They live in planes 0, 1 and 14 (a test holds that); built when first needed (~30 ms)."""
    found = [chr(c) for plane in (range(0x20000), range(0xE0000, 0xE1000)) for c in plane
             if unicodedata.category(chr(c)) == "Cf"]
    return re.compile("[" + "".join(re.escape(c) for c in found) + "]")


def _base64_text(run: str) -> str | None:
    """The text a base64 run encodes (standard or URL-safe alphabet), or None when it is not text."""
    padded = run.rstrip("=")
    if len(padded) % 4 == 1:
        return None
    padded += "=" * (-len(padded) % 4)
    try:
        raw = base64.b64decode(padded, altchars=b"-_" if ("-" in run or "_" in run) else None, validate=True)
        decoded = raw.decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    return decoded if decoded.isprintable() else None


class Redactor:
    """Applies the built-in rules plus user-supplied field names and regular expressions; ``cards``, a profile's
    test cards, keep their names in the markers (a replay sends that very card)."""

    def __init__(self, fields: Iterable[str] = (), patterns: Iterable[str] = (), cards: TestCards | None = None) -> None:
        self.cards = cards
        self.extra_fields = {f.lower() for f in fields if f}
        self.extra_patterns = [re.compile(p) for p in patterns if p]
        # Header values repeat on every exchange (Stripe-Version, the API key): redact each once.
        self._headers: dict[tuple[str, str], str] = {}

    def field_marker(self, what: str, value: object) -> str:
        return field_marker(what, value, self.cards)

    def _card_marker(self, match: re.Match[str]) -> str:
        run = match.group(0)
        for start, end in reversed(_card_spans(match)):
            run = run[:start] + self.field_marker("card-number", run[start:end]) + run[end:]
        return run

    # -- strings ---------------------------------------------------------------------
    def text(self, value: str) -> str:
        """Redact every secret found inside a string, in whatever encoding it is written."""
        if "@" in value and "://" in value:  # a URL's password (a target given as http://user:pass@host)
            value = without_credentials(value)
        if "\n" in value and ("=\n" in value or "=\r\n" in value):
            value = self._joined(value)
        value = self.literal(value)
        return value if len(value) < 6 else self._encoded(value, 0)  # most keys and values: short, no call

    def _joined(self, value: str) -> str:
        """Text with quoted-printable's soft line breaks (``=`` at a line's end), which may split a key: read
        joined when that reading holds a secret, else as written."""
        joined = _SOFT_BREAK.sub("", value)
        return joined if self._encoded(self.literal(joined), 0) != joined else value

    def _plain(self, value: str, depth: int) -> str:
        """The literal patterns, then the encodings, ``depth`` decodings down (bounded: base64 in base64…)."""
        return self._encoded(self.literal(value), depth)

    def literal(self, value: str) -> str:
        """The patterns of :meth:`text` on the text as it reads, without looking into encodings."""
        wide = not value.isascii()
        if wide and _format_characters().search(value):
            value = self._visible(value)
        if "k_" in value:
            value = _KEY.sub(_key_marker, value)
        if "whsec_" in value:
            value = _WHSEC.sub(marker("whsec"), value)
        if "earer" in value or "asic" in value or "EARER" in value or "ASIC" in value:
            value = _SCHEME_CREDENTIAL.sub(self._scheme_credential, value)
        if "_secret_" in value:
            value = _CLIENT_SECRET.sub(marker("client_secret"), value)
        if wide:
            value = self._wide_digits(value)
        if _DIGITS.search(value):
            value = _CARD_SPLIT.sub(self._card_marker, _CARD.sub(self._card_marker, value))
        for pattern in self.extra_patterns:
            value = pattern.sub(marker("pattern"), value)
        return value

    def _visible(self, value: str) -> str:
        """Text with invisible format characters in it (``sk_live_abc\u200bdef…``) as a reader sees it: redacted
        without them when that reading holds a secret (the whole key is one marker), else as written (an emoji's
        zero-width joiner is kept)."""
        seen = _format_characters().sub("", value)
        cleaned = self.literal(seen)
        return cleaned if cleaned != seen else value

    def _wide_digits(self, value: str) -> str:
        """Card numbers in digits of another script (fullwidth ４２４２…): found on the text read in ASCII digits;
        the text is kept as written unless one is there."""
        ascii_digits = _ASCII_DIGITS.sub(lambda m: str(unicodedata.decimal(m.group(0))), value)
        if ascii_digits == value or not _DIGITS.search(ascii_digits):
            return value
        redacted = _CARD_SPLIT.sub(self._card_marker, _CARD.sub(self._card_marker, ascii_digits))
        return redacted if redacted != ascii_digits else value

    def _encoded(self, value: str, depth: int) -> str:
        """Secrets hidden by an encoding (``sk%255Flive%255F…``, ``4242+4242…``, ``sk\\u005f…``, base64):
        every run that may be encoded is decoded until stable, then matched."""
        if depth > 2 or len(value) < 6:
            return value
        signed = (("%" in value or "\\" in value or "&" in value or "+" in value) and _ENCODED_SIGN.search(value)) \
            or ("=" in value and _QP_SIGN.search(value))
        if not signed and (len(value) < 20 or not _BASE64_TEXT.search(value)):
            return value
        return _ENCODED_RUN.sub(lambda match: self._decoded_run(match.group(0), depth), value)

    def _decoded_run(self, run: str, depth: int) -> str:
        layer = run
        for _ in range(_MAX_DECODINGS):
            decoded = _decode_once(layer)
            if decoded == layer:
                break
            layer = decoded
        readings = [layer] + ([layer.replace("+", " "), _utf7(layer)] if "+" in layer else []) \
            + ([_quoted_printable(layer)] if "=" in layer else [])
        for reading in readings:
            if reading == run:
                continue  # read as it is by the literal patterns already
            cleaned = self.literal(reading)
            if cleaned != reading:
                return self._encoded(cleaned, depth + 1)
        if not _BASE64_TEXT.search(layer):
            return run
        read = _BASE64.sub(lambda match: self._unpacked(match.group(0), depth), layer)
        return read if read != layer else run

    def _unpacked(self, run: str, depth: int) -> str:
        """A base64 run that encodes a secret, as the marker of what it holds; any other run as it is."""
        decoded = _base64_text(run)
        if decoded is None:
            # "/" is base64's and a path's: /v1/customers/c2tf…/ is read segment by segment too
            return "/".join(self._unpacked(part, depth) for part in run.split("/")) if "/" in run else run
        cleaned = self._plain(decoded, depth + 1)
        if cleaned == decoded:
            return run
        found = _MARKER.search(cleaned)
        return found.group(0) if found else marker("encoded")

    def _scheme_credential(self, match: re.Match[str]) -> str:
        scheme, space, credential = match.groups()
        if credential.islower() and credential.isalpha():
            return match.group(0)  # prose ("Bearer authentication"), not a token
        if scheme.lower() == "basic":
            try:
                if ":" not in base64.b64decode(credential, validate=True).decode("utf-8"):
                    return match.group(0)
            except (binascii.Error, UnicodeDecodeError):
                return match.group(0)
        return f"{scheme}{space}" + self._authorization(f"{scheme} {credential}").split(" ", 1)[1]

    def finds_secret(self, text: str, fields: Mapping[str, str] = {}, names: bool = True) -> bool:
        """Whether ``text`` (a raw body) may hold anything to redact: a quick test before walking its data.
        ``names``: whether a secret field's name counts (False: only values the patterns know)."""
        if not text.isascii() and _format_characters().search(text):
            text = _format_characters().sub("", text)  # invisible characters inside a key or a card number
        if "=\n" in text or "=\r\n" in text:
            text = _SOFT_BREAK.sub("", text)
        if ("k_" in text and _KEY.search(text)) or "whsec_" in text or "_secret_" in text:
            return True
        if _SCHEME_CREDENTIAL.search(text):
            return True
        if _has_card(text):
            return True
        if any(pattern.search(text) for pattern in self.extra_patterns):
            return True
        if not names:
            return self._encoded(text, 0) != text
        lowered = text.lower()
        if "\\" in lowered or "%" in lowered:  # a key written with escapes ("c\u0076c", "%2563vc") is the field
            lowered += "\n" + _decoded_run_plain(lowered).lower()
        if any(name in lowered for name in (*fields, *self.extra_fields)):
            return True
        return self._encoded(text, 0) != text

    def _credential_kind(self, credential: str, default: str) -> str:
        redacted = self.text(credential.strip())
        if redacted.startswith("[REDACTED:") and redacted.endswith("]") and redacted.count("[") == 1:
            return redacted[len("[REDACTED:") : -1]
        return default

    def form_text(self, raw: str, fields: Mapping[str, str] = {}) -> str:
        """A raw ``application/x-www-form-urlencoded`` string (one that does not decode losslessly),
        redacted pair by pair after percent-decoding: secret fields by name, patterns in keys and values."""
        try:
            pairs = forms.parse_pairs(raw)
        except UnicodeDecodeError:
            return self._lenient_form_text(raw, fields)
        redacted = []
        changed = False
        for key, value in pairs:
            what = self._field(forms.field_name(key), fields)
            new_key = self.text(key)
            new_value = self.field_marker(what, value) if what and value else \
                self.text(self._separated(value, fields) if ";" in value else value)
            changed = changed or new_key != key or new_value != value
            redacted.append((new_key, new_value))
        if not changed:
            return raw
        return "&".join(f"{quote(k, safe='[]:')}={quote(v, safe='[]:')}" for k, v in redacted)

    def _lenient_form_text(self, raw: str, fields: Mapping[str, str]) -> str:
        """A form with a percent-escape that is not UTF-8 (``name=Ren%E9``): pair by pair as sent, a secret
        field's value by its name (read leniently), every other pair through the patterns."""
        redacted = []
        for pair in re.split(r"(?<=[&;])", raw):  # ";" separates pairs for some servers as "&" does
            separator = pair[-1] if pair[-1:] in ("&", ";") else ""
            pair = pair[:len(pair) - len(separator)]
            key, equals, value = pair.partition("=")
            what = self._field(forms.field_name(unquote(key.replace("+", " "), errors="replace")), fields)
            if what and value:
                redacted.append(f"{self.text(key)}={quote(self.field_marker(what, value), safe='[]:')}{separator}")
            else:
                redacted.append((self.text(pair) if "%" not in pair else
                                 self._percent_pair(key, equals, value)) + separator)
        return "".join(redacted)

    def _percent_pair(self, key: str, equals: str, value: str) -> str:
        """A pair with percent-escapes, as sent unless its decoded text (read leniently) holds a secret."""
        readable = unquote(f"{key}{equals}{value}".replace("+", " "), errors="replace")
        cleaned = self.text(readable)
        return self.text(f"{key}{equals}{value}") if cleaned == readable else quote(cleaned, safe="[]:=")

    def text_body(self, text: str, fields: Mapping[str, str] = {}) -> str:
        """A body kept as text (no or another content type): secret fields in multipart parts, JSON-looking
        text and form-looking text, then every pattern."""
        if "=\n" in text or "=\r\n" in text:
            text = self._joined(text)  # before the field rules: a soft line break may split a field's name
        stripped = text.strip()
        if (fields or self.extra_fields) and _FORM_TEXT.fullmatch(stripped):
            redacted = self.form_text(stripped, fields)
            if redacted != stripped:  # a form without its Content-Type; untouched (whitespace and all) otherwise
                text = redacted
        if 'name="' in text:
            text = _MULTIPART_FIELD.sub(lambda m: self._field_value(m, fields), text)
        if '"' in text and ":" in text:
            text = _QUOTED_FIELD.sub(lambda m: self._field_value(m, fields, quoted=True), text)
        if "</" in text:
            text = _XML_FIELD.sub(lambda m: self._field_value(m, fields, blank_kept=True), text)
        return self.text(text)

    def named_value(self, name: str, value: str, fields: Mapping[str, str] = {}) -> str:
        """A value sent under a field name outside decoded data (a multipart part): the whole value when the
        name is a secret field's (``card[cvc]``), else every pattern in the text."""
        what = self._field(forms.field_name(name), fields)
        return self.field_marker(what, value) if what and value else self.text_body(value, fields)

    def _field_value(self, match: re.Match[str], fields: Mapping[str, str], quoted: bool = False,
                     blank_kept: bool = False) -> str:
        name = match.group("name")
        what = self._field(forms.field_name(_decode_once(name) if "\\" in name else name), fields)
        if not what or match.group("value") in ("", '""') or (blank_kept and not match.group("value").strip()):
            return match.group(0)
        value = f'"{self.field_marker(what, match.group("value").strip(chr(34)))}"' if quoted \
            else self.field_marker(what, match.group("value"))
        return match.group(1) + value

    # -- structures ------------------------------------------------------------------
    def data(self, value: Any, fields: Mapping[str, str] = {}) -> Any:
        """Redact decoded JSON/form data: whole values of secret fields, patterns everywhere."""
        if isinstance(value, str):
            return self.text(self._separated(value, fields) if fields and ";" in value else value)
        if type(value) is int and 10**12 <= abs(value) < 10**19 and luhn_valid(str(abs(value))):
            return self.field_marker("card-number", value)  # a card number sent as a JSON number
        if type(value) is float and _card_float(value):
            return self.field_marker("card-number", int(value))  # … or as 4242424242424242.0, 4.242424242424242e15
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                name = self.text(key) if isinstance(key, str) else key
                what = self._field(key, fields)
                if what and item not in (None, "", {}, []):
                    out[name] = self.field_marker(what, item) if isinstance(item, (str, int)) else marker(what)
                else:
                    out[name] = self.data(item, fields)
            return out
        if isinstance(value, list):
            return [self.data(item, fields) for item in value]
        return value

    def _separated(self, value: str, fields: Mapping[str, str]) -> str:
        """A form value holding more pairs after ``;`` (``1;card[cvc]=739``: servers that split forms on ``;`` as
        on ``&`` read a CVC there): each such pair of a secret field's name loses its value."""
        pieces = value.split(";")
        for index, piece in enumerate(pieces[1:], 1):
            key, equals, item = piece.partition("=")
            what = self._field(forms.field_name(unquote(key.replace("+", " ").strip())), fields) if equals else None
            if what and item:
                pieces[index] = f"{key}={quote(self.field_marker(what, unquote(item)), safe='[]:')}"
        return ";".join(pieces)

    def request_data(self, value: Any) -> Any:
        return self.data(value, REQUEST_FIELDS)

    def response_data(self, value: Any) -> Any:
        return self.data(value, RESPONSE_FIELDS)

    def _field(self, key: Any, fields: Mapping[str, str]) -> str | None:
        if not isinstance(key, str):
            return None
        lowered = key.lower()
        if "%" in lowered:  # a name percent-encoded more than the form's one layer (card[%2563vc])
            lowered = forms.field_name(_decoded_run_plain(lowered))
        elif lowered.endswith("]"):  # a form's flat key kept as written (card[cvc]): its innermost name
            lowered = forms.field_name(lowered)
        if lowered in self.extra_fields:
            return lowered
        return fields.get(lowered)

    def header(self, name: str, value: str) -> str:
        key = (name, value)
        redacted = self._headers.get(key)
        if redacted is None:
            if len(self._headers) >= 1024:
                self._headers.clear()
            redacted = self._headers[key] = self._header(name, value)
        return redacted

    def _header(self, name: str, value: str) -> str:
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            return self._authorization(value)
        if lowered in _SECRET_HEADERS or lowered in self.extra_fields:
            return marker(lowered)
        return self.text(value)

    def _authorization(self, value: str) -> str:
        if _MARKER.fullmatch(value.strip()):
            return value  # redacted already: redaction is idempotent
        scheme, _, credentials = value.strip().partition(" ")
        if _MARKER.fullmatch(credentials.strip()):
            return f"{scheme} {credentials.strip()}"
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                user = ""
            return f"Basic {marker(self._credential_kind(user, 'credentials'))}"
        if scheme.lower() == "bearer":
            return f"Bearer {marker(self._credential_kind(credentials, 'token'))}"
        return marker("authorization")


@lru_cache(maxsize=1)
def _message_redactor() -> Redactor:
    return Redactor()


def redact_message(text: str) -> str:
    """An error or log line that quotes input, with every secret in it redacted.

    A malformed cassette, recording or spec quotes what it holds (a path, a key, a value); that quote may be an
    ``sk_live_`` key or a card number, and the line reaches the terminal, CI logs and reports. Every pattern of
    :meth:`Redactor.text` applies, in every encoding it sees through, plus secret fields written as
    ``"cvc": "123"`` or ``card[cvc]=123`` inside the quote.
    """
    redactor = _message_redactor()
    if "\\" in text and _ESCAPED_INVISIBLE.search(text):
        # a quote shows an invisible character as its escape (``sk_live_abc\u2064def``): read without it, the
        # key is whole; redacted so, or the tail after the escape stays in clear
        visible = _ESCAPED_INVISIBLE.sub(lambda m: "" if _is_invisible(m.group(0)) else m.group(0), text)
        if visible != text and redactor.text(visible) != visible:
            text = visible
    redacted = redactor.text_body(text, REQUEST_FIELDS)
    if "=" in redacted:
        redacted = _FORM_PAIR.sub(lambda m: redactor.form_text(m.group(0), REQUEST_FIELDS), redacted)
    if ":" in redacted or "=" in redacted:
        redacted = _NAMED_VALUE.sub(lambda m: _named_value(m, redactor), redacted)
    return redacted


# What redact_message must find in a text before it can change it (message_unchanged), each cheaper to look for
# than the rule it stands for: a literal prefix regex compiles to a fast scan, a translated byte string to memchr.
_ENCODING_SIGNS = ("%", "+", "&", "=")  # percent-encoding, UTF-7 and forms, character references, QP and forms
# The escapes any rule decodes (JSON's \n, \t and \" are read by none: a JSON string's line breaks stay cheap).
_ESCAPE_SIGN = re.compile(r"\\[uxU/\\]")
_KEY_SIGN = re.compile(r"k_(?:test_|live_|[0-9A-Za-z]{24})")  # every _KEY match holds one
_SCHEME_SIGNS = tuple(re.compile(scheme + r"\s+[a-z0-9._~+/=-]{12}") for scheme in ("bearer", "basic"))  # lowered
_WORD = frozenset("abcdefghijklmnopqrstuvwxyz0123456789_")
# A card number's digits with the separators it may be written with dropped: 13 digits in a row.
_CARD_SEPARATORS = b" \t\r\n./-"
_DIGIT_CLASS = bytes(48 if 48 <= byte <= 57 else 120 for byte in range(256))  # a digit -> "0", any other -> "x"
_THIRTEEN_DIGITS = b"0" * 13
# Then where one may start: a card's first digit is never glued to a letter, a digit or "_" (``card_8841…``, an id).
_CARD_START = re.compile(r"(?<![0-9A-Za-z_])[0-9](?:[ \t\r\n./-]{0,3}[0-9]){12}")
# The characters _BASE64_TEXT matches: a match lies inside a run of 20 or more of them.
_BASE64_CLASS = bytes(97 if chr(byte).isascii() and (chr(byte).isalnum() or chr(byte) in "+/_-") else 32
                      for byte in range(256))
_BASE64_RUN = b"a" * 20


def message_unchanged(text: str) -> bool:
    """True only when ``redact_message(text) == text`` is certain without running it (~20x faster on a recorded
    interaction's JSON); False means "run it". The parse cache asks this of every document of a cassette's first
    read and redacts only the few it cannot clear.

    Sound by construction: each test is a necessary condition of a rule of redact_message changing anything.
    Non-ASCII text (format characters, digits of other scripts, case folding) is never cleared. Without
    ``% + & =`` and ``\\u \\x \\U \\/ \\\\`` no escape, percent-encoding, character reference, UTF-7,
    quoted-printable, form or multipart part is read, and base64 only where ``_BASE64_TEXT`` finds a run. A field's
    value is replaced only under its name (``cvc``, ``card[cvc]``: with nothing decoded, a whole word), unless the
    value is a marker already. A URL's user part needs ``@`` and ``://``; a key, a webhook or client secret, a
    credential after its scheme each start with a literal; a card number is 13 digits apart only by separators,
    the first not glued to a letter, a digit or ``_``.
    A property test (tests/unit/test_cache_fast_path.py) holds it to redact_message on adversarial input: a rule
    added to redact_message needs its condition here.
    """
    if not text.isascii() or any(sign in text for sign in _ENCODING_SIGNS) or ("@" in text and "://" in text):
        return False
    if "\\" in text and _ESCAPE_SIGN.search(text):
        return False
    if _KEY_SIGN.search(text) or "whsec_" in text or ("_secret_" in text and _CLIENT_SECRET.search(text)):
        return False
    lowered = text.lower()
    if any(sign.search(lowered) for sign in _SCHEME_SIGNS) or _field_word(text, lowered):
        return False
    data = text.encode("ascii")
    if _THIRTEEN_DIGITS in data.translate(_DIGIT_CLASS, _CARD_SEPARATORS) and _CARD_START.search(text):
        return False
    return len(text) < 20 or not _base64_text_in_runs(text, data.translate(_BASE64_CLASS))


def _field_word(text: str, lowered: str) -> bool:
    """Whether a secret field's name (of REQUEST_FIELDS, redact_message's) stands as a whole word in ``lowered``
    (``text`` lowered) where a rule could replace its value."""
    for name in REQUEST_FIELDS:
        at = lowered.find(name)
        while at >= 0:
            end = at + len(name)
            if (at == 0 or lowered[at - 1] not in _WORD) and (end == len(lowered) or lowered[end] not in _WORD) \
                    and not _marked(text, at, end, name):
                return True
            at = lowered.find(name, at + 1)
    return False


# A JSON key's value that is a marker (``"cvc":"[REDACTED:cvc]"``), as json.dumps writes it, compact.
_MARKED_VALUE = re.compile(r'":"\[REDACTED:[a-z0-9_:-]+\]"')


def _marked(text: str, at: int, end: int, name: str) -> bool:
    """Whether the field name at ``text[at:end]`` is one the redaction leaves alone: a JSON key whose value is a
    marker (a marker is never replaced), or a word inside a marker (``[REDACTED:cvc]``,
    ``[REDACTED:card-number:visa-4242]``: read as ``number: visa-4242``, too few digits for a card's)."""
    if _MARKED_VALUE.match(text, end):
        return True
    start = text.rfind("[REDACTED:", 0, at)
    found = _MARKER.match(text, start) if start >= 0 and at >= start + len("[REDACTED:") else None
    if found is None or found.end() <= end:
        return False
    if text[end] == "]":
        return True
    tail = text[end:found.end()]
    return name == "number" and tail.startswith(":") and sum(c.isdigit() for c in tail) < 12


def _base64_text_in_runs(text: str, classes: bytes) -> bool:
    """``_BASE64_TEXT.search(text)``, searched only in the runs of its characters long enough to hold a match
    (``classes``: each character of the run as "a"); the character before a run is none of them, so its
    look-behind reads the same as in the whole text."""
    at = classes.find(_BASE64_RUN)
    while at >= 0:
        start, end = classes.rfind(b" ", 0, at) + 1, classes.find(b" ", at)
        end = len(classes) if end < 0 else end
        if _BASE64_TEXT.search(text, start, end):
            return True
        at = classes.find(_BASE64_RUN, end)
    return False


# An escape of one character as Python, JSON and YAML quote it: ``\u2064``, ``\U000e0041``, ``\xad``.
_ESCAPED_INVISIBLE = re.compile(r"\\(?:u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|x[0-9A-Fa-f]{2})")


def _is_invisible(escape: str) -> bool:
    """Whether an escape stands for a format character (Unicode category Cf: zero-width, joiners, tags)."""
    try:
        return unicodedata.category(chr(int(escape[2:], 16))) == "Cf"
    except ValueError:
        return False


# A field quoted as YAML or an assignment writes it (``cvc: '739'``, ``- cvc: 739``, ``card[cvc] = 739``): a
# malformed cassette's error line quotes such lines.
_NAMED_VALUE = re.compile(r"""(?<![\w\[\]])(['"]?)(?P<name>[A-Za-z_][\w]*(?:\[[^\]\s]*\])*)\1(\s*[:=]\s*)"""
                          r"""(?P<value>[0-9](?:[0-9]|[ -](?=[0-9])){11,}|\\?'[^'\n]*'|\\?"[^"\n]*"|[^\s,;'"{}\[\]\\]+)""")
_QUOTES = re.compile(r"""^(\\?['"]?)(.*?)(\\?['"]?)$""", re.DOTALL)


def _named_value(match: re.Match[str], redactor: Redactor) -> str:
    """A secret field's value as the marker; ``number`` only when it has a card's digits (a line or an
    interaction has a number too)."""
    what = redactor._field(forms.field_name(match.group("name")), REQUEST_FIELDS)
    opening, value, closing = _QUOTES.fullmatch(match.group("value")).groups()  # type: ignore[union-attr]
    if not what or not value or value.startswith("[REDACTED:"):
        return match.group(0)
    if what == "card-number" and sum(c.isdigit() for c in value) < 12:
        return match.group(0)
    head = match.group(0)[: match.start("value") - match.start()]
    return f"{head}{opening}{redactor.field_marker(what, value)}{closing}"


# A key=value pair quoted in a message (``'card[cvc]=123'``): its field by name, as in a form.
_FORM_PAIR = re.compile(r"[^\s&='\"]+=[^\s&'\"]*(?:&[^\s&='\"]+=[^\s&'\"]*)*")


# The user part of a URL (``http://user:password@host``, ``https://sk_live_…@api.stripe.com``): a credential.
# Up to the last "@" before the path, as URL parsers split it: ``http://user:p@ss@host`` hides "p@ss" whole.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#\s]+@")
# A hex dump (mitmproxy logs the bytes of a ClientHello it cannot parse as hex): 8 bytes or more.
# Bytes may be written apart, by spaces, colons or dashes (``73 6b 5f``, ``73:6b:5f``, xxd's ``736b 5f6c``).
_HEX_RUN = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{16,}(?![0-9A-Fa-f])"
                      r"|(?<![0-9A-Za-z:-])[0-9A-Fa-f]{2}(?:(?:[ :-]{1,2}|)[0-9A-Fa-f]{2}){7,}(?![0-9A-Za-z])")
_HEX_SEPARATORS = re.compile(r"[ :-]")


def without_credentials(text: str) -> str:
    """``text`` with the user part of every URL in it replaced by a marker: never print a URL's password."""
    return _URL_CREDENTIALS.sub(lambda match: f"{match.group(1)}{marker('credentials')}@", text)


def _hex_run(run: str, redactor: Redactor) -> str:
    """A hex dump as it is, or a marker when the bytes it spells hold a secret (as text, or as UTF-16's
    NUL-interleaved text), read from either digit in case the dump was cut mid-byte."""
    compact = _HEX_SEPARATORS.sub("", run)
    for start in (0, 1):
        even = compact[start:start + (len(compact) - start) // 2 * 2]
        text = bytes.fromhex(even).decode("latin-1")
        for reading in (text, text.replace("\x00", "")):
            if redactor.text(reading) != reading:
                return marker("hex")
    return run


def relayed(line: str, redactor: Redactor) -> str:
    """A line of mitmdump's output as it may reach the terminal: redacted (as the recording is) and, beyond what
    the redactor reads, no URL credentials and no hex dump of a secret."""
    line = without_credentials(line)
    if _HEX_RUN.search(line):  # before the patterns, which may read digits of a dump as a card number
        line = _HEX_RUN.sub(lambda match: _hex_run(match.group(0), redactor), line)
    return redactor.text(line)
