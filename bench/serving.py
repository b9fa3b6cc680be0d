"""``conformance serve`` started for a benchmark: its address once it listens, its output drained, stopped after."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def serving(cassette: Path, *options: str) -> Iterator[str]:
    """The API base of ``conformance serve CASSETTE OPTIONS`` (no reload), stopped with its process group."""
    process = subprocess.Popen([sys.executable, "-m", "conformance", "serve", str(cassette), "--no-reload", *options],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               start_new_session=True, cwd=ROOT)
    drain = None
    try:
        assert process.stdout is not None
        address = None
        for line in process.stdout:
            if found := re.search(r"API base at (http://127\.0\.0\.1:\d+)", line):
                address = found.group(1)
                break
        if address is None:
            raise SystemExit("serve did not start")
        # its lines must be read, or the pipe fills and the proxy blocks on its next print
        drain = subprocess.Popen(["cat"], stdin=process.stdout, stdout=subprocess.DEVNULL)
        yield address
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)
        if drain is not None:
            drain.wait(30)
