"""`conformance record` refuses a cassette path it must not write before it starts anything: one line, exit 2."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytestmark = pytest.mark.integration


@pytest.fixture
def upstream():
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _record(upstream: str, cassette) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", "record", "--upstream", upstream, "--cassette",
                           str(cassette), "--", sys.executable, "-c", "pass"],
                          capture_output=True, text=True, timeout=60)


def test_a_dangling_link_is_refused_and_nothing_is_created_through_it(upstream, tmp_path):
    target = tmp_path / "elsewhere" / "made.yaml"
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    result = _record(upstream, link)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "a link to nothing" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert not target.exists() and not target.parent.exists()


def test_a_cassette_another_recorder_holds_is_refused_before_starting(upstream, tmp_path):
    cassette = tmp_path / "held.yaml"
    lock = tmp_path / ".held.yaml.lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o600)
    os.write(fd, str(os.getpid()).encode())
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        result = _record(upstream, cassette)
    finally:
        os.close(fd)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "being written by another process" in result.stderr and "Recording" not in result.stdout
    assert not cassette.exists()


def test_a_fault_is_for_serve_and_record_says_so_in_one_line(upstream, tmp_path):
    result = subprocess.run([sys.executable, "-m", "conformance", "record", "--upstream", upstream, "--cassette",
                             str(tmp_path / "c.yaml"), "--fault", "500@*"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["Error: --fault is an option of conformance serve (faults injected "
                                                  "into served answers); record talks to a real upstream and injects "
                                                  "nothing"]
    assert not (tmp_path / "c.yaml").exists()
