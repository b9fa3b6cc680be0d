"""``conformance run`` against real servers on 127.0.0.1, replaying cassettes recorded by the real recorder."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from click.testing import CliRunner

from conformance.cassette import iter_interactions
from conformance.cli import main
from conformance.suite.scenarios import Session, card_lifecycle

from ..conftest import API_KEY, CLIProcess
from ..fault_target import FAULTS, FaultTarget
from ..stripe_fake import DEVIATIONS, FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def record(directory: Path, tokens: str) -> Path:
    """The card lifecycle through the real recorder in front of the documented fake."""
    path = directory / f"lifecycle-{tokens}.yaml"
    with FakeStripe() as upstream:
        recorder = CLIProcess(["record", "--upstream", upstream, "--cassette", str(path)])
        try:
            address = recorder.wait_for(r"API base at (http://127\.0\.0\.1:\d+)").group(1)
            card_lifecycle(Session(address, API_KEY, tokens=tokens))
            assert recorder.interrupt() == 0
        finally:
            recorder.close()
    return path


@pytest.fixture(scope="session")
def lifecycle(tmp_path_factory):
    return record(tmp_path_factory.mktemp("recorded"), "magic")


@pytest.fixture(scope="session")
def token_lifecycle(tmp_path_factory):
    return record(tmp_path_factory.mktemp("recorded"), "create")


def run_cli(*args, env=None):
    """The CLI in-process (fast, for the matrices); returns (exit code, output)."""
    result = CliRunner().invoke(main, ["run", *map(str, args)], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def findings_of(report: Path):
    data = json.loads(report.read_text())
    return [
        (interaction["endpoint"], finding["rule"], finding["path"], finding["severity"])
        for cassette in data["cassettes"] for interaction in cassette["interactions"]
        for finding in interaction["findings"]
    ]


def test_a_faithful_target_conforms_with_zero_findings(lifecycle, tmp_path):
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    with FakeStripe() as target:
        process = subprocess.run(
            [sys.executable, "-m", "conformance", "run", str(lifecycle), "--target", target, "--api-key", API_KEY,
             "--json-report", str(report), "--junit-xml", str(junit)],
            capture_output=True, text=True, timeout=120,
        )
    assert process.returncode == 0, process.stdout + process.stderr
    data = json.loads(report.read_text())
    assert data["schema"] == "card-conformance/report/3"
    assert data["summary"]["failures"] == 0 and data["summary"]["warnings"] == 0
    assert data["summary"]["interactions"] == data["summary"]["passed"] == 17
    assert "conforms" in process.stdout
    suite = ET.parse(junit).getroot().find("testsuite")
    assert len(suite.findall("testcase")) == 17 and suite.get("failures") == "0"
    assert API_KEY not in report.read_text() + junit.read_text() + process.stdout


EXPECTED = {
    "missing-null-field": ("cards.update", "keys.missing", "address_line2"),
    "empty-string-for-null": ("sources.create", "type", "address_line2"),
    "deleted-false": ("cards.delete", "invariant.deleted", "deleted"),
    "has-more-string": ("cards.list", "invariant.list", "has_more"),
    "wrong-list-url": ("cards.list", "invariant.list", "url"),
    "integer-as-string": ("cards.retrieve", "invariant.card", "exp_month"),
    "201-for-200": ("cards.update", "status", ""),
    "400-for-404": ("cards.retrieve", "status", ""),
    "wrong-error-code": ("sources.retrieve", "value", "error.code"),
    "starting-after-ignored": ("cards.list", "invariant.list", "data"),
    "metadata-unset-ignored": ("cards.update", "value", "metadata.channel"),
    "update-ignores-name": ("cards.update", "type", "name"),
    "wrong-card-customer": ("cards.retrieve", "id.binding", "customer"),
    "stale-default-source": ("customers.retrieve", "invariant.default_source", "default_source"),
    "wrong-id-prefix": ("sources.create", "invariant.card", "id"),
    "extra-field": ("cards.retrieve", "keys.extra", "display_brand"),
    "unknown-tokens": ("sources.create", "status", ""),
    "no-cards-routes": ("cards.list", "route.missing", ""),
    "cards-as-accounts": ("sources.create", "object", "object"),
    # the recording has them right; with --openapi the contract says so even when it does not (test_contract_cli)
    "customer-without-livemode": ("customers.create", "keys.missing", "livemode"),
    "expanded-customer": ("cards.retrieve", "type", "customer"),
    "refuse-amex": ("sources.create", "status", ""),
    "oldest-first": ("cards.list", "list.order", "data"),
    "limit-ignored": ("cards.list", "invariant.list", "data"),
    "default-oldest": ("customers.retrieve", "invariant.default_source", "default_source"),
    "stateless": ("cards.delete", "invariant.deleted", "object"),
}


def test_a_rule_whose_precondition_never_held_is_not_judged_and_says_why(lifecycle, tmp_path):
    """The lifecycle deletes the default with two cards left, one of them the Amex: refused, one card is left,
    and "the most recently added becomes the default" cannot be told from "the oldest"."""
    report = tmp_path / "report.json"
    with FakeStripe(deviation="refuse-amex,default-oldest") as target:
        code, output = run_cli(lifecycle, "--target", target, "--json-report", report)
    assert code == 1, output
    data = json.loads(report.read_text())
    (note,) = data["not_judged"]
    assert note["rule"] == "invariant.default_source" and "not judged: one card was left" in note["reason"]
    assert "the card attached 3rd" in note["reason"]  # the Amex, by when the recording attached it
    assert "Not judged (1" in output and "[invariant.default_source]" in output
    assert not any(c["rule"] == "invariant.default_source" for c in data["root_causes"])


def test_every_deviation_has_an_expectation():
    assert set(EXPECTED) == set(DEVIATIONS)


@pytest.mark.parametrize("deviation", DEVIATIONS)
def test_each_injected_deviation_is_caught_with_its_path_and_rule(lifecycle, tmp_path, deviation):
    report = tmp_path / "report.json"
    strict = ["--strict"] if deviation == "extra-field" else []
    with FakeStripe(deviation=deviation) as target:
        code, output = run_cli(lifecycle, "--target", target, "--json-report", report, *strict)
    assert code == 1, output
    endpoint, rule, path = EXPECTED[deviation]
    assert (endpoint, rule, path, "failure") in findings_of(report), output


def test_an_extra_field_is_only_a_warning_by_default(lifecycle, tmp_path):
    report = tmp_path / "report.json"
    with FakeStripe(deviation="extra-field") as target:
        code, output = run_cli(lifecycle, "--target", target, "--json-report", report)
    assert code == 0, output
    assert {severity for *_, severity in findings_of(report)} == {"warning"}


def test_ignore_turns_a_known_deviation_off(lifecycle, tmp_path):
    with FakeStripe(deviation="update-ignores-name") as target:
        code, output = run_cli(lifecycle, "--target", target, "--ignore", "name")
    assert code == 0, output


def test_localstripe_known_deviations_show_up(token_lifecycle, localstripe_url, tmp_path):
    report = tmp_path / "report.json"
    code, _output = run_cli(token_lifecycle, "--target", localstripe_url, "--json-report", report)
    assert code == 1
    found = findings_of(report)
    # deleting a source answers the customer object
    assert ("cards.delete", "invariant.deleted", "object", "failure") in found
    # /v1/customers/:id/cards list and retrieve are not routed: a missing route, not a status and a body
    assert ("cards.list", "route.missing", "", "failure") in found
    assert ("cards.retrieve", "route.missing", "", "failure") in found
    assert ("cards.list", "status", "", "failure") not in found and ("cards.list", "body.json", "", "failure") not in found
    # errors lack code
    assert ("sources.retrieve", "keys.missing", "error.code", "failure") in found
    # form-encoded expiry comes back as strings
    assert ("cards.update", "invariant.card", "exp_month", "failure") in found
    # metadata[k]= stores "" instead of unsetting
    assert ("cards.update", "value", "metadata.channel", "failure") in found


def test_wait_for_target_waits_for_one_that_is_still_starting(tmp_path):
    from conformance.net import free_port

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    code, output = run_cli(ROOT / "cassettes" / "cards-retrieve.yaml", "--target", url)
    assert code == 2 and "--wait-for-target SECONDS waits for one that is starting" in output
    late: list[subprocess.Popen] = []
    starter = threading.Timer(1.5, lambda: late.append(subprocess.Popen(
        [sys.executable, "-m", "tests.stripe_fake", "--port", str(port)], cwd=ROOT)))
    starter.start()
    try:
        code, output = run_cli(ROOT / "cassettes" / "cards-retrieve.yaml", "--target", url, "--wait-for-target", "30")
    finally:
        starter.join()
        for process in late:
            process.terminate()
            process.wait(10)
    assert code == 0, output
    code, output = run_cli(ROOT / "cassettes" / "cards-retrieve.yaml", "--target", url, "--wait-for-target", "0.5")
    assert code == 2 and "(waited 0.5s)" in output


def test_magic_tokens_refused_by_localstripe_say_to_replay_with_tokens_create(localstripe_url):
    code, output = run_cli(ROOT / "cassettes" / "cards-retrieve.yaml", "--target", localstripe_url)
    assert code == 1
    assert "the request sent Stripe's magic test token tok_mastercard, which the target may not know: replay " \
           "with --tokens create" in output


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_the_reproduce_line_reproduces_the_deviation(tmp_path, monkeypatch):
    """The curl line of a failed interaction, run as printed with the key in STRIPE_API_KEY, gets the same answer."""
    with FakeStripe(deviation="integer-as-string") as target:
        code, output = run_cli(ROOT / "cassettes" / "cards-retrieve.yaml", "--target", target, "--api-key", API_KEY,
                               "--json-report", tmp_path / "r.json")
        assert code == 1 and "reproduce: curl -X " in output
        report = json.loads((tmp_path / "r.json").read_text())
        curl = next(i["curl"] for c in report["cassettes"] for i in c["interactions"]
                    if i["outcome"] == "failed" and i["method"] == "GET")
        assert API_KEY not in output + curl and '"Authorization: Bearer $STRIPE_API_KEY"' in curl
        answer = subprocess.run(["sh", "-c", curl + " --silent"], capture_output=True, text=True, timeout=30,
                                env={"PATH": "/usr/bin:/bin", "STRIPE_API_KEY": API_KEY})
    assert isinstance(json.loads(answer.stdout)["exp_month"], str)  # the deviation, reproduced: text for an integer
    assert all(cause["curl"].startswith("curl -X ") for cause in report["root_causes"])


TIMED_OUT = ("slow", "drip", "drip-headers")


@pytest.mark.parametrize("fault", FAULTS)
def test_target_faults_are_findings_and_the_run_goes_on(lifecycle, tmp_path, fault):
    report = tmp_path / "report.json"
    # each of the 17 exchanges waits out the timeout where the target never answers in time: 0.3 s is still three
    # of drip's 0.1 s gaps between bytes (only the whole exchange's deadline ends it); an answering fault keeps a
    # loaded machine's margin
    timeout = "0.3" if fault in TIMED_OUT else "0.5"
    with FaultTarget(fault) as target:
        code, output = run_cli(lifecycle, "--target", target, "--json-report", report, "--timeout", timeout)
    # a target that answers every request 401 refuses the key: a setup error, exit 2, with every finding kept
    assert code == (2 if fault == "echo-auth" else 1), output
    data = json.loads(report.read_text())
    interactions = data["cassettes"][0]["interactions"]
    assert len(interactions) == 17  # every interaction was attempted
    assert interactions[0]["outcome"] == "failed"
    # what the customer creation would have minted is never bound: the rest fail because of it, but a fault of
    # the target's (a reset, a timeout) is its own on every exchange, whatever id the request needed
    assert all(i["outcome"] in ("failed", "blocked") for i in interactions)
    if fault in ("truncated", "reset", "slow", "drip", "drip-headers"):
        assert all(i["outcome"] == "failed" and i["blocked_by"] == 1 for i in interactions[1:])
        assert len([c for c in data["root_causes"] if c["severity"] == "failure"]) == 1, data["root_causes"]
    else:
        assert any(i["outcome"] == "blocked" and i["blocked_by"] == 1 for i in interactions)
    rules = {f["rule"] for f in interactions[0]["findings"]}
    expected = {
        "http-500": "status", "html-502": "body.json", "text-plain": "body.json", "invalid-json": "body.json",
        "empty-body": "body.json", "truncated": "target.protocol", "reset": "target.protocol",
        "slow": "target.timeout", "redirect": "status", "deep-json": "body.json", "drip": "target.timeout",
        "drip-headers": "target.timeout", "echo-auth": "status",
    }[fault]
    assert expected in rules, interactions[0]["findings"]
    assert "Traceback" not in output


def test_a_target_that_goes_away_mid_run(lifecycle, tmp_path):
    report = tmp_path / "report.json"
    fake = FakeStripe()
    target = fake.__enter__()
    store = fake.server.RequestHandlerClass.store
    original = store.handle
    calls = []

    def handle_then_stop(*args):
        calls.append(1)
        if len(calls) == 3:
            store.gone = True  # open connections are dropped...
            threading.Thread(target=lambda: (fake.server.shutdown(), fake.server.server_close())).start()
        return original(*args)  # ...after this third answer; new ones are refused

    store.handle = handle_then_stop
    code, _output = run_cli(lifecycle, "--target", target, "--json-report", report, "--timeout", "2")
    assert code == 1
    interactions = json.loads(report.read_text())["cassettes"][0]["interactions"]
    assert [i["outcome"] for i in interactions[:3]] == ["passed"] * 3
    later = {f["rule"] for i in interactions[4:] for f in i["findings"]}
    assert later <= {"target.connection", "target.protocol"} and later


def test_input_errors_exit_2_with_one_line(lifecycle, tmp_path):
    code, output = run_cli(lifecycle, "--target", "http://127.0.0.1:9")
    assert code == 2 and output.strip() == ("Error: cannot reach target http://127.0.0.1:9: Connection refused; is it "
                                            "running? (--wait-for-target SECONDS waits for one that is starting)")
    code, output = run_cli(lifecycle, "--target", "http://127.0.0.1:9", "--api-key", "sk_live_" + "a" * 24)
    assert code == 2 and "refusing a live API key" in output
    code, output = run_cli(tmp_path / "nothing-here", "--target", "http://127.0.0.1:9")
    assert code == 2 and "no such file or directory" in output
    code, output = run_cli(lifecycle)
    assert code == 2 and "give exactly one of --target URL and --target-cmd CMD" in output


def test_a_bad_cassette_is_reported_and_the_others_still_run(lifecycle, tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(lifecycle, suite / "a-good.yaml")
    (suite / "b-bad.yaml").write_text("version: 1\n---\nrequest: {method: GET, path: /v1/x}\n")
    report = tmp_path / "report.json"
    with FakeStripe() as target:
        code, output = run_cli(suite, "--target", target, "--json-report", report)
    assert code == 2
    assert re.search(r"b-bad\.yaml:3: interaction 1: an interaction needs both request and response", output)
    data = json.loads(report.read_text())
    assert data["summary"]["passed"] == 17 and data["summary"]["input_errors"] == 1


def test_target_cmd_starts_and_stops_the_target(lifecycle):
    command = f"{sys.executable} -m tests.stripe_fake --port {{port}}"
    process = subprocess.run([sys.executable, "-m", "conformance", "run", str(lifecycle), "--target-cmd", command],
                             capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert process.returncode == 0, process.stdout + process.stderr
    failing = subprocess.run([sys.executable, "-m", "conformance", "run", str(lifecycle), "--target-cmd",
                              command + " --deviation deleted-false"], capture_output=True, text=True, timeout=120,
                             cwd=ROOT)
    assert failing.returncode == 1 and "invariant.deleted" in failing.stdout


def test_the_default_key_is_one_stripe_mock_accepts_and_a_refused_key_is_exit_2_with_why(tmp_path, monkeypatch):
    """The fake checks keys as stripe-mock does (sk_/rk_, test, one more part without '_')."""
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    suite = ROOT / "cassettes"
    with FakeStripe() as target:
        assert CliRunner().invoke(main, ["run", str(suite), "--target", target]).exit_code == 0
        result = CliRunner().invoke(main, ["run", str(suite), "--target", target, "--api-key", "sk_test_two_parts",
                                           "--json-report", str(tmp_path / "r.json")])
    assert result.exit_code == 2, result.output
    assert "Error: every request was refused with 401: the target does not accept the API key" in result.output
    assert "Root causes" not in result.output and "sk_test_two_parts" not in result.output
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["exit_code"] == 2 and report["error"].startswith("every request was refused with 401")


def test_a_plain_http_target_url_for_an_https_port_is_exit_2_with_the_fix():
    """What Go's net/http (stripe-mock) answers plain HTTP on its HTTPS port, 12112: a raw 400 without headers."""
    import http.server
    import threading

    class HttpsPort(http.server.BaseHTTPRequestHandler):
        def handle_one_request(self) -> None:
            self.raw_requestline = self.rfile.readline(65537)
            self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
            self.close_connection = True

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), HttpsPort)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        result = CliRunner().invoke(main, ["run", str(ROOT / "cassettes"), "--target",
                                           f"http://127.0.0.1:{server.server_address[1]}"])
    finally:
        server.shutdown()
    assert result.exit_code == 2, result.output
    assert "every answer 400" in result.output and "speaks HTTPS at that port; give --target https://" in result.output
    assert "Root causes" not in result.output


