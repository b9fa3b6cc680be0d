"""Cassette files: finding, reading (through the parse cache) and appending.

A cassette file is a stream of YAML documents (format in ``docs/cassette-format.md``, which
``conformance docs cassette-format`` prints from an installed package):
a header document (``version``, ``name``) followed by one document per interaction.
The recorder appends each interaction as one document in one ``write()``, so a
recorder killed at any moment leaves a file that loads; nothing is ever rewritten.

Every problem is a :class:`~conformance.errors.CassetteError` naming the file and the line.

PyYAML (the reader, ``reader.py``, and the writer, ``emitter.py``) is imported when a file is parsed or written,
not with this module: a run whose cassettes the parse cache holds reads them as JSON and never pays for it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from conformance.api_profile import OTHER, ApiProfile
from conformance.atomic import probe_directory
from conformance.cassette.cache import CacheWriter, cached_documents
from conformance.cassette.model import RECORD_MODES, VERSION, Cassette, CassetteHeader, Interaction, RecordMode
from conformance.cassette.validation import Invalid, header_from_dict, interaction_from_dict
from conformance.errors import CassetteError, ConformanceError

__all__ = ["SUFFIXES", "iter_interactions", "load", "find_cassettes", "is_cassette", "count_interactions",
           "CassetteWriter", "CassetteExists", "CassetteLocked", "RECORD_MODES", "dump_document",
           "HEADER_COMMENT", "foreign_recording", "regular_file", "lock_holder"]

SUFFIXES = (".yaml", ".yml")


def regular_file(path: Path) -> None:
    """A CassetteError unless ``path`` is a regular file (or a link to one): a FIFO or a device named
    ``*.yaml`` would block the reader or never end."""
    try:
        mode = path.stat().st_mode
    except OSError as error:
        raise CassetteError(path, None, f"cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(mode):
        raise CassetteError(path, None, "a directory, not a cassette file")
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else "a device"
        raise CassetteError(path, None, f"{kind}, not a regular file: a cassette is a file; give its path")


def _yaml_error(path: Path, error: Exception) -> CassetteError:
    import yaml

    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    line = mark.line + 1 if mark is not None else None
    problem = getattr(error, "problem", None) or str(error).splitlines()[0]
    if isinstance(error, (yaml.reader.ReaderError, UnicodeDecodeError)):
        problem = "not valid UTF-8 text: " + str(error).splitlines()[0]
    return CassetteError(path, line, f"invalid YAML: {problem}" if "YAML" not in problem else problem)


def _locate(path: Path, document: int, inner: tuple[Any, ...]) -> int | None:
    from conformance.cassette.reader import locate_line

    try:
        with open(path, "rb") as stream:
            return locate_line(stream, document, inner)
    except OSError:
        return None


def _documents(path: Path, use_cache: bool = True) -> Iterator[tuple[int, Any]]:
    """(line, data) of each document, streaming; raises CassetteError.

    A cassette read completely once is read again from the parse cache
    (``cache.py``); what the cache returns is validated like a fresh read.
    """
    cached = cached_documents(path) if use_cache else None
    if cached is not None:
        yield from cached
        return
    import yaml

    from conformance.cassette.reader import read_documents

    try:
        stream = open(path, "rb")  # noqa: SIM115  (closed below, after the last document)
    except OSError as error:
        raise CassetteError(path, None, f"cannot read: {error.strerror or error}") from None
    writer = CacheWriter(path) if use_cache else None
    with stream:
        try:
            for line, data in read_documents(stream):
                if writer is not None:
                    writer.add(line, data)
                yield line, data
            if writer is not None:
                writer.commit()
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise _yaml_error(path, error) from None
        finally:
            if writer is not None:
                writer.abandon()  # a no-op after commit; an interrupted read leaves no entry


DOCUMENT_START = b"---\n"
DOCUMENT_END = b"\n...\n"


def _whole_documents(path: Path) -> bytes | None:
    """For a recorded cassette whose last write was cut short, its bytes up to the last whole document.

    The recorder starts every document with ``---`` on a line of its own and ends
    it with ``...``; a file that holds such documents but whose tail after the
    last ``...`` is the start of one was killed in the middle of a write.
    Hand-written cassettes without ``...`` are never considered cut.
    """
    try:
        with open(path, "rb") as stream:
            if DOCUMENT_END not in stream.read(4096):
                return None
            stream.seek(0, os.SEEK_END)
            size = stream.tell()
            stream.seek(max(0, size - len(DOCUMENT_END)))
            if stream.read() == DOCUMENT_END:
                return None
            stream.seek(0)
            data = stream.read()
    except OSError:
        return None
    end = data.rfind(DOCUMENT_END) + len(DOCUMENT_END)
    tail = data[end : end + len(DOCUMENT_START)]
    if not DOCUMENT_START.startswith(tail):
        return None  # not what the recorder writes: an error of the file, reported as such
    return data[:end]


def _cut_after_line(path: Path) -> int | None:
    """The line after which a recorded cassette was cut short, or None when it was not."""
    whole = _whole_documents(path)
    return whole.count(b"\n") if whole is not None else None


_TNETSTRING = re.compile(rb"\d{1,12}:\d{1,12}:")


_FOREIGN_TEXT = (
    (re.compile(rb"^http_interactions:", re.M), "Ruby VCR cassette"),
    (re.compile(rb"^interactions:", re.M), "VCR.py cassette"),
    (re.compile(rb'^\s*\{\s*"log"\s*:\s*\{'), "HAR"),
)


def _foreign_by_text(path: Path) -> str | None:
    try:
        with open(path, "rb") as stream:
            head = stream.read(65536)
    except OSError:
        return None
    return next((name for pattern, name in _FOREIGN_TEXT if pattern.search(head)), None)


def foreign_recording(path: str | os.PathLike[str]) -> str | None:
    """The format of another tool's recording (VCR.py, Ruby VCR, HAR, a mitmproxy flow file), or None."""
    path = Path(path)
    return "mitmproxy flow file" if _flow_file(path) else _foreign_by_text(path)


