"""`--openapi` never reaches the network, and a spec that cannot be used is one line, exit 2.

A "remote" schema server on 127.0.0.1 counts every connection it gets; specs that point at it in every spelling of
a reference are given to `check`, `run` and `matrix` (real processes for each command, the variants in process),
and a few dozen malformed specs to `check` and `run`.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.contract.spec import read_spec

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
SPEC = ROOT / "tests" / "schemas" / "cards-openapi.yaml"
CASSETTE = ROOT / "cassettes" / "cards-retrieve.yaml"
CARD_PATH = "/v1/customers/{customer}/cards/{id}"


class _Schemas(BaseHTTPRequestHandler):
    """Serves a permissive JSON Schema at any path, as a remote schema host would."""

    protocol_version = "HTTP/1.1"
    hits: list[str]

    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.hits.append(self.path)
        body = b'{"type": "object"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/schema+json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class RemoteSchemas:
    """A real HTTP server on 127.0.0.1 that counts the TCP connections it accepts (requests or not)."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        handler = type("Handler", (_Schemas,), {"hits": self.hits})
        self.connections = 0
        outer = self

        class Server(ThreadingHTTPServer):
            daemon_threads = True

            def get_request(self) -> Any:
                outer.connections += 1
                return super().get_request()

        self.server = Server(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def remote() -> Iterator[RemoteSchemas]:
    server = RemoteSchemas()
    yield server
    server.close()


@pytest.fixture(autouse=True)
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))


def _document() -> dict[str, Any]:
    return read_spec(SPEC, SPEC.read_bytes())


def _card(document: dict[str, Any]) -> dict[str, Any]:
    card: dict[str, Any] = document["components"]["schemas"]["card"]
    return card


def _with_brand(reference: str, key: str = "$ref") -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        _card(document)["properties"]["brand"] = {key: reference}
    return change


def _variants(port: int) -> dict[str, Callable[[dict[str, Any]], None]]:
    """Every way a spec may name a schema outside itself."""
    host = f"127.0.0.1:{port}"

    def response_ref(document: dict[str, Any]) -> None:
        document["paths"][CARD_PATH]["get"]["responses"]["200"] = {"$ref": f"http://{host}/responses/card"}

    def based_on_id(document: dict[str, Any]) -> None:  # a relative reference resolved against the schema's id
        _card(document)["id"] = f"http://{host}/schemas/"
        _card(document)["properties"]["brand"] = {"$ref": "brand.json"}

    def openapi_31_dynamic(document: dict[str, Any]) -> None:
        document["openapi"] = "3.1.0"
        _card(document)["properties"]["brand"] = {"$dynamicRef": f"http://{host}/dyn#meta"}

    def inline_in_a_response(document: dict[str, Any]) -> None:  # compiled as the validator's own schema
        _responses(document)["200"]["content"]["application/json"]["schema"] = {"$ref": f"http://{host}/card.json"}

    return {
        "inline in a response": inline_in_a_response,
        "http": _with_brand(f"http://{host}/brand.json"),
        "https": _with_brand(f"https://{host}/brand.json"),
        "upper-case scheme": _with_brand(f"HTTP://{host}/brand.json"),
        "with a fragment": _with_brand(f"http://{host}/defs.json#/definitions/brand"),
        "network-path": _with_brand(f"//{host}/brand.json"),
        "localhost": _with_brand(f"http://localhost:{port}/brand.json"),
        "user and password": _with_brand(f"http://user:hunter2@{host}/brand.json"),
        "leading space": _with_brand(f" http://{host}/brand.json"),
        "file outside": _with_brand("file:///etc/passwd"),
        "relative file": _with_brand("../../secrets.json#/x"),
        "urn": _with_brand("urn:card-conformance:contract#/components/schemas/card"),
        "in an allOf": lambda d: _card(d).__setitem__("allOf", [{"$ref": f"http://{host}/all.json"}]),
        "response reference": response_ref,
        "relative to an id": based_on_id,
        "openapi 3.1 dynamicRef": openapi_31_dynamic,
    }


