"""Bodies in every content-coding stack and charset, through a real recorder: no secret reaches the cassette.

`conformance record` (mitmdump with the recorder addon) sits between httpx and an upstream this test starts on
127.0.0.1. The upstream answers each request with a secret in a body coded as the request's path says: codings
declared or not, stacked, cut off, with a bad CRC; charsets declared, with a BOM, UTF-16/32 without one, EBCDIC.
The client sends request bodies the same ways. Every reading of the cassette — the file, percent-decoded, a
base64 body with every coding undone and read in every charset — must hold none of the secrets, and `check` must
load it and find nothing unredacted (the recorder and its linter agree).
"""

from __future__ import annotations

import base64
import gzip
import json
import random
import subprocess
import sys
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import quote, unquote_plus

import brotli
import httpx
import pytest
import zstandard

from conformance.cassette import load

from ..leaks import byte_views, leaks

CORE = "Hq7LyjWDarjtT1zdp7dcQx9Z"
SECRETS = {
    "sk_live": "sk_live_51" + CORE,
    "rk_live": "rk_live_" + CORE[::-1],
    "whsec": "whsec_" + CORE,
    "client_secret": "pi_3NaBcD_secret_" + CORE,
    "customer_session": "cuss_secret_" + CORE,
    "ephemeral_key": "ek_live_" + CORE,
    "card": "4000056655665556",
    "card-split": "4000.0566.5566.5556",
    "card-fullwidth": "".join(chr(0xFF10 + int(d)) for d in "5105105105105100"),
    "password": "Tr0ub4dor&3-horse-battery",
}


def _raw_deflate(data: bytes) -> bytes:
    encoder = zlib.compressobj(wbits=-15)
    return encoder.compress(data) + encoder.flush()


def _gzip(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


CODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gzip, "x-gzip": _gzip, "deflate": zlib.compress, "deflate-raw": _raw_deflate, "br": brotli.compress,
    "zstd": zstandard.ZstdCompressor().compress, "identity": lambda data: data,
}
# (Content-Encoding as sent, the codings applied first to last, what is done to the bytes after)
CODINGS: list[tuple[str, list[str], str]] = [
    ("gzip", ["gzip"], ""), ("x-gzip", ["x-gzip"], ""), ("deflate", ["deflate"], ""),
    ("deflate", ["deflate-raw"], ""), ("br", ["br"], ""), ("zstd", ["zstd"], ""),
    ("gzip, gzip", ["gzip", "gzip"], ""), ("identity, gzip", ["gzip"], ""), ("br, gzip", ["br", "gzip"], ""),
    ("gzip, br", ["gzip", "br"], ""), ("zstd, gzip", ["zstd", "gzip"], ""), ("deflate, zstd", ["deflate", "zstd"], ""),
    ("", ["gzip"], ""), ("", ["br"], ""), ("", ["zstd"], ""), ("", ["gzip", "gzip", "gzip"], ""),
    ("x-custom", ["gzip"], ""), ("gzip", ["gzip"], "truncate"), ("gzip", ["gzip"], "bad-crc"),
    ("", ["gzip"], "truncate"), ("x-gzip, gzip", ["gzip", "gzip"], "bad-crc"), ("compress", ["gzip"], ""),
]
# (codec, the charset declared or "" for none)
CHARSETS: list[tuple[str, str]] = [
    ("utf-16", ""), ("utf-16-le", ""), ("utf-16-be", ""), ("utf-16-be", "utf-16be"), ("utf-32", ""),
    ("utf-32-be", ""), ("utf-32-le", "utf-32le"), ("cp500", "cp500"), ("cp037", "IBM037"), ("latin-1", "iso-8859-1"),
    ("utf-8-sig", ""), ("shift_jis", "shift_jis"), ("cp1252", "windows-1252"), ("utf-16", "utf-16"),
]


def _body(kind: str, shape: str) -> tuple[str, str]:
    """(text holding the secret of ``kind`` as ``shape`` writes it, its media type); 200 bytes after it, which a
    cut-off stream may lose instead of the secret. A password goes under its field name, any other secret under
    the card number's."""
    secret, pad = SECRETS[kind], "z" * 200
    field = "password" if kind == "password" else "number"
    if shape == "json-error":
        return json.dumps({"error": {"message": f"Invalid API Key provided: {secret}"}, "pad": pad}), "application/json"
    if shape == "json-escaped-field":  # field names written with escapes
        escaped = field.replace("u", "\\u0075").replace("a", "\\u0061")
        return ('{"card": {"' + escaped + '": "' + secret + '", "c\\u0076c": "739"}, "pad": "' + pad + '"}',
                "application/json")
    if shape == "form":
        return f"card[{field}]={quote(secret)}&card[cvc][]=739&pad={pad}", "application/x-www-form-urlencoded"
    if shape == "form-latin1-escape":  # one percent-escape that is not UTF-8
        return (f"name=Ren%E9&card[cvc][0]=739&card[{field}]={quote(secret)}&pad={pad}",
                "application/x-www-form-urlencoded")
    if shape == "html":
        return f"<p>authorization: bearer {secret}</p><!-- {pad} -->", "text/html"
    return f"key: {secret}\n{pad}", "text/plain"


