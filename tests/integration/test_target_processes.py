"""`--target-cmd` as a user meets it: a command that forks leaves nothing running, one without {port} is refused
at once, and the `Running …` line never shows a key typed on the command line."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration
CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "cards-retrieve.yaml"

# A target that forks: the parent serves on the port, a grandchild (a worker, a shell's child) lives on its own,
# in the same process group; with IGNORE it shrugs off SIGTERM as a wedged worker would.
FORKING = """
import os, signal, sys, time
from http.server import BaseHTTPRequestHandler, HTTPServer
port, pid_file, ignore = int(sys.argv[1]), sys.argv[2], sys.argv[3] == "IGNORE"
worker = os.fork()
if worker == 0:
    if ignore:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if os.fork():  # the worker's own child: a grandchild of the command
        os._exit(0)
    with open(pid_file, "w") as out:
        out.write(str(os.getpid()))
    time.sleep(300)
    os._exit(0)
class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers()
    do_POST = do_DELETE = do_GET
    def log_message(self, *args):
        pass
HTTPServer(("127.0.0.1", port), Handler).serve_forever()
"""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(")")[-1].split()[0] != "Z"  # a zombie is gone, waiting to be reaped
    except FileNotFoundError:
        return False


@pytest.mark.parametrize("command, ignore", [("run", "TERM"), ("run", "IGNORE"), ("matrix", "IGNORE")])
def test_a_target_command_that_forks_leaves_nothing_running(tmp_path: Path, command: str, ignore: str) -> None:
    script = tmp_path / "forking.py"
    script.write_text(FORKING)
    pid_file = tmp_path / "grandchild.pid"
    target = f"{sys.executable} {script} {{port}} {pid_file} {ignore}"
    option = ["--target-cmd", target if command == "run" else f"forking={target}"]
    finished = subprocess.run([sys.executable, "-m", "conformance", command, str(CASSETTE), *option],
                              capture_output=True, text=True, timeout=90)
    assert finished.returncode == 1, finished.stdout + finished.stderr  # the target answers 500: deviations
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    alive = _alive(grandchild)
    if alive:
        os.kill(grandchild, 9)
    assert not alive, "the target's grandchild outlived the run"
