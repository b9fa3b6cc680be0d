"""Comparing an actual response with the recorded one, by rules a user can read and override.

Both bodies are first turned into *views* under the same rules: server-minted
values (``created``, ``fingerprint``, an expiry a test token happened to carry)
become a token of their shape, ignored paths disappear, an error keeps only
what is compared. Equal views conform — the fast path. Otherwise deepdiff lists
the differences between the views, and each is classified into a finding with
the rule it breaks:

``status``, ``body.json``, ``object``, ``keys.missing``, ``keys.extra``
(a warning unless strict), ``type``, ``value``, ``format``, ``id.binding``,
``id.prefix``, ``list.length``.

Lists of objects with ids (a page of cards, a customer's ``sources``) are
compared as lists, not position by position: items are matched by id, and
what differs is said of the list — its order (``list.order``: oldest first
where the API promises the most recent first), the items it lacks or holds
besides (``list.items``) — while each matched pair is compared key by key.
Items are named by when the cassette minted them (``the card attached 2nd``).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from conformance.api_profile import ComparisonDefaults, IdScheme
from conformance.checks.naming import Minted, names_of
from conformance.checks.parameters import without_indexes
from conformance.findings import MISSING, Finding
from conformance.paths import display_path, parse_path, path_pattern, value_at
from conformance.rules import RULES, Severity
from conformance.text import json_type, value_text

__all__ = ["CompareRules", "compare_bodies"]

# What an error object holds, as every Stripe-shaped API answers one.
ERROR_KEYS = ("type", "code", "param", "message")

IGNORE, EXACT, FORMAT, LOOSE, CHECK = "ignore", "exact", "format", "loose", "check"
NULLABLE = "nullable"  # the profile's: null on either side conforms, two values are compared
_SHAPE = "\x1fshape:"
_ITEM = "\x1fid:"  # a list item's place in a view: its id, not its position



@dataclass(frozen=True)
class CompareRules:
    """The comparison rules of a run.

    ``ignore``/``exact``/``loose``/``nullable`` take key names (``fingerprint``,
    ``*_check``: that key at any depth) or paths (``error.message``,
    ``data[*].name``, ``**.created``). ``loose`` compares text by presence only
    (any non-empty text conforms), ``nullable`` takes null on either side, or
    text on both: for values public sources disagree on (a new customer's
    ``currency``, ``preferred_locales``). Where neither the run nor the
    cassette says how a key is compared, the profile's ``defaults`` do (what
    the API's public sources disagree on: its ``nullable``, where null on
    either side conforms and two values are compared; its ``ignored``; its
    ``loose``, a value one source chose), so every comparison of the same API
    judges a disputed key alike.
    """

    strict: bool = False
    ignore: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    loose: tuple[str, ...] = ()
    nullable: tuple[str, ...] = ()
    ids: IdScheme = field(default_factory=lambda: IdScheme(()))  # the profile's: an id's kind is compared
    defaults: ComparisonDefaults = field(default_factory=ComparisonDefaults)  # the profile's: minted values, user data…
    _keys: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _paths: tuple[tuple[re.Pattern[str], str], ...] = field(default=(), compare=False, repr=False)
    _rules: tuple[tuple[str, re.Pattern[str] | None], ...] = field(default=(), compare=False, repr=False)
    # the profile's defaults, consulted where the run's and the cassette's rules say nothing
    _default_keys: dict[str, str] = field(default_factory=dict, compare=False, repr=False)
    _default_paths: tuple[tuple[re.Pattern[str], str], ...] = field(default=(), compare=False, repr=False)
    _loose_values: dict[str, tuple[re.Pattern[str], ...]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        rules: list[tuple[str, re.Pattern[str] | None]] = []
        for pattern in self.ignore:  # RULE or RULE:PATH silences findings of a rule (an invariant, say)
            rule_id, colon, where = pattern.partition(":")
            if colon or rule_id in RULES:
                rules.append((rule_id, path_pattern(where) if where else None))
        object.__setattr__(self, "_rules", tuple(rules))
        keys, paths = _compiled(((CHECK, self.nullable), (LOOSE, self.loose), (EXACT, self.exact),
                                 (IGNORE, self.ignore)))  # ignore wins
        object.__setattr__(self, "_keys", keys)
        object.__setattr__(self, "_paths", paths)
        defaults = self.defaults
        keys, paths = _compiled(((NULLABLE, tuple(defaults.nullable)), (IGNORE, tuple(defaults.ignored))))
        object.__setattr__(self, "_default_keys", keys)
        object.__setattr__(self, "_default_paths", paths)
        loose: dict[str, tuple[re.Pattern[str], ...]] = {}
        for where, value in sorted(defaults.loose):
            loose[value] = (*loose.get(value, ()), *_patterns(where))
        object.__setattr__(self, "_loose_values", loose)

    def with_overrides(self, ignore: Iterable[str] = (), exact: Iterable[str] = (),
                       loose: Iterable[str] = (), nullable: Iterable[str] = ()) -> CompareRules:
        return CompareRules(self.strict, (*self.ignore, *ignore), (*self.exact, *exact), (*self.loose, *loose),
                            (*self.nullable, *nullable), self.ids, self.defaults)

    def ignores(self, rule: str, path: str) -> bool:
        """Whether a finding of ``rule`` at ``path`` is silenced: by its rule (``invariant.card``,
        ``invariant.card:wallet``) or by its path, as comparisons are (``wallet``, ``**.wallet``). The profile's
        ``ignored`` keys are the comparison's only: a documented rule is judged there all the same."""
        for rule_id, where in self._rules:
            if rule_id == rule and (where is None or where.fullmatch(path)):
                return True
        if not path or not (self._keys or self._paths):
            return False
        parts = parse_path(path)
        return _mode_of(parts[-1], parts, self._keys, self._paths) == IGNORE

    def mode(self, key: Any, parts: list[Any]) -> str | None:
        """How the value at ``parts`` (ending in ``key``) is compared; None: the default for its place. The run's
        and the cassette's rules first, then the profile's (``nullable``, ``ignored``)."""
        mode = _mode_of(key, parts, self._keys, self._paths)
        if mode is None and (self._default_keys or self._default_paths):
            mode = _mode_of(key, parts, self._default_keys, self._default_paths)
        return mode

    def loose_by_default(self, parts: list[Any], recorded: Any) -> bool:
        """Whether the profile compares the recorded value at ``parts`` by presence only (a value one source
        chose where the documents name none: ``error.code`` ``parameter_invalid_integer``)."""
        patterns = self._loose_values.get(recorded) if isinstance(recorded, str) and self._loose_values else None
        if not patterns:
            return False
        path = display_path(parts)
        return any(pattern.fullmatch(path) for pattern in patterns)


