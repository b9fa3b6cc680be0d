"""Reading an OpenAPI description and turning its schemas into JSON Schema, once.

Stripe publishes its contract as OpenAPI 3.0 (``spec3.json``/``spec3.yaml``,
3–8 MB). OpenAPI 3.0 schemas are JSON Schema draft 4 with a few words of their
own, which this module translates so a plain draft 4 validator can judge
responses:

- ``nullable: true`` adds ``null`` to ``type`` (and to ``enum``); next to
  ``anyOf`` (Stripe's expandable fields, ``string | object``) it adds a null
  branch, as Stripe's own stripe-mock does;
- an object schema that lists ``properties`` and says nothing of other keys gets
  ``additionalProperties: false``, so a key the contract does not list is seen
  (and reported as a warning, never a failure, by :mod:`.validate`);
- ``x-expandableFields`` becomes ``x-expandable`` for the fields that are an
  id or the object (``anyOf`` with a string branch) and ``x-includable`` for
  the lists (``sources``, ``tax_ids``: returned only when expanded, since API
  version 2020-08-27); both are checked against the request's ``expand[]``;
- descriptions, examples and other annotations are dropped (half the size).

Converting Stripe's JSON spec takes ~30 ms, parsing its YAML several seconds:
the converted form is cached under the cassette cache's directory, keyed by the
spec's SHA-256, so a run reads a YAML spec once.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

from conformance import __version__
from conformance.atomic import atomic_write
from conformance.cassette.cache import cache_dir
from conformance.errors import ReportError, SpecError

__all__ = ["CONTRACT_URI", "load_spec", "read_spec", "convert"]

FORMAT = 3  # 2: x-includable (list-type expandables); 3: not for a list the schema requires
CONTRACT_URI = "urn:card-conformance:contract"  # where converted ``#/components/...`` references point
METHODS = ("get", "post", "delete", "put", "patch")
_ANNOTATIONS = frozenset({
    "description", "title", "summary", "example", "examples", "externalDocs", "deprecated", "readOnly", "writeOnly",
    "xml", "discriminator", "format",  # Stripe's formats (unix-time, decimal) are not JSON Schema's
})


class _SpecLoader(yaml.CSafeLoader):
    """YAML as JSON would have it: ``2023-08-16`` stays text (a spec's version is not a date)."""


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}


def read_spec(path: Path, raw: bytes) -> dict[str, Any]:
    """The document, or a SpecError that says what is wrong with it."""
    try:
        if raw.lstrip()[:1] in (b"{", b"["):
            document = json.loads(raw)
        else:
            document = yaml.load(raw, Loader=_SpecLoader)
    except (ValueError, yaml.YAMLError) as error:
        where = getattr(error, "problem_mark", None)
        line = f":{where.line + 1}" if where is not None else f":{error.lineno}" if hasattr(error, "lineno") else ""
        reason = getattr(error, "problem", None) or getattr(error, "msg", None) or str(error)
        raise SpecError(f"{path}{line}: not JSON or YAML ({reason}); give the OpenAPI file Stripe publishes "
                        "(github.com/stripe/openapi, openapi/spec3.json)") from None
    version = document.get("openapi") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("3."):
        said = (f"says openapi: {version}" if version is not None
                else "is Swagger 2.0" if isinstance(document, dict) and "swagger" in document else "has no `openapi` key")
        raise SpecError(f"{path}: not an OpenAPI 3 description ({said}); give Stripe's spec3.json or spec3.yaml")
    if not isinstance(document.get("paths"), dict) or not document["paths"]:
        raise SpecError(f"{path}: the OpenAPI description has no paths to check responses against")
    return document


def _is_expandable(schema: Any) -> bool:
    """An id or the object: ``anyOf`` with a string branch and an object branch."""
    branches = schema.get("anyOf") if isinstance(schema, dict) else None
    return isinstance(branches, list) and any(isinstance(b, dict) and b.get("type") == "string" for b in branches) \
        and any(isinstance(b, dict) and b.get("type") != "string" for b in branches)


def _is_list(schema: Any) -> bool:
    """A list object written out in place (``object: list`` with ``data``): an expandable field of this shape that
    the schema does not require is left out unless expanded (a customer's ``sources``)."""
    properties = schema.get("properties") if isinstance(schema, dict) else None
    if not isinstance(properties, dict) or not isinstance(properties.get("data"), dict):
        return False
    kind = properties.get("object")
    return isinstance(kind, dict) and kind.get("enum") == ["list"]


