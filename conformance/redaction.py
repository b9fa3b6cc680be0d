"""Redaction: secrets are replaced by a fixed marker before anything is written or printed.

A marker says what was removed (``[REDACTED:sk_test]``, ``[REDACTED:card-number]``),
so a cassette still tells a reviewer that the request carried a test key or a card
number, never which one. Two kinds of rules apply:

* value patterns, applied to every string (keys, values, headers, paths, log lines):
  Stripe secret and restricted keys, webhook secrets, client secrets, and digit runs
  of 13-19 digits that pass the Luhn check (card numbers);
* field names, whose whole value is replaced: ``number`` and ``cvc`` in requests,
  ``client_secret`` in responses, plus any the user adds.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = ["Redactor", "marker", "luhn_valid"]

_KEY = r"(?<![0-9A-Za-z])(?P<key>(?P<kprefix>sk|rk)_(?P<kmode>test|live)_[0-9A-Za-z_*]+|(?P<gprefix>sk|rk)_[0-9A-Za-z]{16,})"
_WHSEC = r"(?<![0-9A-Za-z])(?P<whsec>whsec_[0-9A-Za-z+/=_]+)"
_CLIENT_SECRET = r"(?<![0-9A-Za-z])(?P<client_secret>[a-z]+_[0-9A-Za-z]+_secret_[0-9A-Za-z]+)"
_CARD = r"(?<![0-9A-Za-z])(?P<card>\d(?:[ -]?\d){12,18})(?![0-9A-Za-z])"
_BUILTIN_PATTERNS = "|".join([_KEY, _WHSEC, _CLIENT_SECRET, _CARD])

REQUEST_FIELDS = {"number": "card-number", "cvc": "cvc", "cvv": "cvc"}
RESPONSE_FIELDS = {"client_secret": "client_secret"}
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}


def marker(what: str) -> str:
    return f"[REDACTED:{what}]"


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


def _looks_like_card(text: str) -> bool:
    digits = text.replace(" ", "").replace("-", "")
    return 13 <= len(digits) <= 19 and luhn_valid(digits)


class Redactor:
    """Applies the built-in rules plus user-supplied field names and regular expressions."""

    def __init__(self, fields: Iterable[str] = (), patterns: Iterable[str] = ()) -> None:
        self.extra_fields = {f.lower() for f in fields if f}
        self.extra_patterns = [re.compile(p) for p in patterns if p]
        self._builtin = re.compile(_BUILTIN_PATTERNS)

    # -- strings ---------------------------------------------------------------------
    def text(self, value: str) -> str:
        """Redact every secret found inside a string."""
        value = self._builtin.sub(self._replace, value)
        for pattern in self.extra_patterns:
            value = pattern.sub(marker("pattern"), value)
        return value

    def _replace(self, match: re.Match[str]) -> str:
        kind = self._kind(match)
        return marker(kind) if kind else match.group(0)

    def _kind(self, match: re.Match[str]) -> str | None:
        """What a match of the built-in patterns is, or None for a digit run that is no card."""
        if match.group("key"):
            if match.group("kprefix"):
                return f"{match.group('kprefix')}_{match.group('kmode')}"
            return f"{match.group('gprefix')}_key"
        if match.group("whsec"):
            return "whsec"
        if match.group("client_secret"):
            return "client_secret"
        return "card-number" if _looks_like_card(match.group("card")) else None

    def _credential_kind(self, credential: str, default: str) -> str:
        match = self._builtin.fullmatch(credential.strip())
        return (self._kind(match) if match else None) or default

    # -- structures ------------------------------------------------------------------
    def data(self, value: Any, fields: Mapping[str, str] = {}) -> Any:
        """Redact decoded JSON/form data: whole values of secret fields, patterns everywhere."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                name = self.text(key) if isinstance(key, str) else key
                what = self._field(key, fields)
                if what and item not in (None, "", {}, []):
                    out[name] = marker(what)
                else:
                    out[name] = self.data(item, fields)
            return out
        if isinstance(value, list):
            return [self.data(item, fields) for item in value]
        return value

    def request_data(self, value: Any) -> Any:
        return self.data(value, REQUEST_FIELDS)

    def response_data(self, value: Any) -> Any:
        return self.data(value, RESPONSE_FIELDS)

    def _field(self, key: Any, fields: Mapping[str, str]) -> str | None:
        if not isinstance(key, str):
            return None
        lowered = key.lower()
        if lowered in self.extra_fields:
            return lowered
        return fields.get(lowered)

    def header(self, name: str, value: str) -> str:
        lowered = name.lower()
        if lowered in ("authorization", "proxy-authorization"):
            return self._authorization(value)
        if lowered in _SECRET_HEADERS or lowered in self.extra_fields:
            return marker(lowered)
        return self.text(value)

    def _authorization(self, value: str) -> str:
        scheme, _, credentials = value.strip().partition(" ")
        if scheme.lower() == "basic":
            try:
                user = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")[0]
            except (binascii.Error, UnicodeDecodeError):
                user = ""
            return f"Basic {marker(self._credential_kind(user, 'credentials'))}"
        if scheme.lower() == "bearer":
            return f"Bearer {marker(self._credential_kind(credentials, 'token'))}"
        return marker("authorization")
