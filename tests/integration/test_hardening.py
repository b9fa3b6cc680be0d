"""Hardening: malformed cassettes, killed recorders, concurrent clients, failing upstreams."""

from __future__ import annotations

import base64
import json
import os
import random
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, unquote_plus

import httpx
import pytest
from click.testing import CliRunner

from conformance.cassette import load
from conformance.cli import main

from ..conftest import API_KEY
from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
HEADER = "version: 1\nname: bad\n"
GOOD = "---\nrequest: {method: GET, path: /v1/customers}\nresponse: {status: 200, json: {object: list}}\n"

MALFORMED = {
    "truncated": (HEADER + GOOD + "---\nrequest: {method: GET, path: /v1/x\n", "invalid YAML"),
    "wrong-types": (HEADER + "---\nrequest: {method: GET, path: 17}\nresponse: {status: 200}\n",
                    "request.path must be text, not a number"),
    "unknown-version": ("version: 99\n", "unsupported cassette version 99"),
    "binary-garbage": (bytes(random.Random(7).randrange(256) for _ in range(4096)), "invalid YAML"),
    "duplicate-keys": (HEADER + "---\nrequest: {method: GET, path: /v1/x}\nresponse: {status: 200, status: 404}\n",
                       "duplicate key 'status'"),
    "invalid-utf8": (HEADER.encode() + b"---\nrequest: {method: GET, path: /v1/\xff\xfe}\nresponse: {status: 200}\n",
                     "not valid UTF-8"),
    "billion-laughs": (HEADER + "---\na: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
                       + "".join(f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 9)}]\n" for i in range(8))
                       + "request: {method: GET, path: /v1/x}\nresponse: {status: 200}\n", "aliases"),
    "object-tag": (HEADER + "---\nrequest: !!python/object/apply:os.system ['touch {marker}']\nresponse: {status: 200}\n",
                   "tags such as"),
    # A document marker with content after it: every YAML tool refuses the line (an older reader took it as a key).
    "end-marker-with-key": (HEADER + GOOD.replace("---\n", "---\n", 1) + "...   name: foo\n", "line 6"),
    "start-marker-with-key": (HEADER + "...\n---   x: 1\nrequest: {method: GET, path: /v1/x}\n", "line 4"),
    "deep-nesting": (HEADER + "---\nrequest: {method: GET, path: /v1/x}\nresponse:\n  status: 200\n  json: "
                     + "[" * 5000 + "]" * 5000 + "\n", "nest"),
}