def _flow_file(path: Path) -> bool:
    """Whether a file is mitmproxy's own flow format (``mitmdump -w``): tnetstrings, not text."""
    try:
        with open(path, "rb") as stream:
            return _TNETSTRING.match(stream.read(32)) is not None
    except OSError:
        return False


def iter_interactions(path: str | os.PathLike[str], header: CassetteHeader | None = None,
                      profile: ApiProfile | None = None) -> Iterator[Interaction]:
    """Stream the interactions of one cassette, validating each; raises CassetteError.

    ``header``, when given, is filled with the header document's fields (and
    ``warnings``: problems that did not stop the read). ``profile`` names the
    endpoint of each interaction its cassette does not label; without one it is ``other``.
    """
    path = Path(path)
    regular_file(path)
    flow = _flow_file(path)
    if flow:
        raise CassetteError(path, None, "a mitmproxy flow file, not a card-conformance cassette; convert it with: "
                                        f"conformance import {path} --out DIR")
    cut = _cut_after_line(path)
    number = -1
    try:
        for number, (line, doc) in enumerate(_documents(path, use_cache=cut is None)):
            if cut is not None and line > cut:
                break
            try:
                if number == 0:
                    name, meta = header_from_dict(doc, path.stem)
                    if header is not None:
                        header.update(meta)
                        header["name"] = name
                    continue
                interaction = interaction_from_dict(doc, number)
            except Invalid as invalid:
                line = _locate(path, number, invalid.path) or line
                prefix = f"interaction {number}: " if number else ""
                problem = invalid.problem.replace("conformance import FILE", f"conformance import {path}")
                raise CassetteError(path, line, prefix + problem) from None
            interaction.line = line
            request = interaction.request
            interaction.endpoint = profile.label(request.method, request.path, interaction.endpoint) \
                if profile is not None else interaction.endpoint or OTHER
            yield interaction
    except CassetteError as error:
        foreign = _foreign_by_text(path) if number < 1 else None
        if foreign:  # a recording of another tool that our strict reader refuses (VCR.py's !!binary bodies)
            raise CassetteError(path, None, f"a {foreign}, not a card-conformance cassette; convert it with: "
                                            f"conformance import {path} --out DIR") from None
        if cut is None or (error.line is not None and error.line <= cut):
            raise
    if cut is not None and header is not None:
        header.setdefault("warnings", []).append(
            f"{path}:{cut + 1}: the last interaction is incomplete (the recording was interrupted) and was skipped"
        )
    if number < 0:
        raise CassetteError(path, None, f"empty file: not a cassette (expected a header with 'version: {VERSION}')")


