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


def _conformance(*args: object, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], capture_output=True, text=True,
                          timeout=timeout)


@pytest.mark.parametrize("command", ["run", "matrix"])
def test_a_target_command_without_port_is_refused_at_once(tmp_path: Path, command: str) -> None:
    target = f"{sys.executable} -m http.server 8000"
    started = time.monotonic()
    done = _conformance(command, CASSETTE, "--target-cmd", target if command == "run" else f"srv={target}")
    assert time.monotonic() - started < 20  # the run's 30 s wait for a port is never entered
    assert done.returncode == 2 and done.stdout == "", done.stdout
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith("Error: --target-cmd") and "has no {port}" in line


def test_a_target_that_echoes_a_key_when_it_fails_is_quoted_redacted(tmp_path: Path) -> None:
    key = "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc"
    script = tmp_path / "failing.py"
    script.write_text(f"import sys\nprint('bad key ' + {key!r}, file=sys.stderr)\nsys.exit(3)\n")
    done = _conformance("run", CASSETTE, "--target-cmd", f"{sys.executable} {script} {{port}}")
    assert done.returncode == 2 and "exited with code 3" in done.stderr, done.stderr
    assert key not in done.stdout + done.stderr and "[REDACTED" in done.stderr


def test_a_report_on_an_input_or_two_reports_on_one_path_write_nothing(tmp_path: Path) -> None:
    cassette = tmp_path / "input.yaml"
    cassette.write_bytes(CASSETTE.read_bytes())
    unreachable = ["--target", "http://127.0.0.1:9"]
    for args, says in [
        (["run", cassette, *unreachable, "--json-report", cassette], "--json-report " + str(cassette)),
        (["run", cassette, *unreachable, "--html-report", tmp_path / "." / "input.yaml"], "is an input"),
        (["run", cassette, *unreachable, "--json-report", tmp_path / "r", "--markdown-report", tmp_path / "r"],
         "--markdown-report and --json-report both name"),
        (["run", cassette, *unreachable, "--baseline", tmp_path / "r.json", "--json-report", tmp_path / "r.json"],
         "is an input"),
        (["matrix", cassette, "--target", "a=http://127.0.0.1:9", "--json-report", cassette], "is an input"),
        (["matrix", cassette, "--target", "a=http://127.0.0.1:9", "--html-report", tmp_path / "m",
          "--markdown-report", tmp_path / "m"], "both name"),
    ]:
        (tmp_path / "r.json").write_text("{}")
        done = _conformance(*args)
        assert done.returncode == 2 and says in done.stderr and len(done.stderr.strip().splitlines()) == 1, (
            args, done.stderr)
        assert cassette.read_bytes() == CASSETTE.read_bytes() and not (tmp_path / "r").exists()
        assert not (tmp_path / "m").exists() and (tmp_path / "r.json").read_text() == "{}"
