"""Judging a response body by the contract: the schema of its operation and status, with JSON paths.

A validator is compiled (jsonschema-rs, draft 4 as OpenAPI 3.0 is) once per
operation and status, the first time it is needed (a schema that cannot be
compiled is a SpecError then). A valid body costs one ``is_valid`` call (a few
µs for a card); only an invalid one is explained (``explain.py``).

jsonschema-rs and the spec's reader are imported when a contract is made, not
with this module: the engine names :class:`Contract` in every run's options,
and a run without ``--openapi`` does not pay for their import.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from conformance import forms
from conformance.api_profile import ApiProfile, IdScheme
from conformance.contract.operations import Operation, OperationIndex
from conformance.errors import SpecError
from conformance.findings import Finding
from conformance.paths import display_path
from conformance.text import snippet

__all__ = ["Contract", "load_contract", "expanded_paths"]


class _Expandable:
    """The ``x-expandable`` keyword: a field Stripe returns as an id unless the request asked for
    ``expand[]``; the object is reported here and kept when the request asked for it."""

    def __init__(self, parent_schema: Any, value: Any, schema_path: Any) -> None:
        self.fields = [f for f in value if isinstance(f, str)] if isinstance(value, list) else []

    def iter_errors(self, instance: Any) -> Iterator[Exception]:
        if isinstance(instance, dict):
            for field in self.fields:
                if isinstance(instance.get(field), dict):
                    yield ValueError(field)

    def validate(self, instance: Any) -> None:
        for error in self.iter_errors(instance):
            raise error




class _Includable(_Expandable):
    """The ``x-includable`` keyword: a list Stripe leaves out unless the request asked for ``expand[]``."""

    def iter_errors(self, instance: Any) -> Iterator[Exception]:
        if isinstance(instance, dict):
            for field in self.fields:
                if field in instance:
                    yield ValueError(field)


def expanded_paths(*sources: Any) -> frozenset[str]:
    """The request's ``expand[]`` (query and form body), with every prefix: ``customer.default_source``
    expands ``customer`` too."""
    paths: set[str] = set()
    for source in sources:
        if isinstance(source, str) and "expand" in source:  # a raw query string (kept raw when it repeats a key)
            source = forms.decode(forms.parse_pairs(source))
        value = source.get("expand") if isinstance(source, Mapping) else None
        items = value.values() if isinstance(value, Mapping) else [value] if isinstance(value, str) else value or []
        for item in items:
            if isinstance(item, str) and item:
                parts = item.split(".")
                paths.update(".".join(parts[: n + 1]) for n in range(len(parts)))
    return frozenset(paths)


class Contract:
    """An OpenAPI description, ready to judge responses. Safe to share between replay workers."""

    def __init__(self, source: Path, converted: dict[str, Any], profile: ApiProfile | None = None) -> None:
        import jsonschema_rs

        from conformance.contract.spec import CONTRACT_URI

        self.source = source
        # The lists the API documents as left out unless expanded (the profile's) are failures when present;
        # the spec marks other lists expandable too without saying whether they are written out by default:
        # those are warnings. An id's kind is the profile's id scheme.
        self.left_out: frozenset[tuple[str, str]] = profile.left_out_unless_expanded if profile else frozenset()
        self.ids = profile.ids if profile is not None else IdScheme(())
        self.api_version: str = converted.get("api_version", "")
        self._draft = jsonschema_rs.Draft4 if str(converted.get("openapi", "3.0")).startswith("3.0") \
            else jsonschema_rs.Draft202012
        self._registry = jsonschema_rs.Registry([(CONTRACT_URI, {"components": converted["components"]})],
                                                draft=self._draft, retriever=_nothing_fetched)
        self.operations = OperationIndex([Operation(m, t, o, r) for m, t, o, r in converted["operations"]])
        self._validators: dict[tuple[str, str], Any] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return self.source.name + (f" (API {self.api_version})" if self.api_version else "")

    def operation(self, method: str, path: str) -> Operation | None:
        return self.operations.find(method, path)

    def describes_another_version(self, api_version: str | None) -> bool:
        """Whether the contract is of another API version than ``api_version`` (``2023-08-16`` and
        ``2023-08-16.acacia`` are one: the suffix names its release); unknown on either side: no."""
        if not api_version or not self.api_version:
            return False
        return api_version.split(".")[0] != self.api_version.split(".")[0]

    def documents_body(self, method: str, path: str, status: int) -> bool:
        """Whether the contract has a JSON schema for this answer (it then speaks for every key, listed or not)."""
        operation = self.operation(method, path)
        documented = operation.response_schema(status) if operation is not None else None
        return documented is not None and documented[1] is not None

    def _validator(self, operation: Operation, status_key: str, schema: Any) -> Any:
        import jsonschema_rs

        key = (operation.operation_id, status_key)
        with self._lock:
            validator = self._validators.get(key)
            if validator is None:
                cls = jsonschema_rs.Draft4Validator if self._draft == jsonschema_rs.Draft4 \
                    else jsonschema_rs.Draft202012Validator
                try:
                    validator = cls(schema, registry=self._registry, retriever=_nothing_fetched,
                                    keywords={"x-expandable": _Expandable, "x-includable": _Includable})
                except (ValueError, jsonschema_rs.ReferencingError) as error:  # compiled on first use
                    reason = snippet(str(error).splitlines()[0], 160)
                    raise SpecError(f"{self.source}: the {status_key} response schema of {operation.method} "
                                    f"{operation.template} cannot be compiled: {reason}") from None
                self._validators[key] = validator
            return validator

    def validate(self, method: str, path: str, status: int, body: Any, expand: frozenset[str] = frozenset(),
                 *, strict: bool = False) -> list[Finding]:
        """The findings of one response: ``schema.*`` rules, paths into the body. ``body`` None (not JSON)
        is left to the comparison's ``body.json``."""
        operation = self.operation(method, path)
        if operation is None:
            return [Finding("schema.operation", "", f"the contract ({self.name}) has no operation {method} {path}",
                            "a documented operation", f"{method} {path}")]
        documented = operation.response_schema(status)
        if documented is None:
            return [Finding("schema.status", "", f"the contract documents no {status} answer for {method} "
                                                 f"{operation.template}", sorted(operation.responses), status)]
        status_key, schema = documented
        if schema is None or body is None:
            return []
        validator = self._validator(operation, status_key, schema)
        findings = [] if validator.is_valid(body) else _explain(validator.iter_errors(body), expand, strict,
                                                                 self.left_out)
        if expand:
            findings += _unexpanded(body, expand, self.ids)
        return findings


