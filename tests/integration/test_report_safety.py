"""A hostile target's answers in every report, with real processes: markup, terminal escapes and XML-invalid
characters stay text, and secrets it echoes in any encoding never reach the terminal or a report."""

from __future__ import annotations

import json
import re
import secrets
import threading
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import xmlschema
from markdown_it import MarkdownIt

from ..conftest import CLIProcess
from ..leaks import ENCODINGS, leaks, some_secrets

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]

# Each piece breaks out of one kind of report if written raw.
HOSTILE = {
    "html": "<script>alert(1)</script><img src=x onerror=alert(2)></details></pre></td></table><!--",
    "markdown": "[click](javascript:alert(3)) ![pixel](http://127.0.0.1:9/p.png) ```\n# Heading\n| a | b |\n<marquee>x</marquee>",
    "terminal": "\x1b[31mRED\x1b]0;title\x07\x1b[2J\r\x08\x9b31m",
    "bidi": "\u202egnp.exe\u2066x\u2069\u200f",
    "xml": "\x00\x01\x0b\ufffe]]>&amp;<![CDATA[x]]>",
    "template": "{{ 7 * 7 }}{% raw %}${7*7}",
}
PAYLOAD = " ".join(HOSTILE.values())
TERMINAL_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class Hostile(BaseHTTPRequestHandler):
    """Answers every request with markup and control characters where the card's values go, and quotes the
    API key it was sent back in every encoding, with secrets of its own beside it."""

    protocol_version = "HTTP/1.1"
    own: ClassVar[dict[str, str]] = {}

    def log_message(self, *args: object) -> None:
        pass

    def answer(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        key = self.headers.get("Authorization", "").removeprefix("Bearer ")
        quoted = {name: encode(value) for value in (key, *self.own.values()) for name, encode in ENCODINGS.items()}
        data = {"id": f"card_{PAYLOAD}", "object": "card", "name": PAYLOAD, "address_city": PAYLOAD,
                "metadata": {PAYLOAD: PAYLOAD}, "echo": list(quoted.values()),
                "error": {"type": "invalid_request_error", "message": f"No such key: '{key}' {PAYLOAD}"}}
        body = json.dumps(data).encode()
        self.send_response(400 if self.command == "DELETE" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("X-Hostile", "\x1b[2J<script>x</script>")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_DELETE = answer


@pytest.fixture(scope="module")
def hostile() -> Iterator[tuple[str, dict[str, str]]]:
    own = some_secrets()
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Handler", (Hostile,), {"own": own}))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", own
    server.shutdown()
    server.server_close()


def _strings(data: object) -> set[str]:
    """Every string in JSON data, keys included."""
    if isinstance(data, dict):
        return set(data).union(*(_strings(value) for value in data.values()))
    if isinstance(data, list):
        return set().union(*(_strings(value) for value in data))
    return {data} if isinstance(data, str) else set()


class Tags(HTMLParser):
    """Every start tag with its attributes, end tags counted, and the text between them."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.starts: list[tuple[str, dict[str, str | None]]] = []
        self.ends: dict[str, int] = {}
        self.text: list[str] = []
        self.comments = 0
        self.feed(page)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.starts.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        self.ends[tag] = self.ends.get(tag, 0) + 1

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_comment(self, data: str) -> None:
        self.comments += 1

    def count(self, tag: str) -> int:
        return sum(1 for name, _ in self.starts if name == tag)

    def injected(self) -> list[str]:
        """Elements and attributes only a target's answer could have put there."""
        found = [tag for tag, _ in self.starts if tag in ("img", "iframe", "object", "embed", "marquee")]
        found += [f"{tag}[{name}]" for tag, attrs in self.starts for name in attrs if name.startswith("on")]
        found += [f"{tag}[{name}={value}]" for tag, attrs in self.starts for name, value in attrs.items()
                  if value and re.match(r"\s*(javascript|data):|http://127\.0\.0\.1:9", value)]
        return found


@pytest.fixture(scope="module")
def hostile_run(hostile, tmp_path_factory) -> Iterator[tuple[Path, str, list[str]]]:
    """One `conformance run` of the reference suite against the hostile target, every report written: the tests
    below read the same terminal output and reports, each for its own kind of harm."""
    url, own = hostile
    key = "sk_test_51" + secrets.token_hex(12)
    reports = tmp_path_factory.mktemp("hostile") / "reports"
    process = CLIProcess([str(arg) for arg in (
        "run", ROOT / "cassettes", "--target", url, "--api-key", key, "--show-all",
        "--json-report", reports / "report.json", "--junit-xml", reports / "junit.xml",
        "--html-report", reports / "report.html", "--markdown-report", reports / "summary.md")])
    try:
        assert process.finish(120) == 1, process.text[-2000:]
        yield reports, process.text, [key, *own.values()]
    finally:
        process.close()


def test_markup_and_control_characters_from_a_target_stay_text_in_every_report(hostile_run):
    reports, terminal, _ = hostile_run

    # the terminal: no escape sequence, control or bidi character reaches it; each is shown escaped
    assert TERMINAL_CONTROL.findall(terminal.replace("\n", "")) == []
    assert "\\x1b[31mRED" in terminal and "\\u202egnp.exe" in terminal

    # JSON is data: the target's answer is kept exactly, as JSON text
    report = json.loads((reports / "report.json").read_text())
    assert PAYLOAD in _strings(report)

    # JUnit: well-formed XML by the schema CI servers use, the markup a message's text
    junit = reports / "junit.xml"
    xmlschema.XMLSchema(ROOT / "tests" / "schemas" / "junit.xsd").validate(junit)
    tree = ElementTree.parse(junit)
    messages = " ".join(element.get("message", "") + (element.text or "") for element in tree.iter("failure"))
    assert HOSTILE["html"][:40] in messages
    assert {element.tag for element in tree.iter()} <= {"testsuites", "testsuite", "testcase", "failure", "skipped",
                                                          "system-out", "properties", "property", "error"}
    # its bidirectional overrides shown as escapes, as in every other format: a CI page shows them in order
    assert re.findall("[\u200e\u200f\u202a-\u202e\u2066-\u2069]", junit.read_text()) == []
    assert "\\u202egnp.exe" in messages

    # HTML: the page's own elements only, the target's markup shown as text
    page = Tags((reports / "report.html").read_text())
    assert page.injected() == []
    assert page.count("script") == page.ends.get("script", 0) == 1  # the page's own filter script
    assert page.count("details") == page.ends.get("details", 0) and page.comments == 0
    assert any(HOSTILE["html"][:40] in text for text in page.text)

    # Markdown, rendered as a pull-request comment would be (raw HTML allowed, as CommonMark does)
    markdown = (reports / "summary.md").read_text()
    rendered = Tags(MarkdownIt("commonmark").render(markdown))
    assert rendered.injected() == []
    assert rendered.count("script") == 0 and rendered.count("details") == rendered.ends.get("details", 0)
    headings = re.findall(r"<h\d>(.*?)</h\d>", MarkdownIt("commonmark").render(markdown))
    assert headings and not [heading for heading in headings if "Heading" in heading or "alert" in heading]
    assert "alert(1)" in "".join(rendered.text)  # it is there, as text


def test_secrets_a_target_echoes_in_any_encoding_reach_neither_the_terminal_nor_a_report(hostile_run):
    reports, terminal, sent = hostile_run
    texts = {"terminal": terminal, **{path.name: path.read_text() for path in sorted(reports.iterdir())}}
    assert set(texts) == {"terminal", "report.json", "junit.xml", "report.html", "summary.md"}
    assert "[REDACTED" in texts["report.json"]  # the echoes are in the report, redacted
    leaked = [(where, name, secret[:8]) for where, text in texts.items() for secret in sent
              for name, encode in ENCODINGS.items() if encode(secret) in text]
    leaked += [(where, "any reading", secret[:8]) for where, text in texts.items() for secret in sent
               if leaks(text, secret)]
    assert leaked == []