def test_a_target_that_logs_to_stderr_never_stalls_the_run(lifecycle, tmp_path):
    """A --target-cmd whose every request writes a screenful to stderr: far more than a pipe holds, read all along
    (a pipe nobody drains stops the target at its next write, and the run with it)."""
    chatty = tmp_path / "chatty_target.py"
    chatty.write_text(
        "import sys\n"
        "from http.server import ThreadingHTTPServer\n"
        "from tests.stripe_fake import Handler, Store\n"
        "class Chatty(Handler):\n"
        "    store = Store()\n"
        "    def log_message(self, format, *args):\n"
        "        sys.stderr.write('request ' + 'x' * 20000 + '\\n')\n"
        "        sys.stderr.flush()\n"
        "ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Chatty).serve_forever()\n")
    command = f"{sys.executable} {chatty} {{port}}"
    started = time.monotonic()
    code, output = run_cli(lifecycle, "--target-cmd", command, "--timeout", "5",
                           env={"PYTHONPATH": str(ROOT)})
    assert code == 0, output
    assert "17 passed" in output and time.monotonic() - started < 60  # 17 × 20 KB: a 64 KB pipe fills at the 4th


def test_workers_replay_cassettes_concurrently_with_the_same_results(lifecycle, tmp_path):
    suite = tmp_path / "suite"
    suite.mkdir()
    for name in "abcd":
        shutil.copy(lifecycle, suite / f"{name}.yaml")
    reports = []
    for workers in ("1", "3"):
        report = tmp_path / f"report-{workers}.json"
        with FakeStripe(deviation="deleted-false") as target:
            code, _ = run_cli(suite, "--target", target, "--workers", workers, "--json-report", report)
        assert code == 1
        reports.append(findings_of(report))
    assert reports[0] == reports[1] and len(reports[0]) == 4 * 2


