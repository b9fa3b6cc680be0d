"""What a body reads as, for redaction: every content-coding undone, then its charset applied.

Redaction matches text; a secret inside bytes it does not read as a client would (``x-gzip``, ``gzip, gzip``,
a truncated gzip, gzip sent with no ``Content-Encoding``, UTF-16 without a BOM, EBCDIC) slips past every
pattern. So every writer (the recorder, ``import``, and ``check``'s redaction of a stored interaction) reads a
body through :func:`read_body` first:

* content-codings — the declared ones, innermost last, then whatever the bytes still are by their magic
  (gzip, zlib, zstd), then a trial of brotli and raw deflate for bytes that are no text — are undone
  leniently: a truncated stream or a bad checksum gives what could be decoded, as a browser shows it;
* the text is read in the charset a reader would use: a byte-order mark, the declared charset (any codec
  Python knows: UTF-16/32, cp500/cp037…), NUL-interleaved UTF-16/UTF-32, UTF-8, and Latin-1 for bytes that
  read as text in it. The redacted text, written back in that charset, is read in the others too
  (:func:`rereadings`): a charset that lies (ASCII declared UTF-16) does not hide a secret.

A body that is still no text after that (an image, a PDF, an encrypted or unknown coding) is never written as
its bytes: the writer stores its SHA-256 and size instead (:func:`unreadable_marker`), as for a binary file in
a multipart upload.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Reading", "read_body", "rereadings", "unreadable_marker", "charset_of"]

# A body decoded past this size is a decompression bomb, not an API's answer: it is stored as a digest.
MAX_DECODED = 32 * 1024 * 1024
_MAX_LAYERS = 8  # gzip of gzip of … eight deep is no client's mistake
_CHUNK = 64 * 1024

_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
# C0 controls other than tab, line feed, form feed and carriage return, and DEL: binary, not text.
_BINARY = re.compile(rb"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_TEXT_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_CHARSET = re.compile(r"""charset\s*=\s*["']?([^"';\s]+)""", re.IGNORECASE)
_UTF8 = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
# byte-order marks, the longest first: UTF-32LE's starts with UTF-16LE's
_BOMS = ((codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"), (codecs.BOM_UTF8, "utf-8-sig"),
         (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
# readings tried besides the one chosen, so bytes that show a secret any of these ways are caught
_OTHER_CODECS = ("utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "cp500", "cp037", "latin-1")


class _TooLarge(Exception):
    pass


@dataclass(frozen=True)
class Reading:
    """A body as a reader sees it."""

    content: bytes  # the bytes with every content-coding undone that could be
    text: str | None  # the text a reader reads; None: no text (binary, or a coding that could not be undone)
    charset: str = "utf-8"  # the codec ``text`` was read with
    codings: tuple[str, ...] = ()  # what was undone, outermost first
    plain: bool = True  # UTF-8 as sent: no coding undone, no other charset to weigh

    @property
    def utf8(self) -> bool:
        """Whether the bytes are the text's UTF-8: stored as they are."""
        return self.charset in _UTF8


def charset_of(content_type: str) -> str:
    """The charset a ``Content-Type`` declares, lowercased; "" when none."""
    found = _CHARSET.search(content_type)
    return found.group(1).lower() if found else ""


# -- content-codings -------------------------------------------------------------------------------------------
class _Undecodable(Exception):
    """The bytes are not in the coding tried: an error before their end, or more than a trailer left after it."""


# What a stream may leave unread: a zlib stream's Adler-32, a gzip trailer cut or padded. More left over means the
# decoder stopped early on bytes that are something else (329 random bytes read as "I" by raw deflate).
_SLACK = 8


def _inflate(data: bytes, wbits: int) -> tuple[bytes, bytes]:
    """(what a zlib stream of ``wbits`` decodes to, the bytes after it), leniently: a truncated stream gives what
    was decoded before its end (a bad checksum is never checked: the callers inflate raw deflate). Raises
    ``_Undecodable`` on bytes that are no such stream."""
    decoder = zlib.decompressobj(wbits)
    out = bytearray()
    for start in range(0, len(data), _CHUNK):
        try:
            out += decoder.decompress(data[start:start + _CHUNK], MAX_DECODED + 1 - len(out))
        except zlib.error:
            raise _Undecodable from None
        if len(out) > MAX_DECODED or decoder.unconsumed_tail:
            raise _TooLarge
        if decoder.eof:
            return bytes(out), decoder.unused_data + data[start + _CHUNK:]
    try:
        out += decoder.flush()
    except zlib.error:
        raise _Undecodable from None
    return bytes(out), b""


def _gzip_header_length(data: bytes) -> int | None:
    """The length of a gzip member's header (RFC 1952), or None when ``data`` starts no gzip member."""
    if len(data) < 10 or not data.startswith(_GZIP_MAGIC) or data[2] != 8:
        return None
    flags, position = data[3], 10
    if flags & 4:  # FEXTRA
        if len(data) < position + 2:
            return None
        position += 2 + struct.unpack("<H", data[position:position + 2])[0]
    for flag in (8, 16):  # FNAME, FCOMMENT: zero-terminated
        if flags & flag:
            end = data.find(b"\x00", position)
            if end < 0:
                return None
            position = end + 1
    if flags & 2:  # FHCRC
        position += 2
    return position if position <= len(data) else None


def _gunzip(data: bytes) -> bytes:
    """Every gzip member of ``data``, inflated as raw deflate: the CRC and size trailers are not held against
    the content (a bad CRC or a cut-off stream still shows what it holds); bytes after the last member that are
    more than a trailer's worth make it no gzip."""
    out = bytearray()
    if _gzip_header_length(data) is None:
        raise _Undecodable
    while (header := _gzip_header_length(data)) is not None:
        inflated, rest = _inflate(data[header:], -zlib.MAX_WBITS)
        out += inflated
        if len(out) > MAX_DECODED:
            raise _TooLarge
        data = rest[8:]
    _all_read(data)
    return bytes(out)


def _all_read(left: bytes) -> None:
    if len(left) > _SLACK:
        raise _Undecodable


def _zlib_or_raw(data: bytes) -> bytes:
    """HTTP's ``deflate``: a zlib stream as the RFC says, or raw deflate as some servers send it."""
    inflated, left = _inflate(data[2:] if _is_zlib(data) else data, -zlib.MAX_WBITS)
    _all_read(left)
    return inflated


def _is_zlib(data: bytes) -> bool:
    return len(data) >= 2 and data[0] & 0x0F == 8 and data[0] >> 4 <= 7 and (data[0] << 8 | data[1]) % 31 == 0


def _streamed(data: bytes, feed: Callable[[bytes], bytes], finished: Callable[[], bool],
              left: Callable[[], bytes], error: type[Exception]) -> bytes:
    """``data`` fed to a decoder chunk by chunk, bounded by :data:`MAX_DECODED`: what it gives up to the end of its
    stream, or of the bytes (a stream cut off). Raises ``_Undecodable`` on an error or bytes left after the end."""
    out = bytearray()
    for start in range(0, len(data), _CHUNK):
        try:
            out += feed(data[start:start + _CHUNK])
        except error:
            raise _Undecodable from None
        if len(out) > MAX_DECODED:
            raise _TooLarge
        if finished():
            _all_read(left() + data[start + _CHUNK:])
            break
    return bytes(out)


def _unbrotli(data: bytes) -> bytes:
    import brotli  # type: ignore[import-untyped]  # mitmproxy's own dependency, as zstandard below

    decoder = brotli.Decompressor()
    return _streamed(data, decoder.process, decoder.is_finished, bytes, brotli.error)


def _unzstd(data: bytes) -> bytes:
    import zstandard

    decoder = zstandard.ZstdDecompressor().decompressobj()
    return _streamed(data, decoder.decompress, lambda: decoder.eof, lambda: decoder.unused_data,
                     zstandard.ZstdError)


_DECODERS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": _gunzip, "x-gzip": _gunzip, "deflate": _zlib_or_raw, "x-deflate": _zlib_or_raw, "br": _unbrotli,
    "zstd": _unzstd,
}


def _sniffed(data: bytes) -> str | None:
    """The coding the bytes are in by their magic, or None."""
    if _gzip_header_length(data) is not None:
        return "gzip"
    if data.startswith(_ZSTD_MAGIC):
        return "zstd"
    if _is_zlib(data) and _BINARY.search(data[:64]):
        return "deflate"
    return None


def _undone(name: str, data: bytes) -> bytes | None:
    """``data`` with the coding ``name`` undone, or None when the bytes are not in it (see ``_Undecodable``)."""
    try:
        return _DECODERS[name](data)
    except _Undecodable:
        return None


def _undo_codings(content: bytes, declared: str = "", charset: str = "",
                  layers: int = _MAX_LAYERS) -> tuple[bytes, tuple[str, ...]]:
    """``content`` with its content-codings undone: the declared ones (``gzip, br``: br first), then the ones its
    bytes show (gzip with no ``Content-Encoding``, gzip in gzip), then a trial of brotli and raw deflate on bytes
    that are no text. A decoding is kept only when it reads the bytes to their end (a trailer's worth may be
    left) and, unless the bytes were no text either, gives text; a trial only when it leads to text a reader
    would take for one (in ``charset``, the declared one). Raises ``_TooLarge`` past :data:`MAX_DECODED`."""
    undone: list[str] = []
    names = [name.strip().lower() for name in declared.split(",") if name.strip()]
    for name in reversed(names):
        if name in ("identity", "none"):
            continue
        if name not in _DECODERS:
            break  # an unknown coding: the bytes' magic may still tell
        decoded = _undone(name, content)
        if not decoded:
            break  # not what it said it was
        content = decoded
        undone.append(name)
    while len(undone) < layers and (sniffed := _sniffed(content)) is not None:
        decoded = _undone(sniffed, content)
        if not decoded:
            break
        content = decoded
        undone.append(sniffed)
    if len(undone) < layers and _BINARY.search(content[:512]) and not _wide(content):
        for name in ("br", "deflate"):  # no magic: tried on bytes that are no text, kept when they lead to text
            decoded = _undone(name, content)
            # a compressor shrinks text, or grows what it cannot shrink by a few bytes: a "stream" decoding to
            # less than half its size, or to a few characters, is bytes a decoder happened to get through
            if decoded and len(decoded) >= max(_SLACK, len(content) // 2):
                inner, more = _undo_codings(decoded, "", charset, layers - len(undone) - 1)
                if _plausible(inner, charset):
                    return inner, (*undone, name, *more)
    return content, tuple(undone)


# -- charsets --------------------------------------------------------------------------------------------------
def _text_like(data: bytes) -> bool:
    return not _BINARY.search(data) or _wide(data) is not None or data.startswith(tuple(b for b, _ in _BOMS))


def _worth_keeping(decoded: bytes, charset: str) -> bool:
    """Whether what the codings were undone to is worth keeping: text (Latin-1 too, when mostly ASCII and not a
    few bytes) or a file
    (an image, a PDF). Random bytes behind a gzip magic or declared ``br`` decode to a few bytes of neither: the
    body as sent is kept instead (and stored as its digest when it reads as no text)."""
    if _plausible(decoded, charset):
        return True
    ascii_text = sum(32 <= byte < 127 or byte in (9, 10, 13) for byte in decoded[:4096])
    latin1_text = len(decoded) >= 16 and not _BINARY.search(decoded) and ascii_text >= 0.7 * min(len(decoded), 4096)
    return latin1_text or _binary_file(decoded)


# Files a compressed body is often made of (PNG, JPEG, GIF, PDF, ZIP, WebP/RIFF): a coding undone down to them is
# right, though they read as no text (and are stored as their digest).
_FILE_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF", b"PK\x03\x04", b"RIFF")


def _binary_file(data: bytes) -> bool:
    return data.startswith(_FILE_MAGIC)


def _plausible(data: bytes, charset: str) -> bool:
    """Whether a decoder's output is text a reader would take for one: it reads, with no control characters, in
    ``charset`` (a declared one), by its byte-order mark or NULs, or as UTF-8 — not merely as Latin-1, which
    any bytes read as, nor empty."""
    if charset and charset not in _UTF8 and _known(charset):
        codecs_tried: tuple[str | None, ...] = (charset,)
    else:
        bom = next((codec for mark, codec in _BOMS if data.startswith(mark)), None)
        codecs_tried = (bom, _wide(data), "utf-8")
    texts = (_decoded(data, codec) for codec in codecs_tried if codec)
    return any(text and not _TEXT_CONTROLS.search(text) for text in texts)


def _wide(data: bytes) -> str | None:
    """UTF-16 or UTF-32 without a byte-order mark, by its NULs: ASCII text in them is every other (every fourth)
    byte NUL."""
    sample = data[:4096]
    if len(sample) < 4 or b"\x00" not in sample:
        return None
    quads = len(sample) // 4 * 4
    for offset, name in ((1, "utf-32-le"), (0, "utf-32-be")):
        zeros = [sample[i + j] for i in range(0, quads, 4) for j in ((1, 2, 3) if offset else (0, 1, 2))]
        if zeros.count(0) >= 0.9 * len(zeros):
            return name
    pairs = len(sample) // 2 * 2
    odd, even = sample[1:pairs:2], sample[0:pairs:2]
    if odd.count(0) >= 0.6 * len(odd) and even.count(0) < 0.2 * len(even):
        return "utf-16-le"
    if even.count(0) >= 0.6 * len(even) and odd.count(0) < 0.2 * len(odd):
        return "utf-16-be"
    return None


def _decoded(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return None


def _known(charset: str) -> bool:
    try:
        return codecs.lookup(charset).name not in ("base64", "hex", "rot-13", "uu", "quopri", "zlib", "bz2")
    except LookupError:
        return False


def _chosen(data: bytes, declared: str) -> tuple[str, str] | None:
    """(text, codec) of the reading a client would make of ``data``, or None when it reads as no text."""
    for bom, codec in _BOMS:
        if data.startswith(bom) and (text := _decoded(data, codec)) is not None:
            return text, codec
    wide = _wide(data)
    if declared and declared not in _UTF8 and _known(declared):
        text = _decoded(data, declared)
        if text is None:
            text = data.decode(declared, "replace")
        return text, declared
    if wide and (text := _decoded(data, wide)) is not None and not _TEXT_CONTROLS.search(text):
        return text, wide
    if (text := _decoded(data, "utf-8")) is not None:
        return text, "utf-8"
    if not _BINARY.search(data):
        return data.decode("latin-1"), "latin-1"  # no charset said, not UTF-8, reads as text: Latin-1
    return None


def rereadings(text: str, codec: str) -> tuple[str, ...]:
    """``text`` written back in ``codec`` and read in every other charset: what a reader who chose otherwise
    would see of the bytes (NULs dropped). Given the redacted text, none may show a secret."""
    data = text.encode(codec, "replace")
    data = next((data[len(bom):] for bom, _ in _BOMS if data.startswith(bom)), data)
    readings = []
    for other in _OTHER_CODECS:
        if other == codec:
            continue
        width = 4 if other.startswith("utf-32") else 2 if other.startswith("utf-16") else 1
        reading = _decoded(data[: len(data) // width * width], other)
        if reading is not None and (reading := reading.replace("\x00", "")) != text:
            readings.append(reading)
    return tuple(readings)


def read_body(content: bytes, content_type: str = "", content_encoding: str = "") -> Reading:
    """``content`` as a reader sees it (``content_encoding``: the codings it is still in; "" when undone or
    none). Plain UTF-8 — nearly every body — costs one decode."""
    declared = charset_of(content_type)
    try:
        data, codings = _undo_codings(content, content_encoding, declared)
    except _TooLarge:
        return Reading(content, None, codings=("too large decoded",))
    if codings and not _worth_keeping(data, declared) and not content_type.lower().lstrip().startswith("multipart/"):
        data, codings = content, ()  # a multipart body holds files: its parts are judged one by one
    if not codings and (not declared or declared in _UTF8) and b"\x00" not in data:
        try:
            return Reading(data, data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
    chosen = _chosen(data, declared)
    if chosen is None:
        return Reading(data, None, codings=codings)
    text, codec = chosen
    return Reading(data, text, codec, codings, plain=False)


def unreadable_marker(reading: Reading, content_type: str, why: str = "it reads as no text") -> str:
    """What is stored for a body the redactor cannot read, or cannot trust a reading of: that it was not
    recorded, why, its digest and size (the bytes with the codings undone that could be)."""
    media = content_type.split(";", 1)[0].strip() or "no Content-Type"
    undone = f", after undoing {', '.join(reading.codings)}" if reading.codings else ""
    return (f"[NOT RECORDED: {why} ({media}{undone}), sha256 "
            f"{hashlib.sha256(reading.content).hexdigest()}, {len(reading.content)} bytes]")