def _patterns(pattern: str) -> tuple[re.Pattern[str], ...]:
    """A path (``error.message``, ``data[*].name``) as one pattern; a key glob (``*_check``) at any depth."""
    if "." in pattern or "[" in pattern:
        return (path_pattern(pattern),)
    return path_pattern("**." + pattern), path_pattern(pattern)


def _compiled(modes: Iterable[tuple[str, Iterable[str]]]) -> tuple[dict[str, str],
                                                                   tuple[tuple[re.Pattern[str], str], ...]]:
    """Key names to their mode, and path patterns with theirs; a later mode overrides an earlier one for a key.
    ``RULE`` and ``RULE:PATH`` (silencing a rule's findings) are no comparison mode: left out."""
    keys: dict[str, str] = {}
    paths: list[tuple[re.Pattern[str], str]] = []
    for mode, patterns in modes:
        for pattern in patterns:
            if ":" in pattern or pattern in RULES:
                continue
            if "." in pattern or "[" in pattern or "*" in pattern or "?" in pattern:
                paths += [(compiled, mode) for compiled in _patterns(pattern)]
            else:
                keys[pattern] = mode
    return keys, tuple(paths)


def _mode_of(key: Any, parts: list[Any], keys: dict[str, str],
             paths: tuple[tuple[re.Pattern[str], str], ...]) -> str | None:
    """The mode ``keys`` and ``paths`` give the value at ``parts``; ignore wins over any other."""
    mode = None
    if paths:
        path = display_path(parts)
        for pattern, pattern_mode in paths:
            if pattern.fullmatch(path):
                mode = IGNORE if IGNORE in (mode, pattern_mode) else pattern_mode
    if isinstance(key, str) and key in keys:
        mode = IGNORE if mode == IGNORE else keys[key]
    return mode