class _Gateway(BaseHTTPRequestHandler):
    """Mounts the fake under /gateway, sets a cookie on every answer and keeps what it was sent."""

    protocol_version = "HTTP/1.1"
    upstream = ""
    seen: ClassVar[list[tuple[str, str, dict[str, str]]]] = []

    def log_message(self, *args: object) -> None:
        pass

    def forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.seen.append((self.command, self.path, headers))
        if not self.path.startswith("/gateway/"):
            self.send_error(404)
            return
        answer = httpx.request(self.command, self.upstream + self.path.removeprefix("/gateway"), content=body,
                               headers={k: v for k, v in headers.items() if k != "host"})
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers["content-type"])
        self.send_header("Content-Length", str(len(answer.content)))
        self.send_header("Set-Cookie", "session=from-the-target; Path=/")
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_POST = do_DELETE = forward


def test_a_target_under_a_path_gets_exactly_the_cassettes_requests(lifecycle, tmp_path):
    recorded = [(i.request.method, i.request.path) for i in iter_interactions(lifecycle, {})]
    report = tmp_path / "report.json"
    with FakeStripe() as upstream:
        handler = type("Gateway", (_Gateway,), {"upstream": upstream, "seen": []})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            code, output = run_cli(lifecycle, "--target", f"http://127.0.0.1:{server.server_address[1]}/gateway/",
                                   "--api-key", API_KEY, "--json-report", report)
        finally:
            server.shutdown()
            server.server_close()
    assert code == 0, output
    assert len(handler.seen) == len(recorded)
    assert all(path.startswith("/gateway/v1/") for _, path, _ in handler.seen)
    for (method, path, headers), (recorded_method, recorded_path) in zip(handler.seen, recorded):
        assert method == recorded_method
        shape = re.sub(r"(cus|card|src|tok)_\w+", r"\1_", path.split("?")[0].removeprefix("/gateway"))
        assert shape == re.sub(r"(cus|card|src|tok)_\w+", r"\1_", recorded_path)
        assert "cookie" not in headers  # the target's cookie is not a header of the cassette
        assert headers["authorization"] == f"Bearer {API_KEY}"
        assert headers["user-agent"].startswith("card-conformance/")