def _write(tmp_path: Path, name: str, document: dict[str, Any]) -> Path:
    path = tmp_path / f"{name.replace(' ', '-')}.json"
    path.write_text(json.dumps(document))
    return path


def _cli(*args: object) -> tuple[int, str]:
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result.exit_code, result.output


def test_no_reference_outside_the_spec_is_followed_by_check(tmp_path: Path, remote: RemoteSchemas) -> None:
    for name, change in _variants(remote.port).items():
        document = copy.deepcopy(_document())
        change(document)
        spec = _write(tmp_path, name, document)
        code, output = _cli("check", "--openapi", spec, CASSETTE)
        lines = output.strip().splitlines()
        assert code == 2 and len(lines) == 1 and lines[0].startswith(f"Error: {spec}: #/"), (name, output)
        assert "points outside the file" in output and "Traceback" not in output, (name, output)
        assert "hunter2" not in output
    # ``$schema`` and ``id`` only name things: with every reference inside the file, the spec judges as before
    document = _document()
    _card(document)["$schema"] = f"http://127.0.0.1:{remote.port}/meta-schema"
    _card(document)["id"] = f"http://127.0.0.1:{remote.port}/card.json"
    code, output = _cli("check", "--openapi", _write(tmp_path, "named", document), CASSETTE)
    assert code == 0, output
    assert (remote.connections, remote.hits) == (0, [])


@pytest.mark.parametrize("command", ["check", "run", "matrix"])
def test_each_command_refuses_a_remote_reference_in_one_line_without_connecting(
        tmp_path: Path, remote: RemoteSchemas, command: str) -> None:
    document = _document()
    _variants(remote.port)["inline in a response"](document)
    spec = _write(tmp_path, "remote", document)
    with FakeStripe() as url:  # a real target: nothing stops a run before it would judge the card's answer
        target = {"check": [], "run": ["--target", url], "matrix": ["--target", f"fake={url}"]}
        process = subprocess.run([sys.executable, "-m", "conformance", command, str(CASSETTE), "--openapi", str(spec),
                                  *target[command]], capture_output=True, text=True, timeout=60,
                                 env={**_env(), "CONFORMANCE_CACHE_DIR": str(tmp_path / "cache")})
    assert process.returncode == 2, process.stdout + process.stderr
    assert process.stderr.strip().splitlines() == [
        f"Error: {spec}: #/paths/~1v1~1customers~1{{customer}}~1cards~1{{id}}/get/responses/200/content/"
        f"application~1json/schema/$ref: the reference 'http://127.0.0.1:{remote.port}/card.json' points outside "
        "the file; only references into the same document (#/components/schemas/…) are followed, nothing is "
        "fetched: put the schema in components.schemas and point at it there"]
    assert (remote.connections, remote.hits) == (0, [])


def _env() -> dict[str, str]:
    import os

    return {key: value for key, value in os.environ.items() if not key.startswith("CONFORMANCE_")}


# -- malformed specs: one line, exit 2, never a traceback ---------------------------------------------------------

def _responses(document: dict[str, Any]) -> dict[str, Any]:
    responses: dict[str, Any] = document["paths"][CARD_PATH]["get"]["responses"]
    return responses