def _shape(value: Any, ids: IdScheme) -> str:
    prefix = ids.prefix_of(value)
    return f"{_SHAPE}{type(value).__name__}" + (f":{prefix}" if prefix else "")


def _is_redacted(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("[REDACTED:")


@dataclass
class _Context:
    rules: CompareRules
    set_fields: Mapping[str, frozenset[str]]  # object id -> fields a request of the cassette set on it
    object_fields: frozenset[str] = frozenset()  # of the object being compared
    minted: Minted = field(default_factory=dict)
    list_findings: list[Finding] = field(default_factory=list)  # what lists of objects say as a whole
    judged: set[str] = field(default_factory=set)  # documented rules the comparison judged (list.order)
    exact: frozenset[str] = frozenset()  # paths (no list positions) this exchange's request set: compared exactly

    def within(self, object_fields: frozenset[str]) -> _Context:
        return _Context(self.rules, self.set_fields, object_fields, self.minted, self.list_findings, self.judged,
                        self.exact)


def _views(recorded: Any, actual: Any, key: Any, parts: list[Any], ctx: _Context, mode: str | None) -> tuple[Any, Any]:
    if mode == NULLABLE:  # what sources disagree on is whether it is null: two values are compared as any
        if recorded is None or actual is None:
            return _SHAPE + "check", _SHAPE + "check"
        mode = None
    if mode == FORMAT or _is_redacted(recorded):
        return _shape(recorded, ctx.rules.ids), _shape(actual, ctx.rules.ids)
    if mode == LOOSE:
        if isinstance(recorded, str) and isinstance(actual, str) and recorded and actual:
            return _SHAPE + "text", _SHAPE + "text"
        return recorded, actual
    if mode == CHECK:  # nullable: null on either side conforms; two texts conform; two values are compared
        if recorded is None or actual is None or (isinstance(recorded, str) and isinstance(actual, str)):
            return _SHAPE + "check", _SHAPE + "check"
        return recorded, actual
    if isinstance(recorded, dict) and isinstance(actual, dict):
        defaults = ctx.rules.defaults
        if mode == EXACT or key in defaults.user_data:
            return recorded, actual
        if "object" in recorded and "object" in actual and recorded["object"] != actual["object"]:
            # Another kind of object: one `object` finding, nothing beneath it compared key by key.
            return {"object": recorded["object"]}, {"object": actual["object"]}
        if "object" in recorded and isinstance(recorded.get("id"), str):  # an object: what requests set on it
            ctx = ctx.within(ctx.set_fields.get(recorded["id"], frozenset()))
        view_r: dict[Any, Any] = {}
        view_a: dict[Any, Any] = {}
        for child, value in recorded.items():
            child_parts = parts + [child]
            child_mode = ctx.rules.mode(child, child_parts)
            if child_mode == IGNORE:
                continue
            if child_mode is None and (child in defaults.minted or (
                    child in defaults.set_by_request and child not in ctx.object_fields
                    and (not ctx.exact or without_indexes(display_path(child_parts)) not in ctx.exact))):
                child_mode = FORMAT
            elif child_mode is None and defaults.verification_suffix and isinstance(child, str) and \
                    child.endswith(defaults.verification_suffix):
                child_mode = CHECK
            elif child_mode is None and ctx.rules.loose_by_default(child_parts, value):
                child_mode = LOOSE
            if child in actual:
                view_r[child], view_a[child] = _views(value, actual[child], child, child_parts, ctx, child_mode)
            else:
                view_r[child] = value
        for child, value in actual.items():
            if child not in recorded and ctx.rules.mode(child, parts + [child]) != IGNORE:
                view_a[child] = value
        return view_r, view_a
    if isinstance(recorded, list) and isinstance(actual, list) and mode != EXACT:
        if _has_ids(recorded) and (not actual or _has_ids(actual)):
            return _list_views(recorded, actual, parts, ctx)
        pairs = [
            _views(r, a, index, parts + [index], ctx, ctx.rules.mode(index, parts + [index]))
            for index, (r, a) in enumerate(zip(recorded, actual))
        ]
        rest = len(pairs)
        return [r for r, _ in pairs] + recorded[rest:], [a for _, a in pairs] + actual[rest:]
    return recorded, actual


def _has_ids(items: list[Any]) -> bool:
    """Objects each with an id of its own (a list repeating an id is compared position by position)."""
    if not items or not all(isinstance(item, dict) and isinstance(item.get("id"), str) for item in items):
        return False
    return len({item["id"] for item in items}) == len(items)


def promises_order(body: Any, minted: Minted) -> bool:
    """Whether a recorded body holds a list in the documented order (most recent first, two items or more):
    what makes an exchange judge ``list.order``."""
    if isinstance(body, dict):
        return any(promises_order(child, minted) for child in body.values() if isinstance(child, (dict, list)))
    if isinstance(body, list):
        if _has_ids(body) and _monotonic([minted[i["id"]][1] for i in body if i["id"] in minted], descending=True):
            return True
        return any(promises_order(child, minted) for child in body if isinstance(child, (dict, list)))
    return False


def _list_views(recorded: list[Any], actual: list[Any], parts: list[Any], ctx: _Context) -> tuple[Any, Any]:
    """Items matched by id, each pair compared; the list's order and membership judged as a whole."""
    by_id = {item["id"]: item for item in actual}
    view_r: dict[str, Any] = {}
    view_a: dict[str, Any] = {}
    for index, item in enumerate(recorded):
        other = by_id.get(item["id"])
        if other is not None:
            key = _ITEM + item["id"]
            item_parts = parts + [index]
            view_r[key], view_a[key] = _views(item, other, index, item_parts, ctx, ctx.rules.mode(index, item_parts))
    finding = _list_finding([item["id"] for item in recorded], [item["id"] for item in actual], parts, ctx)
    if finding is not None:
        ctx.list_findings.append(finding)
    return view_r, view_a


def _monotonic(numbers: list[int], descending: bool) -> bool:
    return len(numbers) >= 2 and all((a > b) if descending else (a < b) for a, b in itertools.pairwise(numbers))


def _list_finding(recorded: list[str], actual: list[str], parts: list[Any], ctx: _Context) -> Finding | None:
    path = display_path(parts)
    minted = ctx.minted
    recorded_set, actual_set = set(recorded), set(actual)
    missing = [i for i in recorded if i not in actual_set]
    extra = [i for i in actual if i not in recorded_set]
    recorded_order = [minted[i][1] for i in recorded if i in minted]
    actual_order = [minted[i][1] for i in actual if i in minted]
    promised = _monotonic(recorded_order, descending=True)
    if promised and len([i for i in actual if i in recorded_set]) >= 2:
        ctx.judged.add("list.order")  # most recent first, as recorded, and two of its items to order in the answer
    if promised and _monotonic(actual_order, descending=False):
        return Finding("list.order", path, f"{path}: oldest first where the API promises the most recent first "
                       f"(got {names_of(actual, minted)}; expected {names_of(recorded, minted)})",
                       "most recent first", "oldest first")
    matched_recorded = [i for i in recorded if i in actual_set]
    matched_actual = [i for i in actual if i in recorded_set]
    if matched_recorded != matched_actual:
        return Finding("list.order", path, f"{path}: the items come in another order than the recording's "
                       f"(got {names_of(matched_actual, minted)}; expected {names_of(matched_recorded, minted)})",
                       "the recording's order", "another order")
    if not missing and not extra:
        return None
    said = []
    if missing:
        said.append(f"lacks {names_of(missing, minted)}")
    if extra:
        said.append(f"holds {names_of(extra, minted)} besides")
    return Finding("list.items", path, f"{path}: expected {len(recorded)} items, got {len(actual)}: it "
                   + " and ".join(said), missing, extra)


def _concrete(parts: list[Any], data: Any) -> list[Any] | None:
    """View parts with list items named by id turned into the positions they hold in ``data``."""
    if not any(isinstance(part, str) and part.startswith(_ITEM) for part in parts):
        return parts
    out: list[Any] = []
    for part in parts:
        if isinstance(part, str) and part.startswith(_ITEM):
            item_id = part[len(_ITEM):]
            position = next((n for n, item in enumerate(data) if isinstance(item, dict) and item.get("id") == item_id),
                             None) if isinstance(data, list) else None
            if position is None:
                return None
            part = position
        out.append(part)
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            data = MISSING
    return out


def _error_views(recorded: dict[str, Any], actual: Any, ctx: _Context) -> tuple[Any, Any]:
    """Errors compare type, code, param exactly and the message loosely (unless overridden)."""
    recorded_error = recorded.get("error")
    actual_error = actual.get("error") if isinstance(actual, dict) else MISSING
    if not isinstance(recorded_error, dict) or not isinstance(actual_error, dict):
        return recorded, actual
    view_r: dict[str, Any] = {}
    view_a: dict[str, Any] = {}
    for key in ERROR_KEYS:
        parts = ["error", key]
        mode = ctx.rules.mode(key, parts)
        if mode == IGNORE or (key not in recorded_error and key not in actual_error):
            continue
        if mode is None and (key == "message" or ctx.rules.loose_by_default(parts, recorded_error.get(key))):
            mode = LOOSE
        if key in recorded_error and key in actual_error:
            view_r[key], view_a[key] = _views(recorded_error[key], actual_error[key], key, parts, ctx, mode)
        elif key in recorded_error:
            view_r[key] = recorded_error[key]
        elif key != "message" and actual_error.get(key) is not None:
            view_a[key] = actual_error[key]
    return {"error": view_r}, {"error": view_a}


def compare_bodies(
    recorded: Any,
    actual: Any,
    rules: CompareRules,
    *,
    is_error: bool = False,
    set_fields: Mapping[str, frozenset[str]] | None = None,
    minted: Minted | None = None,
    judged: set[str] | None = None,
    exact: frozenset[str] = frozenset(),
) -> list[Finding]:
    """Findings from comparing a recorded body (ids already substituted) with the actual one.

    ``set_fields`` maps a card id to the fields (``exp_month``…) requests of the
    cassette set on that card, which are then compared exactly; ``minted`` names
    the items of lists by when the cassette minted them; ``judged`` gets the
    documented rules the comparison judged (``list.order``); ``exact``: paths (``card.exp_month``) this
    exchange's request set, compared exactly even where the value is otherwise compared by shape.
    """
    ctx = _Context(rules, set_fields or {}, minted=minted or {}, judged=judged if judged is not None else set(),
                   exact=exact)
    if is_error and isinstance(recorded, dict):
        view_r, view_a = _error_views(recorded, actual, ctx)
    else:
        view_r, view_a = _views(recorded, actual, None, [], ctx, None)
    findings: list[Finding] = list(ctx.list_findings)
    if view_r == view_a and type(view_r) is type(view_a):
        return findings
    # Imported here: a run whose answers all conform never pays deepdiff's import (~40-80 ms of a run's fixed cost).
    from deepdiff import DeepDiff

    # threshold_to_diff_deeper=0: always list key by key, even when few keys are shared.
    diff = DeepDiff(view_r, view_a, view="tree", verbose_level=2, threshold_to_diff_deeper=0)
    lists_reported: set[str] = set()
    for change, levels in diff.items():
        for level in levels:
            view_parts = level.path(output_format="list")
            parts = _concrete(view_parts, recorded) or view_parts
            actual_parts = _concrete(view_parts, actual) or view_parts
            path = display_path(parts)
            expected, got = value_at(recorded, parts, MISSING), value_at(actual, actual_parts, MISSING)
            finding = _classify(change, parts, path, expected, got, level, rules, lists_reported, recorded,
                                (actual, actual_parts))
            if finding is not None:
                findings.append(finding)
    findings.sort(key=lambda f: f.path)
    return findings


def _classify(
    change: str, parts: list[Any], path: str, expected: Any, got: Any, level: Any, rules: CompareRules,
    lists_reported: set[str], recorded: Any, actual_at: tuple[Any, list[Any]],
) -> Finding | None:
    in_user_data = any(part in rules.defaults.user_data for part in parts[:-1])
    if change in ("iterable_item_added", "iterable_item_removed"):
        list_parts = parts[:-1]
        list_path = display_path(list_parts)
        if list_path in lists_reported:
            return None
        lists_reported.add(list_path)
        actual, actual_parts = actual_at
        want, have = value_at(recorded, list_parts, MISSING), value_at(actual, actual_parts[:-1], MISSING)
        return Finding("list.length", list_path, f"expected {len(want)} items, got {len(have)}", len(want), len(have))
    if change == "dictionary_item_removed":
        if in_user_data:
            return Finding("value", path, f"{path}: expected {_json(expected)}, the key is missing", expected, MISSING)
        return Finding("keys.missing", path, f"{path} is missing (recorded: {_json(expected)})", expected, MISSING)
    if change == "dictionary_item_added":
        if in_user_data:
            return Finding("value", path, f"{path}: unexpected key with {_json(got)}", MISSING, got)
        severity = Severity.FAILURE if rules.strict else Severity.WARNING
        return Finding("keys.extra", path, f"{path} is not in the recording", MISSING, got, severity)
    if change == "type_changes":
        return Finding("type", path, f"{path}: expected {_type_name_of(expected)}, got {_type_name_of(got)}{_example(got)}",
                       expected, got)
    if change == "values_changed":
        t1, t2 = level.t1, level.t2
        if isinstance(t1, str) and isinstance(t2, str) and t1.startswith(_SHAPE) and t2.startswith(_SHAPE):
            if _type_name_of(expected) != _type_name_of(got):
                return Finding("type", path, f"{path}: expected {_type_name_of(expected)}, got {_type_name_of(got)}{_example(got)}",
                               expected, got)
            return Finding("format", path, f"{path}: expected a value shaped like {_json(expected)}, got {_json(got)}",
                           expected, got)
        if parts and parts[-1] == "object" and not in_user_data:
            return Finding("object", path, f"object: expected {_json(expected)}, got {_json(got)}", expected, got)
        prefix = rules.ids.prefix_of(expected)
        if prefix is not None:
            if rules.ids.prefix_of(got) != prefix:
                return Finding("id.prefix", path, f"{path}: expected a {prefix}_ id, got {_json(got)}", expected, got)
            return Finding("id.binding", path, f"{path}: expected {expected} (the bound id), got {got}", expected, got)
        return Finding("value", path, f"{path}: expected {_json(expected)}, got {_json(got)}", expected, got)
    return Finding("value", path, f"{path}: {change.replace('_', ' ')}", expected, got)


def _json(value: Any) -> str:
    """A value in a message as JSON says it (``false``, ``null``, ``"12"``), never a Python repr."""
    return value_text(value, MISSING)


def _example(value: Any) -> str:
    """The value after its type's name, where it says more than the name (``string ("12")``, not ``null (null)``)."""
    return "" if value is None or value is MISSING or isinstance(value, bool) else f" ({_json(value)})"


def _type_name_of(value: Any) -> str:
    return "missing" if value is MISSING else json_type(value)
