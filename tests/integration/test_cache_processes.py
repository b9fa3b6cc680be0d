"""The parse cache is best effort for real processes: a cache that cannot be written (a file-size limit stands
in for a full disk: every write past it fails with EFBIG, as ENOSPC would) costs nothing but speed, in `check`,
`run` and `serve`."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from conformance.net import free_port
from conformance.processes import wait_until_listening

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "cards-retrieve.yaml"
LIMIT = 2048  # bytes any file of the process may grow to: the cache entry (~10 KB) cannot be written


def _full_disk() -> None:
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _env(tmp_path: Path) -> dict[str, str]:
    return {**os.environ, "CONFORMANCE_CACHE_DIR": str(tmp_path / "cache")}


def test_check_and_run_go_on_when_the_cache_cannot_be_written(tmp_path: Path) -> None:
    check = subprocess.run([sys.executable, "-m", "conformance", "check", str(CASSETTE)], capture_output=True,
                           text=True, timeout=60, env=_env(tmp_path), preexec_fn=_full_disk)
    assert check.returncode == 0 and "Traceback" not in check.stderr, check.stdout + check.stderr
    with FakeStripe() as target:
        run = subprocess.run([sys.executable, "-m", "conformance", "run", str(CASSETTE), "--target", target],
                             capture_output=True, text=True, timeout=60, env=_env(tmp_path), preexec_fn=_full_disk)
    assert run.returncode == 0 and "conforms" in run.stdout, run.stdout + run.stderr
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []  # nothing half-written left


def _serve(tmp_path: Path, **limits: object) -> tuple[int, str, int]:
    """``serve`` in reverse mode with its CA in tmp_path/conf; one request; its status, output and exit code."""
    port = free_port()
    serve = subprocess.Popen([sys.executable, "-m", "conformance", "serve", str(CASSETTE), "--listen-port", str(port),
                              "--mode", "reverse", "--confdir", str(tmp_path / "conf")], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=_env(tmp_path), start_new_session=True,
                             **limits)  # type: ignore[call-overload]
    try:
        problem = wait_until_listening(serve, "127.0.0.1", port, 60)
        status = 0 if problem else httpx.post(f"http://127.0.0.1:{port}/v1/customers",
                                              data={"email": "jenny.rosen@example.com", "description": "retrieve a card"},
                                              timeout=10).status_code
    finally:
        serve.terminate()
        output, _ = serve.communicate(timeout=30)
    return status, output, serve.returncode


def test_serve_goes_on_when_the_cache_cannot_be_written(tmp_path: Path) -> None:
    status, output, _ = _serve(tmp_path)  # mitmproxy makes its CA files here, unlimited
    assert status == 200, output
    for entry in (tmp_path / "cache").iterdir():
        entry.unlink()  # the cassette read again, its entry written again: now past the limit
    status, output, _ = _serve(tmp_path, preexec_fn=_full_disk)
    assert status == 200 and "Traceback" not in output, output
    assert [p.name for p in (tmp_path / "cache").iterdir()] == []
