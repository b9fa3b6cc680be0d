"""A cache of parsed cassettes, like Python's ``.pyc`` files for YAML.

Parsing YAML costs ~200 µs per interaction, a third of a request to a local
target; reading the same data back as JSON costs ~15 µs. After a cassette has
been read completely once, its documents are kept as JSON lines under the
cache directory, keyed by the file's path and checked against its size, mtime
and inode, so an edited cassette is parsed again. The cache holds what the
cassette holds (already redacted) and nothing else.

``CONFORMANCE_CACHE_DIR`` chooses the directory (default
``$XDG_CACHE_HOME/card-conformance`` or ``~/.cache/card-conformance``);
``CONFORMANCE_CACHE=0`` turns the cache off.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance import __version__

__all__ = ["cached_documents", "CacheWriter", "cache_dir"]

FORMAT = 1


def cache_dir() -> Path | None:
    if os.environ.get("CONFORMANCE_CACHE", "1") == "0":
        return None
    configured = os.environ.get("CONFORMANCE_CACHE_DIR")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "card-conformance"


def _identity(path: Path) -> dict[str, Any] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return {"format": FORMAT, "tool": __version__, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns,
            "inode": stat.st_ino, "device": stat.st_dev}


def _entry(path: Path) -> Path | None:
    directory = cache_dir()
    if directory is None:
        return None
    digest = hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:32]
    return directory / f"{digest}.jsonl"


def cached_documents(path: Path) -> Iterator[tuple[int, Any]] | None:
    """The (line, data) documents of a cassette from the cache, or None when there is no valid entry."""
    entry = _entry(path)
    identity = _identity(path)
    if entry is None or identity is None:
        return None
    try:
        stream = open(entry, "rb")  # noqa: SIM115  (closed by the generator it is handed to)
    except OSError:
        return None
    try:
        if json.loads(stream.readline() or b"null") != identity:
            stream.close()
            return None
    except ValueError:
        stream.close()
        return None

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


class CacheWriter:
    """Streams the documents of one read into a temporary file; published only when the read completes."""

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
            if self.stream is None:
                assert self.entry is not None
                self.entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fd, self.temporary = tempfile.mkstemp(dir=self.entry.parent, suffix=".tmp")
                self.stream = os.fdopen(fd, "wb")
                self.stream.write(json.dumps(self.identity).encode() + b"\n")
            self.stream.write(json.dumps([line, data], ensure_ascii=False, separators=(",", ":")).encode() + b"\n")
        except OSError:
            self.abandon()  # a cache that cannot be written is only slower

    def commit(self) -> None:
        if not self.usable or self.stream is None or self.entry is None:
            return self.abandon()
        try:
            self.stream.close()
            if _identity(self.path) != self.identity:
                return self.abandon()  # the file changed while it was read
            assert self.temporary is not None
            os.replace(self.temporary, self.entry)
            self.temporary = None
        except OSError:
            self.abandon()

    def abandon(self) -> None:
        self.usable = False
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        if self.temporary is not None:
            try:
                os.unlink(self.temporary)
            except OSError:
                pass
            self.temporary = None