class _Converter:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._seen: set[int] = set()  # the mappings and lists of the schema being converted

    def top(self, node: Any) -> Any:
        """Convert one schema (a component, a response's); a YAML alias inside it is refused, as a "billion
        laughs" would expand exponentially here, in the cache and in the validator."""
        self._seen = set()
        return self.schema(node)

    def schema(self, node: Any) -> Any:
        if isinstance(node, (dict, list)):
            if id(node) in self._seen:
                raise SpecError("YAML aliases (*name) are not supported in an OpenAPI description: write the "
                                "value out, or give the JSON file")
            self._seen.add(id(node))
        if isinstance(node, list):
            return [self.schema(item) for item in node]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in _ANNOTATIONS or key == "nullable":
                continue
            if key == "x-expandableFields":
                properties = node.get("properties") or {}
                fields = [f for f in value if isinstance(f, str) and _is_expandable(properties.get(f))]
                # a list the schema requires is always written out (an invoice's `lines`): listed here only
                # because expansion reaches into its items
                required = node.get("required") or []
                lists = [f for f in value if isinstance(f, str) and _is_list(properties.get(f)) and f not in required]
                if fields:
                    out["x-expandable"] = fields
                if lists:
                    out["x-includable"] = lists
            elif key.startswith("x-"):
                continue
            elif key == "$ref" and isinstance(value, str) and value.startswith("#/"):
                out[key] = CONTRACT_URI + value
            elif key in ("properties", "patternProperties", "definitions"):
                out[key] = {name: self.schema(sub) for name, sub in value.items()} if isinstance(value, dict) else value
            elif key in ("enum", "const", "required", "default"):
                out[key] = value
            else:
                out[key] = self.schema(value)
        if ("properties" in node and "additionalProperties" not in node and "allOf" not in node
                and node.get("type", "object") == "object"):
            out["additionalProperties"] = False
        if node.get("nullable") is True:
            out = _nullable(out)
        return out

    def response_schema(self, response: Any) -> Any:
        response = self.resolve(response)
        content = response.get("content") if isinstance(response, dict) else None
        if not isinstance(content, dict):
            return None
        media = content.get("application/json") or next(
            (v for k, v in content.items() if k.split(";")[0].strip().endswith("json")), None)
        if not isinstance(media, dict) or "schema" not in media:
            return None
        return self.top(media["schema"])

    def resolve(self, node: Any) -> Any:
        """A ``$ref`` to ``#/components/responses/…`` (a response is not a schema: resolved here)."""
        seen = 0
        while isinstance(node, dict) and isinstance(node.get("$ref"), str) and node["$ref"].startswith("#/") and seen < 32:
            target: Any = self.document
            for part in node["$ref"][2:].split("/"):
                target = target.get(part.replace("~1", "/").replace("~0", "~")) if isinstance(target, dict) else None
            node, seen = target, seen + 1
        return node


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema = {**schema, "type": [*types, "null"]}
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
        return schema
    if set(schema) <= {"anyOf", "x-expandable", "x-includable"}:
        return {**schema, "anyOf": [*schema.get("anyOf", []), {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}


def convert(document: dict[str, Any]) -> dict[str, Any]:
    """What the validator needs: every operation's response schemas and the converted components."""
    converter = _Converter(document)
    operations = []
    for template, item in document["paths"].items():
        if not isinstance(item, dict):
            continue
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            responses = {str(status): converter.response_schema(response)
                         for status, response in (operation.get("responses") or {}).items()}
            operations.append([method.upper(), template, operation.get("operationId") or f"{method} {template}", responses])
    components: dict[str, Any] = document["components"] if isinstance(document.get("components"), dict) else {}
    info: dict[str, Any] = document["info"] if isinstance(document.get("info"), dict) else {}
    return {
        "openapi": document["openapi"],
        "api_version": str(info.get("version", "")),
        "operations": operations,
        "components": {"schemas": {name: converter.top(schema)
                                   for name, schema in (components.get("schemas") or {}).items()}},
    }


def _cache_entry(digest: str) -> Path | None:
    directory = cache_dir()
    return directory / f"contract-{digest[:32]}.json" if directory is not None else None


def load_spec(path: Path) -> dict[str, Any]:
    """The converted spec: from the cache when this very file was converted before."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SpecError(f"{path}: no such OpenAPI file") from None
    except IsADirectoryError:
        raise SpecError(f"{path}: a directory; give the OpenAPI file itself (spec3.json)") from None
    except OSError as error:
        raise SpecError(f"{path}: cannot read it ({error.strerror})") from None
    digest = hashlib.sha256(raw).hexdigest()
    stamp = {"format": FORMAT, "tool": __version__, "sha256": digest}
    entry = _cache_entry(digest)
    if entry is not None:
        try:
            with open(entry, "rb") as stream:
                if json.loads(stream.readline()) == stamp:
                    return json.loads(stream.read())
        except (OSError, ValueError):
            pass  # no entry, or a damaged one: convert again
    try:
        converted = convert(read_spec(path, raw))
    except SpecError as error:
        raise SpecError(str(error) if str(error).startswith(str(path)) else f"{path}: {error}") from None
    except RecursionError:
        raise SpecError(f"{path}: nested too deeply to be an OpenAPI description") from None
    if entry is not None:
        _store(entry, stamp, converted)
    return converted


def _store(entry: Path, stamp: dict[str, Any], converted: dict[str, Any]) -> None:
    try:
        entry.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        atomic_write(entry, json.dumps(stamp).encode() + b"\n" + json.dumps(converted, separators=(",", ":")).encode())
    except (OSError, ReportError):
        pass  # a cache that cannot be written is only slower