def load(path: str | os.PathLike[str], profile: ApiProfile | None = None) -> Cassette:
    """Load and validate a whole cassette (endpoints named by ``profile``, as :func:`iter_interactions`)."""
    header: CassetteHeader = {}
    interactions = list(iter_interactions(path, header, profile))
    warnings = header.pop("warnings", [])
    name = header.pop("name")
    return Cassette(Path(path), name, interactions, header, warnings)


def count_interactions(path: Path) -> int:
    """How many interactions a cassette holds, 0 when it cannot be read (the replay reports why)."""
    try:
        return sum(1 for _ in iter_interactions(path))
    except CassetteError:
        return 0


def is_cassette(path: str | os.PathLike[str]) -> bool:
    """Whether a file starts with a cassette header (a YAML file of another kind does not)."""
    path = Path(path)
    if path.suffix not in SUFFIXES:
        return False
    try:
        regular_file(path)
    except CassetteError:
        return False
    import yaml

    from conformance.cassette.reader import read_documents

    try:
        with open(path, "rb") as stream:
            _line, first = next(read_documents(stream))
            header_from_dict(first, path.stem)
    except (OSError, StopIteration, yaml.YAMLError, UnicodeDecodeError, Invalid):
        return False
    return True


def find_cassettes(paths: list[str | os.PathLike[str]]) -> list[Path]:
    """Expand files and directories into cassette files, in a stable order (hidden ones below a directory left out)."""
    found: list[Path] = []
    for given in paths:
        path = Path(given)
        if path.is_dir():
            # a hidden folder or file below it is never a cassette of the suite (a repro's candidates left by a kill)
            found.extend(sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file()
                                and not any(part.startswith(".") for part in p.relative_to(path).parts)))
        elif path.exists():
            regular_file(path)
            found.append(path)
        else:
            raise CassetteError(path, None, "no such file or directory")
    return found


# ---------------------------------------------------------------------- writing


def dump_document(data: dict[str, Any]) -> bytes:
    from conformance.cassette import emitter

    return emitter.dump_document(data).encode("utf-8")


HEADER_COMMENT = b"# card-conformance cassette (its format: `conformance docs cassette-format`)\n"


class CassetteExists(ConformanceError):
    """Recording into a cassette that already holds interactions, without saying what to do with them."""


class CassetteLocked(ConformanceError):
    """A cassette another process is writing: one writer per cassette, or the two interleave and lose answers."""


def _lock_path(path: Path) -> Path:
    return path.with_name(f".{path.name}.lock")


