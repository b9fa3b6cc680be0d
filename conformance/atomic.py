"""Writing a file so that a reader sees the old one or the new one, never half of it."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from conformance.errors import ReportError

__all__ = ["atomic_write", "check_writable", "probe_directory"]


def probe_directory(directory: Path) -> None:
    """An OSError now if a file in ``directory`` could not be written: one byte written for real and removed.

    ``os.access`` says yes on a full disk (and under a file size limit); a write says what the disk will say.
    """
    fd, probe = tempfile.mkstemp(dir=directory, prefix=".conformance-probe-", suffix=".tmp")
    try:
        os.write(fd, b"\n")
        os.fsync(fd)  # a file system that allocates late (delayed allocation, network) says it here
    finally:
        os.close(fd)
        os.unlink(probe)


def check_writable(path: Path) -> None:
    """A ReportError now, before a long run, if ``path`` could not be written afterwards."""
    if path.is_dir():
        raise ReportError(f"cannot write {path}: it is a directory")
    parent = path.parent
    while not parent.exists():
        parent = parent.parent  # the directory that would be created is made inside this one
    if not parent.is_dir() or not os.access(parent, os.W_OK | os.X_OK):
        raise ReportError(f"cannot write {path}: {parent} is not a writable directory")
    if path.exists() and not os.access(path, os.W_OK):
        raise ReportError(f"cannot write {path}: permission denied")
    try:
        probe_directory(parent)
    except OSError as error:
        raise ReportError(f"cannot write {path}: {error.strerror or error}") from None


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place (a ReportError if it cannot)."""
    try:
        _atomic_write(path, data)
    except OSError as error:
        raise ReportError(f"cannot write {path}: {error.strerror or error}") from None


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # an ordinary file, not mkstemp's private one
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise
