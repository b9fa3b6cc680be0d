"""Ctrl-C on `record -- CMD` and `serve -- CMD` as a terminal sends it: SIGINT to the whole process group — the
CLI, mitmdump and the command at once. The run stops promptly with what it recorded or served said, and exits
128 + the signal."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conformance.cassette import CassetteWriter, Interaction, Request, Response, load

from ..conftest import API_KEY
from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration

# One request through the proxy, then a line the test waits for, then nothing until a signal ends it (by its
# default action: the command dies of it, as most do).
APP = textwrap.dedent('''
    import os, signal, sys, time
    import httpx

    signal.signal(signal.SIGINT, signal.SIG_DFL)
    base = os.environ["CONFORMANCE_PROXY_URL"]
    with httpx.Client(base_url=base, timeout=10, headers={"Authorization": "Bearer " + sys.argv[1]}) as http:
        answer = http.request(sys.argv[2], sys.argv[3], data={"email": "jenny@example.com"} if sys.argv[2] == "POST"
                              else None)
    print("asked", answer.status_code, flush=True)
    time.sleep(60)
''')

# Bounds for a stop that used to hang 15 s: far above the ~0.5 s it takes, far below the hang.
STOP_BOUND = 10


@pytest.fixture
def app(tmp_path: Path) -> Path:
    path = tmp_path / "app.py"
    path.write_text(APP)
    return path


def start(*args: object) -> subprocess.Popen[str]:
    """The CLI as a terminal runs it: its own process group, the foreground one a terminal's Ctrl-C goes to."""
    return subprocess.Popen([sys.executable, "-m", "conformance", *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)


def wait_for_asked(process: subprocess.Popen[str]) -> list[str]:
    """The output up to the command's `asked` line (it made its request and now waits)."""
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line)
        if line.startswith("asked"):
            return lines
    process.wait(STOP_BOUND)
    raise AssertionError("the command never asked: " + "".join(lines))


def signalled(process: subprocess.Popen[str], signum: int, group: bool) -> tuple[int, str]:
    """Send ``signum`` to the process group (a terminal's Ctrl-C) or the CLI alone (``kill PID``); its exit code
    and the rest of its output."""
    if group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    try:
        rest, _ = process.communicate(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        rest, _ = process.communicate()
        raise AssertionError(f"still running {STOP_BOUND}s after {signal.Signals(signum).name}: {rest}") from None
    return process.returncode, rest


CASES = [(signal.SIGINT, True), (signal.SIGTERM, True), (signal.SIGINT, False), (signal.SIGTERM, False)]
IDS = ["ctrl-c-to-the-group", "sigterm-to-the-group", "sigint-to-the-cli", "sigterm-to-the-cli"]


@pytest.mark.parametrize(("signum", "group"), CASES, ids=IDS)
def test_serve_around_a_command_stops_with_its_summary(app, tmp_path, signum, group):
    cassette = tmp_path / "one.yaml"
    with CassetteWriter(cassette) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"), Response(200)))
        writer.append(Interaction(Request("GET", "/v1/customers/cus_2"), Response(200)))
    process = start("serve", cassette, "--", sys.executable, app, API_KEY, "GET", "/v1/customers/cus_1")
    before = wait_for_asked(process)
    code, rest = signalled(process, signum, group)
    output = "".join(before) + rest
    assert code == 128 + signum, output
    assert "Session: 1 request answered, 0 misses, 1 recorded interaction never asked for" in rest, output
    assert "GET /v1/customers/cus_2" in rest
    assert "could not be read" not in output and "Traceback" not in output and "proxy stopped" not in output


@pytest.mark.parametrize(("signum", "group"), CASES, ids=IDS)
def test_record_around_a_command_stops_with_what_it_wrote(app, tmp_path, signum, group):
    cassette = tmp_path / "recorded.yaml"
    with FakeStripe() as upstream:
        process = start("record", "--upstream", upstream, "--cassette", cassette, "--",
                        sys.executable, app, API_KEY, "POST", "/v1/customers")
        before = wait_for_asked(process)
        code, rest = signalled(process, signum, group)
    output = "".join(before) + rest
    assert "asked 200" in output
    assert code == 128 + signum, output
    assert f"Wrote 1 interaction to {cassette}" in rest, output
    assert [i.endpoint for i in load(cassette).interactions] == ["customers.create"]
    assert "Traceback" not in output and "proxy stopped" not in output


def test_a_command_killed_by_a_signal_exits_as_a_shell_says(tmp_path):
    """Not interrupted by the user: the command died of SIGTERM by itself — 143, not Python's -15 turned 241."""
    cassette = tmp_path / "one.yaml"
    with CassetteWriter(cassette) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"), Response(200)))
    suicide = "import os, signal; os.kill(os.getpid(), signal.SIGTERM)"
    served = subprocess.run([sys.executable, "-m", "conformance", "serve", cassette, "--", sys.executable, "-c",
                             suicide], capture_output=True, text=True, timeout=120)
    assert served.returncode == 143, served.stdout + served.stderr
    assert "Session: 0 requests answered" in served.stdout


def _limit_file_size(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_record_around_a_command_that_exits_at_once_after_a_write_failure_fails(tmp_path):
    """The command sees its request fail and exits 0 at once, before mitmdump has finished stopping: the run still
    fails, and says why."""
    app = tmp_path / "prompt.py"
    app.write_text(textwrap.dedent('''
        import os, sys, httpx
        with httpx.Client(base_url=os.environ["CONFORMANCE_PROXY_URL"], timeout=10,
                          headers={"Authorization": "Bearer " + sys.argv[1]}) as http:
            for number in range(50):
                try:
                    if http.post("/v1/customers", data={"email": f"c{number}@example.com", "pad": "x" * 1500}
                                 ).status_code != 200:
                        break
                except httpx.HTTPError:
                    break
    '''))
    cassette = tmp_path / "full.yaml"
    with FakeStripe() as upstream:
        recorded = subprocess.run(
            [sys.executable, "-m", "conformance", "record", "--upstream", upstream, "--cassette", str(cassette), "--",
             sys.executable, str(app), API_KEY],
            capture_output=True, text=True, timeout=120, preexec_fn=_limit_file_size(8_000),
            env={**os.environ, "CONFORMANCE_CACHE": "0"})
    output = recorded.stdout + recorded.stderr
    assert recorded.returncode == 2, output
    assert f"cannot write to {cassette}" in output and "the recording proxy stopped" in output
