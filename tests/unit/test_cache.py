"""The parse cache: a second read comes from it, and an edited cassette is read again."""

import os

import pytest

from conformance.cassette import CassetteError, cache, load

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
