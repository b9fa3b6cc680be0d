"""Secrets written in every encoding a value can take, and a reader that decodes them all: the leak oracle of the
adversarial tests (an encoded secret that any of these readings reveals is a leak)."""

from __future__ import annotations

import base64
import html
import re
import secrets
import warnings
from collections.abc import Callable
from urllib.parse import quote_plus, unquote


def _pct(text: str) -> str:
    return "".join(c if c.isalnum() else f"%{ord(c):02X}" for c in text)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "plain": lambda s: s,
    "percent": _pct,
    "percent-every-character": lambda s: "".join(f"%{ord(c):02X}" for c in s),
    "percent-twice": lambda s: _pct(s).replace("%", "%25"),
    "percent-three-times": lambda s: _pct(s).replace("%", "%2525"),
    # a card number in groups, a key between spaces: quote_plus writes each space as "+"
    "plus-for-space": lambda s: quote_plus(" ".join(s[i:i + 4] for i in range(0, len(s), 4)) if s.isdigit()
                                           else f" {s} "),
    "json-escape": lambda s: "".join(f"\\u{ord(c):04x}" if not c.isalpha() else c for c in s),
    "html-entity": lambda s: "".join(f"&#{ord(c)};" if not c.isalnum() else c for c in s),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-url-unpadded": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "base64-of-percent": lambda s: base64.b64encode(_pct(s).encode()).decode(),
}


def some_secrets() -> dict[str, str]:
    core = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789") for _ in range(28))
    return {"sk_live": f"sk_live_51{core}", "rk_test": f"rk_test_{core[::-1]}", "whsec": f"whsec_{core[3:]}X",
            "client_secret": f"pi_{core[:10]}_secret_{core[10:]}", "card": "4000056655665556"}


def views(text: str) -> list[str]:
    """``text`` and every reading of it a reader could decode: percent layers, escapes, base64 runs."""
    found = [text]
    layer = text
    with warnings.catch_warnings():  # "\<" and the like are no escape: kept as they are
        warnings.simplefilter("ignore", DeprecationWarning)
        for _ in range(4):
            layer = unquote(html.unescape(layer.replace("\\\\u", "\\u").encode("latin-1", "replace")
                                          .decode("unicode_escape", "replace")))
            found.append(layer)
    for run in re.findall(r"[A-Za-z0-9+/_-]{16,}={0,2}", text):
        for alt in (None, b"-_"):
            try:
                found.append(unquote(base64.b64decode(run + "=" * (-len(run) % 4), altchars=alt).decode("latin-1")))
            except ValueError:
                pass
    return found


def leaks(text: str, secret: str) -> bool:
    tail = secret[-16:]
    grouped = secret.isdigit()  # a card number may come back in groups
    return any(tail in view or (grouped and secret in view.replace(" ", "").replace("+", "")) for view in views(text))


def _undo(data: bytes) -> list[bytes]:
    """``data`` and what each content-coding it may be in gives (stdlib, brotli, zstandard), up to four layers
    deep, leniently: the oracle's own decoding, independent of the recorder's."""
    import zlib

    import brotli
    import zstandard

    found, frontier = [data], [data]
    for _ in range(4):
        layer = []
        for item in frontier:
            for decode in (lambda b: zlib.decompressobj(47).decompress(b), lambda b: zlib.decompressobj(-15).decompress(b),
                           brotli.decompress, lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b)):
                try:
                    out = decode(item)
                except Exception:
                    continue
                if out and out not in found:
                    layer.append(out)
        found += layer
        frontier = layer
    return found


CHARSETS = ("utf-8", "latin-1", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp500", "cp037")


def byte_views(data: bytes) -> list[str]:
    """Every text a reader could make of bytes: each content-coding undone, each charset tried, NULs dropped."""
    found = []
    for layer in _undo(data):
        for charset in CHARSETS:
            width = 4 if "32" in charset else 2 if "16" in charset else 1
            for start in range(width):
                chunk = layer[start:]
                text = chunk[: len(chunk) // width * width].decode(charset, "replace").replace("\x00", "")
                found.append(text)
    return found