def _set(*keys: Any, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        node: Any = document
        for key in keys[:-1]:
            node = node[key] if not callable(key) else key(node)
        node[keys[-1]] = value
    return change


MALFORMED_DATA: dict[str, Callable[[dict[str, Any]], None]] = {
    "responses a list": _set("paths", CARD_PATH, "get", "responses", value=[1, 2]),
    "responses text": _set("paths", CARD_PATH, "get", "responses", value="200"),
    "content a list": lambda d: _responses(d)["200"].__setitem__("content", [1]),
    "schema text": lambda d: _responses(d)["200"].__setitem__("content", {"application/json": {"schema": "card"}}),
    "schema a number": lambda d: _responses(d)["200"].__setitem__("content", {"application/json": {"schema": 5}}),
    "components a list": _set("components", value=[1]),
    "schemas a list": _set("components", "schemas", value=[1]),
    "schemas text": _set("components", "schemas", value="card"),
    "a schema text": _set("components", "schemas", "card", value="card"),
    "type a number": lambda d: _card(d).__setitem__("type", 5),
    "type unknown": lambda d: _card(d).__setitem__("type", "thing"),
    "properties a list": lambda d: _card(d).__setitem__("properties", [1]),
    "a property text": lambda d: _card(d)["properties"].__setitem__("brand", "x"),
    "required a number": lambda d: _card(d).__setitem__("required", 5),
    "x-expandableFields a number": lambda d: _card(d).__setitem__("x-expandableFields", 5),
    "x-expandableFields with required a number": lambda d: (_card(d).__setitem__("x-expandableFields", ["customer"]),
                                                            _card(d).__setitem__("required", 7)),
    "enum text, nullable": lambda d: _card(d)["properties"].__setitem__("brand", {"enum": "x", "type": "string",
                                                                                   "nullable": True}),
    "a bad pattern": lambda d: _card(d)["properties"].__setitem__("brand", {"type": "string", "pattern": "(("}),
    "minimum text": lambda d: _card(d)["properties"].__setitem__("exp_month", {"minimum": "x"}),
    "anyOf text": lambda d: _card(d)["properties"].__setitem__("customer", {"anyOf": "x", "nullable": True}),
    "anyOf empty": lambda d: _card(d)["properties"].__setitem__("customer", {"anyOf": []}),
    "a reference a number": lambda d: _card(d)["properties"].__setitem__("customer", {"$ref": 5}),
    "a dangling reference": lambda d: _card(d)["properties"].__setitem__("customer", {"$ref": "#/components/x/y"}),
    "a reference to a path": lambda d: _card(d)["properties"].__setitem__("customer", {"$ref": "#/paths"}),
    "an anchor": lambda d: _card(d)["properties"].__setitem__("customer", {"$ref": "#anchor"}),
    "a response reference looping": lambda d: (
        _responses(d).__setitem__("200", {"$ref": "#/components/responses/a"}),
        d["components"].__setitem__("responses", {"a": {"$ref": "#/components/responses/a"}})),
    "a response reference a number": lambda d: _responses(d).__setitem__("200", {"$ref": 5}),
    "items a list of numbers": lambda d: _card(d)["properties"].__setitem__("metadata", {"items": [1, 2]}),
    "additionalProperties text": lambda d: _card(d).__setitem__("additionalProperties", "x"),
    "a path not a path": lambda d: d["paths"].__setitem__("cards", {"get": {"responses": {}}}),
}
# Odd, but what they mean is plain: read, and the recording judged by them.
ODD_BUT_USABLE: dict[str, Callable[[dict[str, Any]], None]] = {
    "operationId a mapping": _set("paths", CARD_PATH, "get", "operationId", value={"a": 1}),
    "maximum huge": lambda d: _card(d)["properties"].__setitem__("exp_month", {"maximum": 10 ** 400}),
    "an extension among the paths": lambda d: d["paths"].__setitem__("x-internal", [1]),
    "a path item text": lambda d: d["paths"].__setitem__("/v1/other", "nothing"),
}

MALFORMED_TEXT: dict[str, bytes] = {
    "empty": b"",
    "a scalar": b"42\n",
    "truncated JSON": b'{"openapi": "3.0.0", "paths": {',
    "truncated YAML": b"openapi: 3.0.0\npaths:\n  /x: [\n",
    "a tab in YAML": b"openapi: 3.0.0\npaths:\n\t/x: {}\n",
    "NUL bytes": b"openapi: 3.0.0\x00\npaths: {}\n",
    "not UTF-8": b"openapi: 3.0.0\ninfo: {version: \xff\xfe}\npaths: {/x: {}}\n",
    "a python tag": b"openapi: 3.0.0\npaths: !!python/object:os.system {}\n",
    "binary": b"openapi: 3.0.0\npaths: {/x: {get: {responses: {'200': {content: {application/json: "
              b"{schema: {default: !!binary aGVsbG8=}}}}}}}}\n",
    "a set": b"openapi: 3.0.0\npaths: {/x: {get: {responses: {'200': {content: {application/json: "
             b"{schema: {enum: !!set {a, b}}}}}}}}}\n",
    "a timestamp tag": b"openapi: 3.0.0\npaths: {/x: {get: {responses: {'200': {content: {application/json: "
                       b"{schema: {default: !!timestamp 2020-01-01}}}}}}}}\n",
    "an integer path": b"openapi: 3.0.0\npaths: {5: {get: {responses: {}}}}\n",
    "a null key": b"openapi: 3.0.0\npaths: {/x: {get: {responses: {'200': {content: {application/json: "
                  b"{schema: {properties: {null: {type: string}, true: {type: strin}}}}}}}}}}\n",
    "a version alias bomb": b"openapi: 3.0.0\nx: {a: &a [l,l,l,l,l,l,l,l,l], b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a],"
                            b" c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b], d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]}\n"
                            b"info: {version: *d}\npaths: {/x: {}}\n",
    "deep nesting": b'{"openapi": "3.0.0", "paths": {"/x": {}}, "components": {"schemas": {"a": '
                    + b'{"items": ' * 3000 + b"{}" + b"}" * 3000 + b"}}}",
    "deep YAML": b"openapi: 3.0.0\npaths: {/x: {}}\ncomponents: {schemas: {a: " + b"[" * 5000 + b"]" * 5000 + b"}}\n",
    "a list document": b"[1, 2]\n",
    "openapi a list": b"openapi: [3]\npaths: {/x: {}}\n",
    "swagger": b'{"swagger": "2.0", "paths": {}}',
}


def _malformed(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    for name, change in MALFORMED_DATA.items():
        document = copy.deepcopy(_document())
        change(document)
        yield name, _write(tmp_path, name, document)
    for name, raw in MALFORMED_TEXT.items():
        path = tmp_path / f"{name.replace(' ', '-')}.yaml"
        path.write_bytes(raw)
        yield name, path


def test_malformed_specs_are_one_line_and_exit_2_in_check_and_run(tmp_path: Path) -> None:
    tried = 0
    for name, spec in _malformed(tmp_path):
        for command in (["check", CASSETTE], ["run", CASSETTE, "--target", "http://127.0.0.1:9"]):
            result = CliRunner().invoke(main, [*map(str, command), "--openapi", str(spec)])
            lines = result.output.strip().splitlines()
            assert result.exception is None or isinstance(result.exception, SystemExit), (name, result.exc_info)
            assert result.exit_code == 2 and len(lines) == 1, (name, result.output)
            assert lines[0].startswith(f"Error: {spec}") and len(lines[0]) < 400, (name, lines[0])
            tried += 1
    assert tried == 2 * (len(MALFORMED_DATA) + len(MALFORMED_TEXT))


def test_odd_but_usable_specs_judge(tmp_path: Path) -> None:
    for name, change in ODD_BUT_USABLE.items():
        document = copy.deepcopy(_document())
        change(document)
        code, output = _cli("check", "--openapi", _write(tmp_path, name, document), CASSETTE)
        assert code == 0 and "0 problems" in output, (name, output)
    utf16 = tmp_path / "utf16.yaml"  # YAML may be UTF-16 (with its byte-order mark)
    utf16.write_bytes(SPEC.read_text().encode("utf-16"))
    code, output = _cli("check", "--openapi", utf16, CASSETTE)
    assert code == 0 and "0 problems" in output, output


def test_a_malformed_spec_in_a_real_run_is_one_line(tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_bytes(MALFORMED_TEXT["a version alias bomb"])
    process = subprocess.run([sys.executable, "-m", "conformance", "run", str(CASSETTE), "--openapi", str(spec),
                              "--target", "http://127.0.0.1:9"], capture_output=True, text=True, timeout=60,
                             env={**_env(), "CONFORMANCE_CACHE_DIR": str(tmp_path / "cache")})
    assert process.returncode == 2 and process.stdout == ""
    assert process.stderr.strip().splitlines() == [
        f"Error: {spec}:2: YAML aliases (*name) are not supported in an OpenAPI description (the value anchored "
        "here is used again): write the value out, or give the JSON file"]