def invoke(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output, result.exception


@pytest.fixture(scope="module")
def target():
    """One fake for the module's runs: they read no state, and each fake's stop costs its poll interval."""
    with FakeStripe() as url:
        yield url


@pytest.mark.parametrize("case", sorted(MALFORMED))
@pytest.mark.parametrize("command", ["check", "run", "serve"])
def test_malformed_cassettes_are_one_clear_line_and_exit_2(tmp_path, target, case, command):
    text, problem = MALFORMED[case]
    marker = tmp_path / "executed"
    path = tmp_path / f"{case}.yaml"
    path.write_bytes(text.replace("{marker}", str(marker)).encode() if isinstance(text, str) else text)
    started = time.monotonic()
    if command == "run":
        code, output, exception = invoke("run", path, "--target", target)
    else:
        code, output, exception = invoke(command, path)
    assert time.monotonic() - started < 30
    assert code == 2, output
    assert exception is None or isinstance(exception, SystemExit), exception  # no traceback
    line = next(text for text in output.splitlines() if str(path) in text)
    if problem.startswith("line "):
        assert f"{path}:{problem.split()[1]}: invalid YAML" in line, output
    else:
        assert problem in line, output
    assert not marker.exists()  # nothing was executed


def test_run_reports_a_bad_cassette_and_replays_the_others(tmp_path, target):
    good = tmp_path / "a.yaml"
    good.write_text(HEADER + GOOD)
    (tmp_path / "b.yaml").write_bytes(MALFORMED["binary-garbage"][0])
    code, _output, _ = invoke("run", tmp_path, "--target", target, "--json-report", tmp_path / "r.json")
    assert code == 2
    report = json.loads((tmp_path / "r.json").read_text())
    assert [c["error"] is None for c in report["cassettes"]] == [True, False]
    assert report["cassettes"][0]["interactions"][0]["actual_status"] == 401  # replayed (without a key, as recorded)


def test_a_large_body_is_read_and_checked_whole(tmp_path):
    """5 MB in one scalar: read, scanned and passed, never refused or cut. A scan that is worse than linear (a
    backtracking pattern, a copy per character) never finishes on it, and the process's bound says so; how fast
    `check` reads is measured in bench/ (parse), not asserted here."""
    path = tmp_path / "big.yaml"
    path.write_text(HEADER + "---\nrequest: {method: GET, path: /v1/x}\nresponse:\n  status: 200\n  text: \""
                    + "x" * 5_000_000 + "\"\n")
    checked = subprocess.run([sys.executable, "-m", "conformance", "check", str(path)], capture_output=True,
                             text=True, timeout=120)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "1 cassette checked: 0 problems" in checked.stdout, checked.stdout


# ------------------------------------------------------------------ the recorder
class EchoHandler(BaseHTTPRequestHandler):
    """Answers with what it was sent; /v1/reset drops the connection, /v1/slow answers late."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        if self.path.startswith("/v1/reset"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            self.close_connection = True
            return
        if self.path.startswith("/v1/slow"):
            time.sleep(3)
        data = json.dumps({"object": "echo", "echo": dict(parse_qsl(body))}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


class _Listener(ThreadingHTTPServer):
    request_queue_size = 128  # 50 clients connect at once: the default backlog of 5 overflows into resets


@pytest.fixture
def echo_upstream():
    server = _Listener(("127.0.0.1", 0), EchoHandler)
    server.daemon_threads = True
    server.handle_error = lambda *a: None
    # its stop waits out one poll interval: the default half a second, in each of the tests using it
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_50_concurrent_clients_each_interaction_recorded_once_and_whole(cli, echo_upstream, tmp_path):
    path = tmp_path / "load.yaml"
    recorder = cli("record", "--upstream", echo_upstream, "--cassette", path)
    address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)

    def client(number):
        with httpx.Client(base_url=address, timeout=30) as http:
            for request in range(10):
                marker = f"c{number}-r{request}"
                assert http.post("/v1/echo", data={"marker": marker, "pad": "x" * random.randrange(2000)}).json()[
                    "echo"]["marker"] == marker

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(client, range(50)))
    assert recorder.interrupt() == 0
    interactions = load(path).interactions
    markers = [i.request.body.value["marker"] for i in interactions]
    assert sorted(markers) == sorted(f"c{c}-r{r}" for c in range(50) for r in range(10))  # each exactly once
    for interaction in interactions:  # never a request paired with another's response
        assert interaction.response.json()["echo"]["marker"] == interaction.request.body.value["marker"]


def test_an_upstream_that_fails_is_not_recorded_and_the_proxy_keeps_going(cli, echo_upstream, tmp_path):
    path = tmp_path / "faults.yaml"
    recorder = cli("record", "--upstream", echo_upstream, "--cassette", path)
    address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
    with httpx.Client(base_url=address, timeout=30) as http:
        assert http.post("/v1/echo", data={"marker": "before"}).status_code == 200
        assert http.post("/v1/reset", data={"marker": "reset"}).status_code == 502  # what the client saw
        assert http.post("/v1/echo", data={"marker": "after"}).status_code == 200
    assert recorder.interrupt() == 0
    assert [i.request.body.value["marker"] for i in load(path).interactions] == ["before", "after"]


@pytest.mark.parametrize("round_", range(4))  # a recorder that answers before its write is on disk fails each
def test_sigkill_at_a_random_moment_under_concurrent_traffic(cli, round_, tmp_path):
    rng = random.Random(round_)
    path = tmp_path / "killed.yaml"
    with FakeStripe() as upstream:
        recorder = cli("record", "--upstream", upstream, "--cassette", path)
        address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
        completed: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def client(number):
            with httpx.Client(base_url=address, timeout=5, headers={"Authorization": f"Bearer {API_KEY}"}) as http:
                count = 0
                while not stop.is_set():
                    email = f"c{number}-{count}@example.com"
                    try:
                        response = http.post("/v1/customers", data={"email": email})
                    except httpx.HTTPError:
                        return
                    if response.status_code == 200:
                        with lock:
                            completed.append(email)
                    count += 1

        threads = [threading.Thread(target=client, args=(n,), daemon=True) for n in range(4)]
        for thread in threads:
            thread.start()
        # a random moment after the first answer, so that every round has something to lose (on a loaded machine
        # the first exchange can take longer than any fixed delay)
        deadline = time.monotonic() + 60
        while not completed and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.0, 0.8))
        with lock:
            done_before_kill = set(completed)
        assert done_before_kill, "no exchange was answered within 60 s"
        recorder.kill_group()
        stop.set()
        for thread in threads:
            thread.join(10)
    assert path.exists() and path.stat().st_size, f"{len(done_before_kill)} exchanges answered before the kill, no cassette"
    recorded = [i.request.body.value["email"] for i in load(path).interactions]  # whole, or empty but valid
    assert len(recorded) == len(set(recorded))
    assert done_before_kill <= set(recorded)  # every interaction that completed before the kill is there


def _limit_file_size(limit: int) -> Callable[[], None]:
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_recorder_that_cannot_write_stops_visibly_and_keeps_what_it_wrote(echo_upstream, tmp_path):
    path = tmp_path / "full.yaml"
    recorder = subprocess.Popen(
        [sys.executable, "-m", "conformance", "record", "--upstream", echo_upstream, "--cassette", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=_limit_file_size(8_000),
        env={**os.environ, "CONFORMANCE_CACHE": "0"},
    )
    try:
        assert recorder.stdout is not None
        address = None
        for line in recorder.stdout:
            found = re.search(r"API base at (http://127\.0\.0\.1:\d+)", line)
            if found:
                address = found.group(1)
                break
        assert address, "the recorder did not start"
        answered = 0
        with httpx.Client(base_url=address, timeout=10) as http:
            for number in range(10):
                try:
                    response = http.post("/v1/echo", data={"marker": f"m{number}", "pad": "x" * 1500})
                except httpx.HTTPError:
                    break  # the exchange that could not be recorded was not answered
                if response.status_code != 200:
                    break
                answered += 1
        output = recorder.communicate(timeout=30)[0]
    finally:
        if recorder.poll() is None:
            recorder.kill()
    assert 1 <= answered < 10
    assert recorder.returncode == 2, output
    assert f"cannot write to {path}" in output and "recording stopped" in output
    assert "the recording proxy stopped" in output
    recorded = load(path)
    assert [i.request.body.value["marker"] for i in recorded.interactions] == [f"m{n}" for n in range(answered)]
    assert recorded.warnings == []  # cut back to the last whole document, not left half-written


def test_bodies_nested_too_deep_are_recorded_as_a_marked_placeholder(cli, echo_upstream, tmp_path):
    path = tmp_path / "deep.yaml"
    recorder = cli("record", "--upstream", echo_upstream, "--cassette", path)
    address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
    with httpx.Client(base_url=address, timeout=30) as http:
        for depth in (100_000, 60):  # beyond Python's recursion limit, beyond the cassette's depth limit
            body = ("[" * depth + "]" * depth).encode()
            assert http.post("/v1/echo", content=body, headers={"Content-Type": "application/json"}).status_code == 200
        key = "a" + "[b]" * 5000
        assert http.post("/v1/echo", content=f"{key}=1".encode(),
                         headers={"Content-Type": "application/x-www-form-urlencoded"}).status_code == 200
    assert recorder.interrupt() == 0
    first, second, form = load(path).interactions  # every document loads: nothing written is refused
    for interaction in (first, second):
        assert interaction.request.body.kind == "text"
        assert interaction.request.body.value.startswith("[NOT RECORDED: JSON nested deeper than 48 levels")
    assert form.request.body.kind == "form" and form.request.body.value == f"{key}=1"  # kept raw, not decoded


def test_an_unwritable_report_fails_before_the_run_starts(tmp_path):
    from ..conftest import Sentinel

    sentinel = Sentinel()
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    cassette = tmp_path / "one.yaml"
    cassette.write_text(HEADER + GOOD)
    try:
        code, output, _ = invoke("run", cassette, "--target", f"http://127.0.0.1:{sentinel.port}",
                                 "--json-report", blocker / "report.json")
    finally:
        sentinel.close()
    assert code == 2
    assert output.strip() == f"Error: cannot write {blocker / 'report.json'}: {blocker} is not a writable directory"
    assert sentinel.connections == 0


def _children(pid: int) -> list[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as stream:
            return [int(child) for child in stream.read().split()]
    except OSError:
        return []


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stream:
            return stream.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_mitmdump_dies_with_a_killed_conformance_process(cli, tmp_path):
    cassette = tmp_path / "one.yaml"
    cassette.write_text(HEADER + GOOD)
    server = cli("serve", cassette)
    server.wait_for(r"API base at http://127\.0\.0\.1:\d+")
    (mitmdump,) = _children(server.process.pid)
    os.kill(server.process.pid, signal.SIGKILL)  # the parent alone: no chance to stop its child
    deadline = time.monotonic() + 15
    while _alive(mitmdump) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(mitmdump)
    # its scratch directory (a generated CA key) outlived it; the next run removes it, and leaves its own alone
    server.process.wait(10)  # reaped, as a shell reaps what it ran
    (stale,) = Path(tempfile.gettempdir()).glob(f"conformance-mitm-{server.process.pid}-*")
    other = cli("serve", cassette)
    other.wait_for(r"API base at http://127\.0\.0\.1:\d+")
    assert not stale.exists()
    (own,) = Path(tempfile.gettempdir()).glob(f"conformance-mitm-{other.process.pid}-*")
    assert own.is_dir()
    assert other.interrupt() == 0 and not own.exists()


def test_secrets_in_every_encoding_never_reach_the_recorded_cassette(cli, echo_upstream, tmp_path):
    """The encodings that once slipped through, sent by a real client through a real recorder."""
    key = "sk_test_" + "EncodedLeak" * 3
    card = "4242424242424242"
    path = tmp_path / "encodings.yaml"
    recorder = cli("record", "--upstream", echo_upstream, "--cassette", path)
    address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with httpx.Client(base_url=address, timeout=30) as http:
        sent = [
            http.post("/v1/echo", content=b"card[number]=4242+4242+4242+4242&card[cvc]=739&expand=card&expand=x",
                      headers=form),
            http.post("/v1/echo?note=" + key.replace("_", "%5F") + "&a=1&a=2", content=b"x=1", headers=form),
            http.post("/v1/customers/" + key.replace("_", "%5F") + "/echo", content=b"x=1", headers=form),
            http.post("/v1/echo", content=('{"description": "' + key.replace("_", "\\u005f") + '", "n": ' + card
                                           + ', "c\\u0076c": "739"}').encode(),
                      headers={"Content-Type": "application/json"}),
            http.post("/v1/echo", content=f"name=Ren\xe9&card[cvc]=739&key={key}".encode("latin-1"), headers=form),
            http.post("/v1/echo", content=f"card[cvc]=739&note={key}".encode()),  # no Content-Type at all
        ]
        assert all(response.status_code == 200 for response in sent)
    assert recorder.interrupt() == 0
    assert "EncodedLeak" not in recorder.text and card not in recorder.text
    text = path.read_text()
    readable = [text, unquote_plus(text)] + [
        base64.b64decode(body.value).decode("latin-1")
        for i in load(path).interactions for body in (i.request.body, i.response.body)
        if body is not None and body.kind == "base64"
    ]
    for form_of_it in readable:
        assert "EncodedLeak" not in form_of_it and card not in form_of_it.replace(" ", "")
    assert text.count("[REDACTED:cvc]") >= 3
    checked = subprocess.run([sys.executable, "-m", "conformance", "check", str(path)], capture_output=True, text=True,
                             timeout=60)
    assert "unredacted" not in checked.stdout, checked.stdout


FALSE_GREENS = {
    "vcr-py": ("interactions:\n- request: {method: GET, uri: 'http://x/v1/customers', body: null, headers: {}}\n"
               "  response: {status: {code: 200, message: OK}, headers: {}, body: {string: '{}'}}\nversion: 1\n",
               "a VCR.py cassette, not a card-conformance cassette; convert it with: conformance import"),
    "ruby-vcr": ("---\nhttp_interactions:\n- request: {method: get, uri: 'http://x/v1/customers'}\n"
                 "recorded_with: VCR 6.2.0\n", "a Ruby VCR cassette"),
    "har": ('{"log": {"version": "1.2", "entries": []}}', "a HAR, not a card-conformance cassette"),
    "header-only": ("version: 1\nname: nothing\n", "no interactions to"),
    "misspelt-header-key": ("version: 1\nname: x\nfixture: [cus_1]\n---\n" + GOOD.removeprefix("---\n"),
                            "unknown header key 'fixture'"),
}


@pytest.mark.parametrize("case", sorted(FALSE_GREENS))
@pytest.mark.parametrize("command", ["check", "run", "serve"])
def test_nothing_checked_is_never_a_pass(tmp_path, case, command):
    text, problem = FALSE_GREENS[case]
    path = tmp_path / f"{case}.{'json' if case == 'har' else 'yaml'}"
    path.write_text(text)
    args = [command, path] + (["--target", "http://127.0.0.1:9"] if command == "run" else [])
    code, output, exception = invoke(*args)
    assert code == 2, output
    assert exception is None or isinstance(exception, SystemExit)
    assert problem in output, output
    assert len([line for line in output.splitlines() if line.startswith("Error:")]) <= 1


def test_one_empty_cassette_among_others_is_a_warning_and_a_junit_error(tmp_path, target):
    good, empty = tmp_path / "a.yaml", tmp_path / "b.yaml"
    good.write_text(HEADER + GOOD)
    empty.write_text("version: 1\nname: b\n")
    code, output, _ = invoke("run", good, empty, "--target", target, "--junit-xml", tmp_path / "junit.xml")
    assert code != 2, output  # a warning, not an input error: the other cassette was replayed
    assert f"warning {empty}: holds no interaction: nothing in it was checked" in output
    assert 'message="' + str(empty) + ': holds no interaction' in (tmp_path / "junit.xml").read_text()
    code, output, _ = invoke("check", good, empty)
    assert code == 0 and f"warning: {empty}: holds no interaction" in output
