"""The parse cache: a second read comes from it, and an edited cassette is read again."""

import errno
import io
import os

import pytest

from conformance.cassette import Body, CassetteError, cache, load

from .test_cassette import sample, write


def entries():
    directory = cache.cache_dir()
    return sorted(p.name for p in directory.iterdir()) if directory and directory.exists() else []


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_a_second_read_comes_from_the_cache_and_is_the_same(tmp_path, cache_dir):
    path = tmp_path / "c.yaml"
    write(path, sample(), sample())
    first = load(path)
    assert len(entries()) == 1 and entries()[0].endswith(".jsonl")
    assert cache.cached_documents(path) is not None
    second = load(path)
    assert [(i.line, i.request, i.response, i.endpoint) for i in first.interactions] == \
        [(i.line, i.request, i.response, i.endpoint) for i in second.interactions]


def test_an_edited_cassette_is_parsed_again(tmp_path, cache_dir):
    path = tmp_path / "c.yaml"
    write(path, sample())
    load(path)
    write(path, sample(), sample())
    os.utime(path, ns=(1, 1))  # even with an old mtime, the size differs
    assert cache.cached_documents(path) is None
    assert len(load(path).interactions) == 2


def test_invalid_cassettes_and_interrupted_reads_leave_no_entry(tmp_path, cache_dir):
    path = tmp_path / "bad.yaml"
    path.write_text("version: 1\n---\nrequest: {method: GET, path: /v1/x}\nresponse: {status: 'x'}\n")
    with pytest.raises(CassetteError):
        load(path)
    with pytest.raises(CassetteError):
        load(path)  # the second read reports the same problem: nothing was cached
    assert entries() == []


def test_the_cache_can_be_turned_off(tmp_path, cache_dir, monkeypatch):
    monkeypatch.setenv("CONFORMANCE_CACHE", "0")
    path = tmp_path / "c.yaml"
    write(path, sample())
    load(path)
    assert not cache_dir.exists()


def test_a_cache_that_cannot_be_written_is_only_slower(tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(blocker / "cache"))  # a directory inside a file: never made
    path = tmp_path / "c.yaml"
    write(path, sample(), sample())
    assert len(load(path).interactions) == 2
    assert len(load(path).interactions) == 2
    assert cache.cached_documents(path) is None


def test_a_tampered_cache_entry_is_validated_like_a_fresh_read(tmp_path, cache_dir):
    path = tmp_path / "c.yaml"
    write(path, sample())
    load(path)
    (entry,) = cache_dir.iterdir()
    lines = entry.read_text().splitlines()
    lines[-1] = lines[-1].replace('"status":200', '"status":"200"')
    entry.write_text("\n".join(lines) + "\n")
    with pytest.raises(CassetteError, match=r"response\.status must be an HTTP status code"):
        load(path)


def test_a_cassette_that_holds_a_secret_is_never_cached(tmp_path, cache_dir):
    number = "4000" + "0566" + "5566" + "5556"  # a test Visa debit, Luhn-valid: a card number as any other
    for name, leak in [("card", {"card[number]": number}), ("cvc", {"card[cvc]": "123"}),
                       ("key", {"description": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"}),
                       ("encoded", {"description": "c2tfbGl2ZV80ZUMzOUhxTHlqV0RhcmpUMXpkcDdkYw=="})]:
        path = tmp_path / f"{name}.yaml"
        leaking = sample()
        leaking.request.body = Body("form", leak)
        write(path, sample(), leaking)
        load(path)
        load(path)
        assert cache.cached_documents(path) is None, name
    assert entries() == []
    clean = tmp_path / "clean.yaml"
    write(clean, sample(), sample())
    load(clean)
    assert len(entries()) == 1  # a cassette with markers only is cached


def test_a_full_disk_while_writing_the_cache_is_only_slower(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "c.yaml"
    write(path, *[sample() for _ in range(50)])

    class Full(io.BytesIO):
        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self):  # a buffered file flushes on close: the disk is still full
            raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache.os, "fdopen", lambda fd, mode: (os.close(fd), Full())[1])
    assert len(load(path).interactions) == 50
    assert len(load(path).interactions) == 50
    assert entries() == []  # nothing half-written is left behind


def test_an_edited_cassettes_old_entry_goes_and_the_cache_is_swept(tmp_path, cache_dir, monkeypatch):
    path = tmp_path / "c.yaml"
    write(path, sample())
    load(path)
    (old,) = cache_dir.iterdir()
    write(path, sample(), sample())
    assert cache.cached_documents(path) is None and not old.exists()  # what it held is not kept
    # entries of cassettes that are gone, stale temporary files, and the least recently used beyond the cap
    paths = [tmp_path / f"c{n}.yaml" for n in range(12)]
    for n, each in enumerate(paths):
        write(each, *[sample() for _ in range(20)])
        load(each)
        os.utime(cache._entry(each), (1_000_000 + n, 1_000_000 + n))  # used in this order
    stale = cache_dir / "leftover.tmp"
    stale.write_text("half")
    os.utime(stale, (1, 1))
    paths[0].unlink()
    sizes = sorted(p.stat().st_size for p in cache_dir.glob("*.jsonl"))
    monkeypatch.setenv("CONFORMANCE_CACHE_MAX_MB", str(sum(sizes[:6]) / 1e6))
    cache.sweep(cache_dir, force=True)
    left = {p.name for p in cache_dir.iterdir()}
    assert "leftover.tmp" not in left and cache._entry(paths[0]).name not in left
    assert sum(p.stat().st_size for p in cache_dir.glob("*.jsonl")) <= sum(sizes[:6])
    assert cache._entry(paths[-1]).name in left and cache._entry(paths[1]).name not in left  # the oldest use went
