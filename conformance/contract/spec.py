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
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import yaml

from conformance import __version__
from conformance.atomic import atomic_write
from conformance.cassette.cache import cache_dir, touch
from conformance.errors import ReportError, SpecError
from conformance.text import json_type, shorten, snippet

__all__ = ["CONTRACT_URI", "load_spec", "read_spec", "convert"]

FORMAT = 4  # 2: x-includable (list-type expandables); 3: not for a list the schema requires; 4: no ids, refs checked
CONTRACT_URI = "urn:card-conformance:contract"  # where converted ``#/components/...`` references point
METHODS = ("get", "post", "delete", "put", "patch")
_ANNOTATIONS = frozenset({
    "description", "title", "summary", "example", "examples", "externalDocs", "deprecated", "readOnly", "writeOnly",
    "xml", "discriminator", "format",  # Stripe's formats (unix-time, decimal) are not JSON Schema's
})


class _AliasError(yaml.constructor.ConstructorError):
    """A YAML alias: refused where it is met, before anything expands it."""


def _not_json(loader: yaml.CSafeLoader, node: yaml.Node) -> Any:
    raise yaml.constructor.ConstructorError(None, None, f"{node.tag} is no JSON value", node.start_mark)


class _SpecLoader(yaml.CSafeLoader):
    """YAML as JSON would have it: ``2023-08-16`` stays text (a spec's version is not a date); nothing but JSON's
    values (no ``!!binary``, ``!!set``, ``!!timestamp``); and no alias (``*name``).

    An alias is refused when the node it names is reached a second time: a "billion laughs" of 365 bytes
    expands to hundreds of megabytes wherever the document is walked, printed or cached. Stripe's spec has none.
    """

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        if node in self.constructed_objects or node in self.recursive_objects:
            raise _AliasError(None, None, "the value anchored here is used again by an alias", node.start_mark)
        return super().construct_object(node, deep)


_SpecLoader.yaml_implicit_resolvers = {
    first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.CSafeLoader.yaml_implicit_resolvers.items()
}
for _tag in ("binary", "set", "timestamp", "omap", "pairs"):
    _SpecLoader.add_constructor(f"tag:yaml.org,2002:{_tag}", _not_json)


def _parse(path: Path, raw: bytes) -> Any:
    """The document as JSON data, or a SpecError naming the line."""
    try:
        if raw.lstrip()[:1] in (b"{", b"["):
            return json.loads(raw)
        return yaml.load(raw, Loader=_SpecLoader)
    except _AliasError as error:
        anchored = error.problem_mark.line + 1 if error.problem_mark is not None else 0
        raise SpecError(f"{path}:{anchored}: YAML aliases (*name) are not supported in an OpenAPI description "
                        "(the value anchored here is used again): write the value out, or give the JSON file") from None
    except (ValueError, yaml.YAMLError) as error:
        where = getattr(error, "problem_mark", None)
        line = f":{where.line + 1}" if where is not None else f":{error.lineno}" if hasattr(error, "lineno") else ""
        reason = getattr(error, "problem", None) or getattr(error, "msg", None) or str(error)
        raise SpecError(f"{path}{line}: not JSON or YAML ({snippet(str(reason), 120)}); give the OpenAPI file "
                        "Stripe publishes (github.com/stripe/openapi, openapi/spec3.json)") from None


