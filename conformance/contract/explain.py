"""Why a body is not what the contract says: jsonschema-rs's errors as findings of the ``schema.*`` rules.

Stripe says ``anyOf`` where it means "one of these objects" (the card update
answers a card, a bank account or a source). When no branch fits, the finding
comes from the branch the body is closest to — the one whose ``object`` and
type it has, with the fewest problems — so a card with a string ``exp_year``
reads ``exp_year: the contract says integer``, not "matches no alternative".

Imported only when a body is invalid (``validate.py``): a valid one needs none of this.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

import jsonschema_rs

from conformance.findings import MISSING, Finding
from conformance.paths import display_path
from conformance.rules import Severity
from conformance.text import json_type, snippet

__all__ = ["explain"]

Kind = jsonschema_rs.ValidationErrorKind


def _schema_name(error: Any) -> str:
    """The component a failing keyword belongs to (``card``), from the end of its schema path."""
    path = list(error.schema_path)
    for index in range(len(path) - 2, -1, -1):
        if path[index] == "schemas" and isinstance(path[index + 1], str):
            return f"`{path[index + 1]}`"
    return "response"


def _disqualifies(error: Any, where: list[Any]) -> bool:
    """A branch meant for another type of value, or another kind of object."""
    at = list(error.instance_path)
    if at == where and isinstance(error.kind, Kind.Type):
        return True
    if at == where + ["object"] and isinstance(error.kind, (Kind.Enum, Kind.Constant)):
        return True
    return at == where and isinstance(error.kind, Kind.AnyOf) and _closest_branch(error) is None


def _cost(error: Any, where: list[Any]) -> tuple[int, int]:
    """How far a body is from a branch, (at the object itself, deeper down): one per problem, one per
    unexpected key, a nested ``anyOf`` by its closest branch. A customer lacking ``livemode`` whose ten cards
    carry a key more is a customer, not a deleted customer."""
    count = len(error.kind.unexpected) if isinstance(error.kind, Kind.AdditionalProperties) else 1
    if isinstance(error.kind, (Kind.AnyOf, Kind.OneOfNotValid)):
        branch = _closest_branch(error)
        if branch is not None:
            inner = [_cost(sub, where) for sub in branch]
            return sum(c[0] for c in inner), sum(c[1] for c in inner)
    return (count, 0) if list(error.instance_path) == where else (0, count)


def _closest_branch(error: Any) -> list[Any] | None:
    where = list(error.instance_path)
    best: tuple[int, int, int] | None = None
    chosen: list[Any] | None = None
    for index, errors in enumerate(error.kind.context):
        if any(_disqualifies(sub, where) for sub in errors):
            continue
        costs = [_cost(sub, where) for sub in errors]
        rank = (sum(c[0] for c in costs), sum(c[1] for c in costs), index)
        if best is None or rank < best:
            best, chosen = rank, errors
    return chosen


def _leaves(errors: Iterable[Any]) -> Iterator[Any]:
    for error in errors:
        if isinstance(error.kind, (Kind.AnyOf, Kind.OneOfNotValid)):
            branch = _closest_branch(error)
            if branch is not None:
                yield from _leaves(branch)
                continue
        yield error


def _value(value: Any) -> Any:
    return value if not isinstance(value, (dict, list)) else json_type(value)


def _json(value: Any) -> str:
    return snippet(json.dumps(value, ensure_ascii=False, default=str), 60)


def explain(errors: Iterable[Any], expand: frozenset[str], strict: bool,
            left_out: frozenset[tuple[str, str]]) -> list[Finding]:
    """The findings of a body's errors, one per path: the closest branch of an ``anyOf``, an unlisted key a
    failure only when ``strict``, an expandable field reported as the request's ``expand[]`` and the profile's
    ``left_out`` lists say."""
    findings: dict[str, Finding] = {}  # one per path: the first (a type) says enough; anyOf branches repeat
    for error in _leaves(errors):
        parts = list(error.instance_path)
        path = display_path(parts)
        where = path or "the body"
        value = error.instance
        kind = error.kind
        name = _schema_name(error)
        new: list[Finding] = []
        if isinstance(kind, Kind.Type):
            wanted = " or ".join(kind.types)
            new.append(Finding("schema.type", path, f"{where}: the contract's {name} says {wanted}, got "
                                                    f"{json_type(value)} ({_json(value)})",
                               wanted, _value(value)))
        elif isinstance(kind, Kind.Required):
            at = display_path(parts + [kind.property])
            new.append(Finding("schema.required", at, f"{at} is missing; the contract's {name} requires it",
                               "present", MISSING))
        elif isinstance(kind, (Kind.Enum, Kind.Constant)):
            options = kind.options if isinstance(kind, Kind.Enum) else [kind.expected_value]
            new.append(Finding("schema.enum", path, f"{where}: {_json(value)} is not one of the contract's "
                                                    f"{', '.join(map(_json, options))} ({name})", options, _value(value)))
        elif isinstance(kind, Kind.AdditionalProperties):
            severity = Severity.FAILURE if strict else Severity.WARNING
            for key in kind.unexpected:
                at = display_path(parts + [key])
                got = value.get(key) if isinstance(value, dict) else None
                new.append(Finding("schema.additional", at, f"{at}: the contract's {name} does not list this key",
                                   MISSING, _value(got), severity))
        elif isinstance(kind, Kind.Custom) and kind.keyword in ("x-expandable", "x-includable"):
            field = kind.message
            at = display_path(parts + [field])
            dotted = ".".join(str(p) for p in parts + [field] if not isinstance(p, int))
            if dotted not in expand and kind.keyword == "x-expandable":
                new.append(Finding("schema.expand", at, f"{at} is the expanded object, but the request did not ask "
                                                        f"for expand[]={dotted} (the contract's {name} returns its id)",
                                   "an id", "an object"))
            elif dotted not in expand and (name.strip("`"), field) in left_out:
                new.append(Finding("schema.expand", at, f"{at} is present, but the request did not ask for "
                                                        f"expand[]={dotted} (the API documents a {name.strip('`')}'s "
                                                        f"{field} as left out unless expanded)", MISSING, "a list"))
            elif dotted not in expand:  # the contract does not say whether it is written out by default
                new.append(Finding("schema.expand", at, f"{at} is present, but the request did not ask for "
                                                        f"expand[]={dotted}: the contract's {name} lists it among "
                                                        "expandable fields and does not say whether it is written "
                                                        "out by default", MISSING, "a list", Severity.WARNING))
        elif isinstance(kind, (Kind.AnyOf, Kind.OneOfNotValid)):
            new.append(Finding("schema.type", path, f"{where}: {json_type(value)} {_json(value)} "
                                                    f"fits none of the contract's {len(kind.context)} alternatives "
                                                    f"({name})", "one of the alternatives", _value(value)))
        else:
            new.append(Finding("schema.constraint", path, f"{where}: {snippet(error.message, 120)} ({name})",
                               None, _value(value)))
        for finding in new:
            findings.setdefault(finding.path, finding)
    return sorted(findings.values(), key=lambda f: f.path)