def test_a_target_quoting_the_api_key_leaks_it_into_no_output(lifecycle, tmp_path):
    key = "sk_test_" + "QuotedBack" * 3
    reports = {name: tmp_path / name for name in ("report.json", "junit.xml", "report.html", "summary.md")}
    with FaultTarget("echo-auth") as target:
        code, output = run_cli(lifecycle, "--target", target, "--api-key", key, "--json-report", reports["report.json"],
                               "--junit-xml", reports["junit.xml"], "--html-report", reports["report.html"],
                               "--markdown-report", reports["summary.md"])
    assert code == 2  # every answer 401: the key refused, said in one line; the reports are written all the same
    for name, path in reports.items():
        text = path.read_text(encoding="utf-8")
        assert "QuotedBack" not in text, name
    assert "QuotedBack" not in output
    data = json.loads(reports["report.json"].read_text())
    actual = data["cassettes"][0]["interactions"][0]["actual_body"]
    assert "Bearer [REDACTED:sk_test]" in actual  # the page is kept, the key is not


def test_a_target_with_its_own_certificate_is_trusted_with_cacert_and_says_why_without(lifecycle, tmp_path):
    from ..tls import self_signed

    cert, key = self_signed(tmp_path)
    with FakeStripe(tls=(cert, key)) as target:
        code, output = run_cli(lifecycle, "--target", target)
        assert code == 1
        # the target's own words in the terminal: why the connection failed, and what to do
        assert "[target.connection] cannot connect to the target: [SSL: CERTIFICATE_VERIFY_FAILED]" in output
        assert "trust the target's CA with --cacert FILE, or pass --insecure" in output
        assert run_cli(lifecycle, "--target", target, "--cacert", cert)[0] == 0
        assert run_cli(lifecycle, "--target", target, "--insecure")[0] == 0


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_run_writes_its_reports_marked_interrupted(lifecycle, tmp_path, signum, code):
    report, junit = tmp_path / "report.json", tmp_path / "junit.xml"
    slow = FaultTarget("slow")  # every answer takes 3 s
    with slow as target:
        asked = threading.Event()
        answering = slow.server.RequestHandlerClass

        class Watched(answering):  # type: ignore[misc,valid-type]
            def handle(self) -> None:
                asked.set()
                super().handle()

        slow.server.RequestHandlerClass = Watched
        process = subprocess.Popen(
            [sys.executable, "-m", "conformance", "run", str(lifecycle), "--target", target, "--timeout", "10",
             "--json-report", str(report), "--junit-xml", str(junit)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        # inside the first exchange, however long the interpreter took to start under load
        assert asked.wait(60), "the run never reached the target"
        time.sleep(0.5)
        process.send_signal(signum)
        output = process.communicate(timeout=60)[0]
    assert process.returncode == code, output
    data = json.loads(report.read_text())
    assert data["interrupted"] is True and data["exit_code"] == code
    ran = data["cassettes"][0]["interactions"]
    assert 1 <= len(ran) < 17  # what ran so far, not the rest
    assert junit.exists() and "interrupted" in output and "Traceback" not in output


def test_run_sends_the_recorded_api_version_or_the_one_asked_for(tmp_path):
    """Each request's recorded Stripe-Version, else its cassette's api_version; --stripe-version overrides both."""
    seen: list[str | None] = []

    class Echo(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.headers.get("Stripe-Version"))
            body = b'{"id": "cus_AAAAAAAAAAAAAA", "object": "customer"}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    cassette = tmp_path / "v.yaml"
    cassette.write_text(
        "version: 1\nname: v\napi_version: \"2023-08-16\"\n---\n"
        + "---\n".join(f"interaction: {n}\nrequest:\n  method: GET\n  path: /v1/customers/cus_AAAAAAAAAAAAAA\n"
                        f"  headers:\n{headers}response:\n  status: 200\n  json:\n    id: cus_AAAAAAAAAAAAAA\n"
                        "    object: customer\n"
                        for n, headers in ((1, "    Stripe-Version: \"2020-08-27\"\n"), (2, "    Accept: '*/*'\n"))))
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    target = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert run_cli(cassette, "--target", target)[0] == 0
        assert seen == ["2020-08-27", "2023-08-16"]
        seen.clear()
        assert run_cli(cassette, "--target", target, "--stripe-version", "2024-06-20")[0] == 0
        assert seen == ["2024-06-20", "2024-06-20"]
    finally:
        server.shutdown()
        server.server_close()


def test_a_contract_of_another_api_version_is_said(tmp_path):
    spec = Path(__file__).resolve().parents[1] / "schemas" / "cards-openapi.yaml"
    cassette = tmp_path / "old.yaml"
    source = (Path(__file__).resolve().parents[2] / "cassettes" / "cards-retrieve.yaml").read_text()
    cassette.write_text(source.replace('api_version: "2023-08-16"', 'api_version: "2020-08-27"'))
    from ..stripe_fake import FakeStripe as Fake

    with Fake() as target:
        _, output = run_cli(cassette, "--target", target, "--openapi", spec)
    assert "its answers follow API 2020-08-27, the contract cards-openapi.yaml (API 2023-08-16) describes " \
           "2023-08-16" in output, output
    checked = CliRunner().invoke(main, ["check", str(cassette), "--openapi", str(spec)])
    assert "warning: its answers follow API 2020-08-27" in checked.output, checked.output