def read_spec(path: Path, raw: bytes) -> dict[str, Any]:
    """The document, or a SpecError that says what is wrong with it."""
    document = _parse(path, raw)
    version = document.get("openapi") if isinstance(document, dict) else None
    if not isinstance(version, str) or not version.startswith("3."):
        said = (f"says openapi: {snippet(json.dumps(version, default=str), 40)}" if version is not None
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


class _Problem(Exception):
    """Something in the document the converter cannot take; where it is is added while the error unwinds."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.where: list[str] = []

    def at(self, *parts: Any) -> _Problem:
        self.where[:0] = [str(part).replace("~", "~0").replace("/", "~1") for part in parts]
        return self

    def __str__(self) -> str:
        return f"#/{'/'.join(self.where)}: {self.message}" if self.where else self.message


# Keywords that point at another schema: only a pointer into this very document is followed, never a file or URL.
_REFERENCES = ("$ref", "$dynamicRef", "$recursiveRef")
# Keywords that would name a schema by a URI of its own, or a meta-schema to fetch: ours are named by CONTRACT_URI.
_IDENTIFIERS = frozenset({"$schema", "id", "$id", "$anchor", "$dynamicAnchor", "$recursiveAnchor"})
_SCHEMAS = "#/components/schemas/"


def _key(key: Any) -> str:
    """A mapping key as JSON has it (YAML allows ``200:``, ``true:``, ``null:``)."""
    return key if isinstance(key, str) else json.dumps(key) if isinstance(key, (bool, type(None))) else str(key)


def _mapping(value: Any, what: str) -> dict[Any, Any]:
    if not isinstance(value, dict):
        raise _Problem(f"{what} is {json_type(value)}, not a mapping")
    return value


def _shown(reference: str) -> str:
    """A reference as an error line quotes it: short, without a password a URL may carry."""
    return snippet(re.sub(r"(?<=//)[^/@\s]*@", "…@", reference), 100)


class _Converter:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self._seen: set[int] = set()  # the mappings and lists of the schema being converted

    def top(self, node: Any) -> Any:
        """Convert one schema (a component, a response's); the same mapping met twice inside it (a YAML alias
        read by another loader) is refused, as a "billion laughs" would expand here, in the cache and in the
        validator."""
        self._seen = set()
        return self.schema(node)

    def schema(self, node: Any) -> Any:
        if isinstance(node, (dict, list)):
            if id(node) in self._seen:
                raise _Problem("YAML aliases (*name) are not supported in an OpenAPI description: write the "
                               "value out, or give the JSON file")
            self._seen.add(id(node))
        if isinstance(node, list):
            return [self._at(index, self.schema, item) for index, item in enumerate(node)]
        if not isinstance(node, dict):
            return node
        out: dict[str, Any] = {}
        for key, value in node.items():
            key = _key(key)
            if key in _ANNOTATIONS or key in _IDENTIFIERS or key == "nullable":
                continue
            if key == "x-expandableFields":
                out.update(self._at(key, _expandable, node, value))
            elif key.startswith("x-"):
                continue
            elif key in _REFERENCES:
                out[key] = self._at(key, self.reference, value)
            elif key in ("properties", "patternProperties", "definitions"):
                out[key] = self._at(key, self._named, value, key)
            elif key in ("enum", "const", "required", "default"):
                out[key] = value
            else:
                out[key] = self._at(key, self.schema, value)
        if ("properties" in node and "additionalProperties" not in node and "allOf" not in node
                and node.get("type", "object") == "object"):
            out["additionalProperties"] = False
        if node.get("nullable") is True:
            out = _nullable(out)
        return out

    @staticmethod
    def _at(key: Any, convert: Any, *args: Any) -> Any:
        """``convert(*args)``, a problem inside it located under ``key``."""
        try:
            return convert(*args)
        except _Problem as problem:
            raise problem.at(key) from None

    def _named(self, value: Any, what: str) -> Any:
        """``properties``: name -> schema."""
        return {_key(name): self._at(name, self.schema, sub) for name, sub in _mapping(value, what).items()}

    def reference(self, value: Any) -> str:
        """A ``$ref`` to a schema of this document, as the registry names it; anything else — a URL, a file, another
        part of the document, a pointer to nothing — is refused here, before a validator could try to fetch it."""
        if not isinstance(value, str):
            raise _Problem(f"a reference is text such as {_SCHEMAS}card, not {json_type(value)}")
        if not value.startswith("#"):
            raise _Problem(f"the reference {_shown(value)!r} points outside the file; only references into the same "
                           f"document ({_SCHEMAS}…) are followed, nothing is fetched: put the schema in "
                           "components.schemas and point at it there")
        if not value.startswith(_SCHEMAS) or self.pointer(value) is _NOWHERE:
            raise _Problem(f"the reference {_shown(value)!r} points at no schema of the document (a schema is "
                           f"{_SCHEMAS}NAME)")
        return CONTRACT_URI + value

    def pointer(self, reference: str) -> Any:
        """What a ``#/…`` JSON pointer names in the document, or _NOWHERE."""
        target: Any = self.document
        for part in reference[2:].split("/") if reference != "#" else ():
            part = unquote(part).replace("~1", "/").replace("~0", "~")
            if isinstance(target, dict) and part in target:
                target = target[part]
            elif isinstance(target, list) and part.isdigit() and int(part) < len(target):
                target = target[int(part)]
            else:
                return _NOWHERE
        return target

    def response_schema(self, response: Any) -> Any:
        response = self.resolve(response)
        content = response.get("content") if isinstance(response, dict) else None
        if content is None:
            return None
        for key, media in _mapping(content, "content").items():
            if key == "application/json" or _key(key).split(";")[0].strip().endswith("json"):
                if not isinstance(media, dict) or "schema" not in media:
                    return None
                try:
                    return self.top(media["schema"])
                except _Problem as problem:
                    raise problem.at("content", key, "schema") from None
        return None

    def resolve(self, node: Any) -> Any:
        """A ``$ref`` to ``#/components/responses/…`` (a response is not a schema: resolved here)."""
        for _ in range(32):
            if not isinstance(node, dict) or "$ref" not in node:
                return node
            reference = node["$ref"]
            if not isinstance(reference, str) or not reference.startswith("#"):
                raise _Problem(f"the reference {_shown(str(reference))!r} points outside the file; only references "
                               "into the same document (#/components/responses/…) are followed, nothing is fetched")
            node = self.pointer(reference)
            if node is _NOWHERE:
                raise _Problem(f"the reference {_shown(reference)!r} points at nothing in the document")
        raise _Problem("references that point at each other for ever")


_NOWHERE = object()


def _expandable(node: dict[str, Any], value: Any) -> dict[str, list[str]]:
    """``x-expandableFields`` as the validator's ``x-expandable`` (an id or the object) and ``x-includable`` (a
    list left out unless expanded)."""
    if not isinstance(value, list):
        raise _Problem(f"x-expandableFields is {json_type(value)}, not a list of field names")
    properties: dict[str, Any] = node["properties"] if isinstance(node.get("properties"), dict) else {}
    fields = [f for f in value if isinstance(f, str) and _is_expandable(properties.get(f))]
    # a list the schema requires is always written out (an invoice's `lines`): listed here only
    # because expansion reaches into its items
    required: list[Any] = node["required"] if isinstance(node.get("required"), list) else []
    lists = [f for f in value if isinstance(f, str) and _is_list(properties.get(f)) and f not in required]
    return {**({"x-expandable": fields} if fields else {}), **({"x-includable": lists} if lists else {})}


def _nullable(schema: dict[str, Any]) -> dict[str, Any]:
    if "type" in schema:
        types = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        schema = {**schema, "type": [*types, "null"]}
        if isinstance(schema.get("enum"), list):
            schema["enum"] = [*schema["enum"], None]
        return schema
    if set(schema) <= {"anyOf", "x-expandable", "x-includable"} and isinstance(schema.get("anyOf", []), list):
        return {**schema, "anyOf": [*schema.get("anyOf", []), {"type": "null"}]}
    return {"anyOf": [schema, {"type": "null"}]}


def _operations(converter: _Converter, paths: dict[Any, Any]) -> list[list[Any]]:
    """[method, template, operation id, {status: schema}] of every operation of ``paths``."""
    operations = []
    for template, item in paths.items():
        if not isinstance(template, str) or not template.startswith(("/", "x-")):
            raise _Problem(f"{snippet(json.dumps(template, default=str), 60)} is no path (a path begins with /)") \
                .at("paths")
        if template.startswith("x-") or not isinstance(item, dict):
            continue
        for method in METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            converted = {}
            try:
                for status, response in _mapping(operation.get("responses") or {}, "responses").items():
                    try:
                        converted[_key(status)] = converter.response_schema(response)
                    except _Problem as problem:
                        raise problem.at(status) from None
            except _Problem as problem:
                raise problem.at("paths", template, method, "responses") from None
            operation_id = operation.get("operationId")
            name = operation_id if isinstance(operation_id, str) and operation_id else f"{method} {template}"
            operations.append([method.upper(), template, name, converted])
    return operations


def _components(converter: _Converter, document: dict[str, Any]) -> dict[str, Any]:
    """The converted ``components.schemas``, by name."""
    try:
        components = _mapping(document.get("components") or {}, "components")
        schemas = _mapping(components.get("schemas") or {}, "components.schemas")
    except _Problem as problem:
        raise problem.at("components") from None
    converted = {}
    for name, schema in schemas.items():
        try:
            converted[_key(name)] = converter.top(schema)
        except _Problem as problem:
            raise problem.at("components", "schemas", name) from None
    return converted


def convert(document: dict[str, Any]) -> dict[str, Any]:
    """What the validator needs: every operation's response schemas and the converted components.

    Raises SpecError naming the place (a JSON pointer) of what cannot be taken: a reference outside the file,
    a part of the wrong kind, a schema that is no JSON Schema."""
    converter = _Converter(document)
    try:
        operations = _operations(converter, document["paths"])
        components = _components(converter, document)
    except _Problem as problem:
        raise SpecError(str(problem)) from None
    info: dict[str, Any] = document["info"] if isinstance(document.get("info"), dict) else {}
    version = info.get("version", "")
    result = {
        "openapi": document["openapi"],
        "api_version": shorten(str(version), 40) if isinstance(version, (str, int, float)) else "",
        "operations": operations,
        "components": {"schemas": components},
    }
    _check_schemas(result)
    return result


def _check_schemas(converted: dict[str, Any]) -> None:
    """Every converted schema checked against its draft's meta-schema now, so one that no validator could compile
    is named before a run, not at the first answer that needs it. jsonschema-rs has the meta-schemas built in: the
    converted schemas carry no ``$schema`` of their own, so nothing is fetched."""
    import jsonschema_rs  # here, not at the module's start: the engine imports the contract's names in every run

    draft4 = str(converted["openapi"]).startswith("3.0")
    meta = "http://json-schema.org/draft-04/schema#" if draft4 else "https://json-schema.org/draft/2020-12/schema"
    places: list[tuple[str, Any]] = [(f"#/components/schemas/{name.replace('~', '~0').replace('/', '~1')}", schema)
                                     for name, schema in converted["components"]["schemas"].items()]
    for method, template, _, responses in converted["operations"]:
        escaped = template.replace("~", "~0").replace("/", "~1")
        places += [(f"#/paths/{escaped}/{method.lower()}/responses/{status}/content/application~1json/schema", schema)
                   for status, schema in responses.items() if schema is not None]
    for place, schema in places:
        if not isinstance(schema, (dict, bool)):
            raise SpecError(f"{place}: a schema is a mapping, not {json_type(schema)}")
        if isinstance(schema, bool):
            continue
        try:
            jsonschema_rs.meta.validate({**schema, "$schema": meta})
        except jsonschema_rs.ValidationError as error:
            inner = "/".join(str(part) for part in error.instance_path)
            reason = snippet(str(error).splitlines()[0], 120)
            raise SpecError(f"{place}{'/' + inner if inner else ''}: no JSON Schema ({reason})") from None
        except jsonschema_rs.ReferencingError as error:
            raise SpecError(f"{place}: {snippet(str(error).splitlines()[0], 120)}") from None


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
                    converted: dict[str, Any] = json.loads(stream.read())
                    touch(entry)  # used: the cache's sweep removes the least recently used first
                    return converted
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