def encoded(text: str, codec: str, declared: str, media: str, encoding: str, stack: list[str],
            damage: str) -> tuple[bytes, dict[str, str]]:
    data = text.encode(codec, "xmlcharrefreplace" if codec in ("cp500", "cp037", "latin-1", "cp1252") else "strict")
    for name in stack:
        data = CODERS[name](data)
    if damage == "truncate":
        data = data[:-6]
    elif damage == "bad-crc":
        data = data[:-8] + b"\xde\xad\xbe\xef" + data[-4:]
    headers = {"Content-Type": f"{media}; charset={declared}" if declared else media}
    if encoding:
        headers["Content-Encoding"] = encoding
    return data, headers


def variants(seed: int = 35) -> Iterator[tuple[str, str, str, str, list[str], str, str]]:
    """(secret kind, shape, codec, declared charset, Content-Encoding, codings, damage) of each exchange: every
    coding with every secret, every charset with every secret, and coding-and-charset pairs drawn at random."""
    rng = random.Random(seed)
    fielded = ["json-escaped-field", "form", "form-latin1-escape"]
    shapes = ["json-error", "html", "text", *fielded]

    def shape(kind: str) -> str:
        return rng.choice(fielded if kind == "password" else shapes)  # a password is known by its field only

    for kind in SECRETS:
        for encoding, stack, damage in CODINGS:
            yield kind, shape(kind), "utf-8", "", encoding, stack, damage
        for codec, declared in CHARSETS:
            yield kind, shape(kind), codec, declared, "", [], ""
    for _ in range(60):
        encoding, stack, damage = rng.choice(CODINGS)
        codec, declared = rng.choice(CHARSETS)
        kind = rng.choice(list(SECRETS))
        yield kind, shape(kind), codec, declared, encoding, stack, damage


VARIANTS = list(variants())


class Upstream(BaseHTTPRequestHandler):
    """Answers /v1/variant/N with variant N's body, coded as it says."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        number = int(self.path.rstrip("/").rsplit("/", 1)[-1])
        kind, shape, codec, declared, encoding, stack, damage = VARIANTS[number]
        text, media = _body(kind, shape)
        body, headers = encoded(text, codec, declared, media, encoding, stack, damage)
        self.send_response(402)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Upstream)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _readings(path) -> list[str]:
    text = path.read_text(encoding="utf-8")
    found = [text, unquote_plus(text)]
    for interaction in load(path).interactions:
        for body in (interaction.request.body, interaction.response.body):
            if body is not None and body.kind == "base64":
                found += byte_views(base64.b64decode(body.value))
    return found


def _leaked(views: list[str]) -> list[str]:
    found = []
    for kind, secret in SECRETS.items():
        plain = "".join(chr(ord(c) - 0xFF10 + 48) if "\uff10" <= c <= "\uff19" else c for c in secret)
        digits = plain.replace(".", "")
        for view in views:
            ascii_view = "".join(chr(ord(c) - 0xFF10 + 48) if "\uff10" <= c <= "\uff19" else c for c in view)
            if leaks(view, secret) or (digits.isdigit() and digits in ascii_view.replace(".", "").replace(" ", "")) \
                    or (kind == "password" and (secret in view or quote(secret) in view)):
                found.append(f"{kind}: {view[:200]!r}")
                break
    cvc_views = [view for view in views if "739" in view]
    found += [f"cvc: {view[:200]!r}" for view in cvc_views if "c\\u0076c\": \"739" in view or "cvc]=739" in view
              or "cvc][]=739" in view or "cvc][0]=739" in view or '"cvc": "739"' in view]
    return found


def test_no_secret_survives_a_coding_or_charset_in_a_real_recording(cli, upstream, tmp_path):
    path = tmp_path / "codings.yaml"
    recorder = cli("record", "--upstream", upstream, "--cassette", path, "--redact-field", "password")
    address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)", timeout=60).group(1)

    def send(number: int) -> int:
        """Variant ``number``; the request carries its body too: the same codings and charsets, client to server."""
        kind, shape, codec, declared, encoding, stack, damage = VARIANTS[number]
        text, media = _body(kind, shape)
        content, headers = encoded(text, codec, declared, media, encoding, stack, damage)
        with http.stream("POST", f"/v1/variant/{number}", content=content, headers=headers) as answer:
            b"".join(answer.iter_raw())
            return answer.status_code

    with httpx.Client(base_url=address, timeout=30) as http, ThreadPoolExecutor(max_workers=4) as pool:
        # four at a time: the client and upstream (this process) work while mitmdump records
        statuses = list(pool.map(send, range(len(VARIANTS))))
    assert statuses == [402] * len(VARIANTS)
    assert recorder.interrupt() == 0, recorder.text
    recorded = sorted(load(path).interactions, key=lambda i: int(i.request.path.rsplit("/", 1)[-1]))
    assert [i.request.path for i in recorded] == [f"/v1/variant/{number}" for number in range(len(VARIANTS))]
    assert _leaked(_readings(path)) == []
    assert _leaked([recorder.text]) == []
    checked = subprocess.run([sys.executable, "-m", "conformance", "check", str(path)], capture_output=True,
                             text=True, timeout=120)
    assert "unredacted" not in checked.stdout and "Traceback" not in checked.stdout + checked.stderr, checked.stdout
    # what the redactor could read is stored read, not as a digest: every declared or self-evident charset, every
    # coding it can undo
    unread = [i for i, (_, _, codec, declared, _, _, _) in zip(recorded, VARIANTS)
              if "[NOT RECORDED" in str(i.response.body.value)
              and (declared or codec in ("utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-be",
                                         "utf-8-sig"))]
    assert unread == []
