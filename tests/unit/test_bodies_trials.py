"""What a body reads as: a decoding is kept only when it reads the bytes to their end and gives text.

Random bytes are no compressed stream, yet raw deflate or brotli often decodes a few bytes of them before it
stops ("I" from 329 bytes of an image): that output is neither the body as sent nor its digest, and a cassette
must hold one of those two.
"""

from __future__ import annotations

import gzip
import json
import random
import zlib

import pytest

from conformance.cassette import bodies
from conformance.cassette.bodies import read_body
from conformance.cassette.exchange import stored_body
from conformance.redaction import Redactor

KEY = "sk_live_" + "a1B2c3D4e5F6g7H8i9J0k1L2"
BODY = json.dumps({"key": KEY, "card": "4242424242424242", "pad": "z" * 200}).encode()


def _random_body(seed: int) -> bytes:
    return random.Random(seed).randbytes(random.Random(seed).randint(20, 400))


# seeds of random bodies that raw deflate (198, 275, 461, 1015, 1266) or brotli (336) once decoded in part
@pytest.mark.parametrize("seed", [198, 275, 336, 461, 1015, 1266])
def test_random_bytes_are_no_coding_and_are_stored_as_their_digest(seed):
    content = _random_body(seed)
    reading = read_body(content, "image/png")
    assert reading.codings == () and reading.content == content
    body, _ = stored_body(content, "image/png", Redactor(), request=False)
    assert body is not None and body.kind == "text" and body.value.startswith("[NOT RECORDED: it reads as no text")
    assert f"{len(content)} bytes" in body.value


def test_bytes_before_a_gzip_stream_make_it_no_gzip_even_when_declared():
    for mtime in range(40):  # whatever the header's bytes, no trial reads part of it as text
        content = b"\x00\x01" + gzip.compress(BODY, mtime=mtime)
        reading = read_body(content, "application/json", "gzip")
        assert reading.text is None and reading.codings == (), mtime
        body, _ = stored_body(content, "application/json", Redactor(), request=False, content_encoding="gzip")
        assert body is not None and body.value.startswith("[NOT RECORDED"), (mtime, body)


@pytest.mark.parametrize("junk, read", [(b"", True), (b"\n", True), (b"\x00" * 8, True), (b"\x00" * 9, False),
                                        (b"<html>garbage after the stream</html>", False)])
def test_a_stream_is_kept_only_when_read_to_its_end(junk, read):
    content = gzip.compress(BODY, mtime=0) + junk
    reading = read_body(content, "application/json", "gzip")
    assert (reading.text == BODY.decode()) is read
    if not read:
        body, _ = stored_body(content, "application/json", Redactor(), request=False, content_encoding="gzip")
        assert body is not None and body.value.startswith("[NOT RECORDED")


def test_a_cut_off_stream_and_a_bad_crc_still_show_what_they_hold():
    coded = gzip.compress(BODY, mtime=0)
    cut = read_body(coded[:-30], "application/json", "gzip").text
    assert cut and BODY.decode().startswith(cut) and KEY in cut
    bad_crc = coded[:-8] + b"\xde\xad\xbe\xef" + coded[-4:]
    assert read_body(bad_crc, "application/json", "gzip").text == BODY.decode()


def test_a_stream_broken_in_the_middle_is_not_read_in_part():
    coded = bytearray(zlib.compress(BODY))
    coded[20:28] = b"\xff" * 8
    reading = read_body(bytes(coded), "application/json", "deflate")
    assert reading.codings == ()
    body, _ = stored_body(bytes(coded), "application/json", Redactor(), request=False, content_encoding="deflate")
    assert body is not None and body.value.startswith("[NOT RECORDED")


def test_text_mislabelled_as_compressed_is_read_as_the_text_it_is():
    for coding in ("deflate", "br", "gzip", "zstd"):
        reading = read_body(BODY, "application/json", coding)
        assert reading.text == BODY.decode() and reading.codings == (), coding


def test_a_trial_decoding_is_kept_when_it_leads_to_text():
    encoder = zlib.compressobj(wbits=-15)
    raw = encoder.compress(BODY) + encoder.flush()
    assert read_body(raw, "application/json").text == BODY.decode()
    encoder = zlib.compressobj(wbits=-15)
    utf16 = encoder.compress(BODY.decode().encode("utf-16-le")) + encoder.flush()
    assert read_body(utf16, "application/json").text == BODY.decode()
    encoder = zlib.compressobj(wbits=-15)
    ebcdic = encoder.compress(BODY.decode().encode("cp500")) + encoder.flush()
    assert read_body(ebcdic, "application/json; charset=cp500").text == BODY.decode()


def test_only_what_others_use_is_exported():
    assert "undo_codings" not in bodies.__all__ and "MAX_DECODED" not in bodies.__all__
    assert all(hasattr(bodies, name) for name in bodies.__all__)


def test_random_bytes_behind_a_magic_or_a_declared_coding_are_kept_as_sent():
    """(A few random bytes after a gzip header can be a cut-off stream of "4": 2 in 200 bodies of 11 bytes are; from
    40 bytes on, none in 5,000.)"""
    for seed in range(300):
        rng = random.Random(seed)
        content = rng.choice([b"\x1f\x8b\x08\x00", b"\x28\xb5\x2f\xfd", b""]) + rng.randbytes(rng.randint(40, 400))
        for coding in ("", "br", "gzip", "deflate", "zstd"):
            reading = read_body(content, "image/png", coding)
            assert reading.content == content and reading.codings == (), (seed, coding, reading)


def test_a_compressed_multipart_upload_with_a_binary_file_is_still_read_part_by_part():
    upload = (b"--B\r\nContent-Disposition: form-data; name=\"card[cvc]\"\r\n\r\n739\r\n--B\r\n"
              b"Content-Disposition: form-data; name=\"f\"; filename=\"a.png\"\r\nContent-Type: image/png\r\n\r\n"
              + random.Random(1).randbytes(2000) + b"\r\n--B--\r\n")
    body, _ = stored_body(gzip.compress(upload), "multipart/form-data; boundary=B", Redactor(), request=True,
                          content_encoding="gzip")
    assert body is not None and body.kind == "multipart"
    assert body.value["parts"][0]["text"] == "[REDACTED:cvc]" and "sha256" in body.value["parts"][1]
