"""A cache of parsed cassettes, like Python's ``.pyc`` files for YAML.

Parsing YAML costs ~200 µs per interaction, a third of a request to a local
target; reading the same data back as JSON costs ~15 µs. After a cassette has
been read completely once, its documents are kept as JSON lines under the
cache directory, keyed by the file's path and checked against its size, mtime
and inode, so an edited cassette is parsed again.

The cache is best effort and holds nothing a user would not want copied:

- a cassette that holds a secret (what the redaction would remove from an
  error line: a key, a card number, a CVC, in any encoding it sees through) is
  never cached, so a secret ``check`` flags does not outlive its cassette;
- an entry whose cassette changed is removed when that is seen, and entries of
  cassettes that no longer exist, entries past the size cap (oldest use first)
  and temporary files a killed process left are swept once per process, when
  it first writes an entry;
- a cache that cannot be written (a full disk, no permission) is only slower:
  every ``OSError`` is ignored.

``CONFORMANCE_CACHE_DIR`` chooses the directory (default
``$XDG_CACHE_HOME/card-conformance`` or ``~/.cache/card-conformance``);
``CONFORMANCE_CACHE=0`` turns the cache off; ``CONFORMANCE_CACHE_MAX_MB`` is the
size cap (default 200).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance import __version__
from conformance.redaction import message_unchanged, redact_message

__all__ = ["cached_documents", "CacheWriter", "cache_dir", "touch", "sweep"]

FORMAT = 3  # 2: the path in the header (entries of gone files swept); 3: UTF-16/32 refused, bodies redacted as decoded
DEFAULT_MAX_MB = 200
_TEMPORARY_AGE = 3600.0  # seconds: a .tmp older than this was left by a process that died mid-write
_swept = threading.Event()  # once per process


def cache_dir() -> Path | None:
    if os.environ.get("CONFORMANCE_CACHE", "1") == "0":
        return None
    configured = os.environ.get("CONFORMANCE_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "card-conformance"


def _max_bytes() -> int:
    try:
        return max(1, int(float(os.environ.get("CONFORMANCE_CACHE_MAX_MB", DEFAULT_MAX_MB)) * 1_000_000))
    except ValueError:
        return DEFAULT_MAX_MB * 1_000_000


def _identity(path: Path) -> dict[str, Any] | None:
    try:
        stat = path.stat()
        where = str(path.resolve())
    except (OSError, RuntimeError):
        return None
    return {"format": FORMAT, "tool": __version__, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "inode": stat.st_ino, "device": stat.st_dev, "path": where}


def _entry(path: Path) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    try:
        digest = hashlib.sha256(str(path.resolve()).encode("utf-8", "surrogateescape")).hexdigest()[:32]
    except (OSError, RuntimeError):
        return None
    return directory / f"{digest}.jsonl"


def touch(entry: Path) -> None:
    """Mark an entry used now: the sweep removes the least recently used first."""
    with contextlib.suppress(OSError):
        os.utime(entry)


def _remove(entry: Path) -> None:
    with contextlib.suppress(OSError):
        entry.unlink()


def cached_documents(path: Path) -> Iterator[tuple[int, Any]] | None:
    """The (line, data) documents of a cassette from the cache, or None when there is no valid entry (an entry of
    an earlier version of the file is removed then: what it held is not kept once the file changed)."""
    entry = _entry(path)
    identity = _identity(path)
    if entry is None or identity is None:
        return None
    try:
        stream = open(entry, "rb")  # noqa: SIM115  (closed by the generator it is handed to)
    except OSError:
        return None
    try:
        current = json.loads(stream.readline() or b"null") == identity
    except ValueError:
        current = False
    if not current:
        stream.close()
        _remove(entry)
        return None
    touch(entry)

    def documents() -> Iterator[tuple[int, Any]]:
        with stream:
            for raw in stream:
                line, data = json.loads(raw)
                yield line, data

    return documents()


def _json_shaped(value: Any) -> bool:
    """JSON keeps it exactly: string keys only (YAML allows others, which JSON would turn into text)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and _json_shaped(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_json_shaped(v) for v in value)
    return True