def lock_holder(path: str | os.PathLike[str]) -> int | None:
    """The process id of the writer holding ``path``'s lock, or None when no one writes it."""
    lock = _lock_path(Path(path))
    try:
        fd = os.open(lock, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        text = os.read(fd, 32).decode("ascii", "replace").strip()
        return int(text) if text.isdigit() else 0
    finally:
        os.close(fd)
    return None


def _acquire_lock(path: Path) -> int:
    """An exclusive advisory lock (``flock``) on the sidecar ``.NAME.lock``, held until the writer closes.

    The lock file is removed on close; a process that opened it just before may then lock a file no longer
    there, so the lock counts only when the path still names the locked file (else it is taken again).
    A writer killed with SIGKILL leaves the file, but the kernel releases its lock.
    """
    lock = _lock_path(path)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            holder = lock_holder(path)
            raise CassetteLocked(f"{path} is being written by another process{f' (pid {holder})' if holder else ''}: "
                                 "one recording per cassette; stop it first, or give another --cassette") from None
        try:
            current = os.stat(lock, follow_symlinks=False).st_ino
        except FileNotFoundError:
            current = -1
        if current == os.fstat(fd).st_ino:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
            return fd
        os.close(fd)


def _release_lock(path: Path, fd: int) -> None:
    try:
        os.unlink(_lock_path(path))
    except OSError:
        pass  # a read-only directory since: the lock still goes with the descriptor
    os.close(fd)


def _writable_target(path: Path) -> None:
    """An error now, before any traffic, if the cassette could not be written: not a link to nowhere, a
    directory that takes a file (a write probe: ``os.access`` says yes on a full disk)."""
    if path.is_symlink() and not path.exists():
        raise CassetteError(path, None, f"a symbolic link to {os.readlink(path)}, which does not exist: give the "
                                        "cassette's own path, not a dangling link")
    if path.is_dir():
        raise CassetteError(path, None, "a directory: give a cassette file such as "
                                        f"{path / 'session.yaml'}")
    if path.exists():
        regular_file(path)
    parent = path.parent
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise PermissionError(errno.EACCES, "permission denied", str(path))
    probe_directory(parent)


class CassetteWriter:
    """Append-only writer: each interaction is one document in one write() call.

    A reader never sees half a document unless the writing process is killed
    inside a single large write; the loader skips such a cut-off last document.
    A write that fails (a full disk, a size limit) is cut back to the last
    complete document before the error is raised, so what was written stays readable.

    Every document goes through the guard (``guard.py``): what the loader would
    refuse is escaped or, when it cannot be, refused with :class:`~conformance.cassette.guard.Unwritable`
    and not written. One writer per cassette: a second one (another process) is
    refused with :class:`CassetteLocked` for as long as the first is open.

    Nothing is written before the first interaction, so a recording that captured
    nothing leaves the file as it was. ``mode`` says what to do with a cassette
    that already holds something: ``new`` refuses it (:class:`CassetteExists`),
    ``overwrite`` replaces it (kept as ``NAME.bak`` until the first interaction
    is written), ``append`` adds after its interactions, numbering on.
    """

    def __init__(self, path: str | os.PathLike[str], name: str | None = None, meta: dict[str, Any] | None = None,
                 mode: RecordMode = "overwrite") -> None:
        if mode not in RECORD_MODES:
            raise ValueError(f"mode must be one of {RECORD_MODES}")
        self.path = Path(path)
        self.mode = mode
        self.count = 0
        self._fd = -1
        self._size = 0
        self._backup: Path | None = None
        self._header: dict[str, Any] = {"version": VERSION, "name": name or self.path.stem}
        self._header.update(meta or {})
        _writable_target(self.path)
        self._lock = _acquire_lock(self.path)
        try:
            self._check_existing()
        except BaseException:
            _release_lock(self.path, self._lock)
            raise

    def _check_existing(self) -> None:
        existing = self.path.is_file() and self.path.stat().st_size > 0
        if existing and self.mode == "new":
            raise CassetteExists(f"{self.path} already holds a recording; record with --overwrite to replace it "
                                 "or --append to add to it")
        self._appending = existing and self.mode == "append"
        if self._appending:
            self.count = len(load(self.path).interactions)  # a cassette that does not load is not appended to
        from conformance.cassette.guard import header_document  # the writer's guard: a reader never needs it

        header_document(self._header, self.path.stem)  # a header the loader refuses: now, not at the first write

    def set_header(self, key: str, value: Any) -> None:
        """A header field learnt from the first interaction (the host it came from); before it is written."""
        if self._fd < 0 and not self._appending:
            self._header[key] = value

    def _open(self) -> None:
        """At the first interaction: the file appended to, or a new one with its header."""
        if self._appending:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC)
            whole = _whole_documents(self.path)
            if whole is not None:
                os.ftruncate(self._fd, len(whole))  # a cut-off last document: cut back to the whole ones
            self._size = os.fstat(self._fd).st_size
            return
        from conformance.cassette.guard import header_document

        header = HEADER_COMMENT + header_document(self._header, self.path.stem)
        backup = None
        if self.path.exists() and self.mode == "overwrite":
            backup = self.path.with_name(self.path.name + ".bak")
            os.replace(self.path, backup)
        # O_EXCL: a file (or a link) made since the start is not written through; an empty one is reused
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC
        flags |= os.O_TRUNC if self.path.is_file() else os.O_EXCL
        self._fd = os.open(self.path, flags, 0o644)
        self._backup = backup
        self._write(header)

    def _write(self, data: bytes) -> None:
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError:
            try:
                os.ftruncate(self._fd, self._size)
            except OSError:
                pass  # the loader still skips a cut-off last document
            raise
        self._size += len(data)

    def append(self, interaction: Interaction) -> int:
        """Write one interaction; :class:`Unwritable` (nothing written) when no cassette could hold it."""
        if self._lock < 0:
            raise ValueError(f"{self.path}: the writer is closed")
        interaction.index = self.count + 1
        from conformance.cassette.guard import interaction_document

        document = interaction_document(interaction)
        if self._fd < 0:
            self._open()
        self._write(document)
        self.count += 1
        if self._backup is not None:  # the new recording holds an interaction: the old one can go
            self._backup.unlink(missing_ok=True)
            self._backup = None
        return self.count

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
        if self._lock >= 0:
            _release_lock(self.path, self._lock)
            self._lock = -1

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