def _nothing_fetched(uri: str) -> Any:
    """jsonschema-rs's retriever: a schema is never fetched, from the network or a file. The converter lets no
    such reference through (spec.py); this holds for a converted spec read back from the cache too."""
    raise SpecError(f"the reference {uri!r} points outside the OpenAPI file; nothing is fetched")


def load_contract(path: Path, profile: ApiProfile | None = None) -> Contract:
    """Read (or take from the cache) and prepare ``path``, to judge as ``profile`` documents the API; SpecError
    when it is no OpenAPI 3 description."""
    from conformance.contract.spec import load_spec  # PyYAML and the converter: only with a contract to read

    return Contract(path, load_spec(path), profile)


def _explain(errors: Iterator[Any], expand: frozenset[str], strict: bool,
             left_out: frozenset[tuple[str, str]]) -> list[Finding]:
    """Why a body is invalid (``explain.py``, imported once a body is)."""
    from conformance.contract.explain import explain

    return explain(errors, expand, strict, left_out)


def _unexpanded(body: Any, expand: frozenset[str], ids: IdScheme) -> list[Finding]:
    """Fields the request asked to expand that came back as ids."""
    findings: list[Finding] = []

    def walk(value: Any, segments: list[str], parts: list[Any], asked: str) -> None:
        if isinstance(value, list):
            for index, item in enumerate(value):
                walk(item, segments, parts + [index], asked)
            return
        if not isinstance(value, dict) or not segments or segments[0] not in value:
            return
        child = value[segments[0]]
        if len(segments) > 1:
            walk(child, segments[1:], parts + [segments[0]], asked)
        elif isinstance(child, str) and ids.prefix_of(child) is not None:
            at = display_path(parts + [segments[0]])
            findings.append(Finding("schema.expand", at, f"{at} is still an id although the request asked for "
                                                         f"expand[]={asked}", "the object", child))

    leaves = [path for path in expand if not any(other.startswith(path + ".") for other in expand)]
    for asked in sorted(leaves):
        segments = asked.split(".")
        for depth in range(1, len(segments) + 1):  # customer.default_source: customer, then its default_source
            walk(body, segments[:depth], [], ".".join(segments[:depth]))
    return list({finding.path: finding for finding in findings}.values())