def _holds_secret(text: str) -> bool:
    """Whether a document (its JSON text) holds what the redaction removes from any line that quotes input.

    The whole redaction costs ~300-500 µs on a card's interaction, more than parsing its YAML; a quick test that
    proves it would change nothing (``message_unchanged``) clears most documents, the rest are redacted."""
    return not message_unchanged(text) and redact_message(text) != text


class CacheWriter:
    """Streams the documents of one read into a temporary file; published only when the read completes and no
    document held a secret."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.identity = _identity(path)
        self.entry = _entry(path)
        self.stream: Any = None
        self.temporary: str | None = None
        self.usable = self.entry is not None and self.identity is not None

    def add(self, line: int, data: Any) -> None:
        if not self.usable:
            return
        if not _json_shaped(data):
            self.abandon()
            return
        try:
            text = json.dumps([line, data], ensure_ascii=False, separators=(",", ":"))
            encoded = text.encode()
        except ValueError:  # a value JSON or UTF-8 cannot write
            self.abandon()
            return
        if _holds_secret(text):
            self.abandon()  # never copied out of the cassette
            return
        try:
            if self.stream is None:
                assert self.entry is not None
                self.entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd, self.temporary = tempfile.mkstemp(dir=self.entry.parent, suffix=".tmp")
                self.stream = os.fdopen(fd, "wb")
                self.stream.write(json.dumps(self.identity).encode() + b"\n")
            self.stream.write(encoded + b"\n")
        except OSError:
            self.abandon()  # a cache that cannot be written is only slower

    def commit(self) -> None:
        if not self.usable or self.stream is None or self.entry is None:
            return self.abandon()
        try:
            self.stream.close()
            self.stream = None
            if _identity(self.path) != self.identity:
                return self.abandon()  # the file changed while it was read
            assert self.temporary is not None
            os.replace(self.temporary, self.entry)
            self.temporary = None
        except OSError:
            return self.abandon()
        sweep(self.entry.parent)

    def abandon(self) -> None:
        """Drop what was written; never raises (it runs while an error, a full disk among them, unwinds)."""
        self.usable = False
        if self.stream is not None:
            stream, self.stream = self.stream, None
            with contextlib.suppress(OSError):
                stream.close()  # flushing to a full disk fails again: the file is closed all the same
        if self.temporary is not None:
            with contextlib.suppress(OSError):
                os.unlink(self.temporary)
            self.temporary = None


def sweep(directory: Path, *, force: bool = False) -> None:
    """Evict, once per process (``force``: again): entries of cassettes that no longer exist or that cannot be
    read, temporary files older than an hour, then the least recently used entries until the cache is under 80 %
    of its cap."""
    if _swept.is_set() and not force:
        return
    _swept.set()
    try:
        files = [(entry, entry.stat()) for entry in directory.iterdir() if entry.is_file()]
    except OSError:
        return
    now = time.time()
    kept = []
    for entry, stat in files:
        if entry.suffix == ".tmp":
            if now - stat.st_mtime > _TEMPORARY_AGE:
                _remove(entry)
            continue
        if entry.suffix == ".jsonl" and not _source_exists(entry):
            _remove(entry)
            continue
        kept.append((stat.st_mtime, stat.st_size, entry))
    total, limit = sum(size for _, size, _ in kept), _max_bytes()
    if total <= limit:
        return
    for _, size, entry in sorted(kept, key=lambda item: item[0]):  # the least recently used first
        if total <= limit * 0.8:
            break
        _remove(entry)
        total -= size


def _source_exists(entry: Path) -> bool:
    """Whether the cassette an entry was read from is still there (an unreadable entry is not worth keeping)."""
    try:
        with open(entry, "rb") as stream:
            header = json.loads(stream.readline(4096) or b"null")
    except (OSError, ValueError):
        return False
    where = header.get("path") if isinstance(header, dict) else None
    return isinstance(where, str) and os.path.exists(where)
