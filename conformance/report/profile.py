"""Target profiles: a target's known limitations, so its matrix column shows them as *known*, not broken.

A profile is a small YAML file naming targets (as ``--target NAME=…`` names
them) and, for each, the documented behaviours it breaks on purpose, each with
its reason::

    stripe-mock:
      - preset: stateless
        reason: stripe-mock keeps no state (its README, "Limitations")
      - rule: "route.missing:GET /v1/customers/:customer/cards"
        reason: the /cards list route is not implemented

``rule`` is ``RULE`` or ``RULE:PATH``: a rule id (or a problem name such as
``parameters-not-applied``, or ``answer-kind``), and a glob matched against
what the problem is about — its key paths, endpoints, object kind, the route a
``route.missing`` names, a ``status`` change such as ``404->200``. A known
limitation never hides another problem: a cell is *known* only when every
problem in it is.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import yaml

from conformance.errors import ReportError
from conformance.redaction import Redactor
from conformance.report.causes import RootCause
from conformance.rules import RULES

__all__ = ["Limitation", "Profile", "PRESETS", "PROBLEMS", "read_profiles", "known_reason"]

# Problems named beyond rule ids: the grouping's own names (conformance.report.causes).
PROBLEMS = {
    "parameters-not-applied": "parameters a request set that the answer does not show",
    "answer-kind": "an answer of another kind of object than documented (a delete answering an account)",
}
# name -> (what it means, the RULE[:PATH] patterns it stands for)
PRESETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stateless": (
        "keeps no state: any id answers a fixture (its values, its nullable fields filled or not), and what was "
        "created, updated or deleted is not kept; the documented types (invariant.card, the contract) still apply",
        ("id.binding", "parameters-not-applied", "invariant.deleted_card", "invariant.default_source", "list.items",
         "list.order", "list.length", "value:card", "value:customer", "value:list", "type:card", "type:customer",
         "status:404->2*"),
    ),
    "one-type": (
        "answers a polymorphic endpoint (a customer's sources: cards, bank accounts, sources) with one object type",
        ("answer-kind", "object", "id.prefix"),
    ),
}


@dataclass(frozen=True)
class Limitation:
    """One known limitation: what it matches, why it is known, and where it was said."""

    rule: str
    path: str | None
    reason: str
    said: str  # as the profile said it: ``preset stateless`` or ``RULE[:PATH]``
    place: str  # file:line

    def matches(self, cause: RootCause) -> bool:
        named = cause.rule == self.rule or (cause.key[:1] == ("problem",) and cause.key[1] == self.rule) or (
            self.rule == "answer-kind" and cause.key[:1] == ("answer-kind",))
        if not named:
            return False
        return self.path is None or any(fnmatch.fnmatchcase(subject, self.path) for subject in _subjects(cause))


def _subjects(cause: RootCause) -> list[str]:
    """What a problem is about, as a profile's PATH may name it."""
    subjects = [*cause.paths, *cause.endpoints, *([cause.kind] if cause.kind else [])]
    if cause.rule == "route.missing" and len(cause.key) > 1:
        subjects.append(cause.key[1])
    if cause.rule == "status" and len(cause.key) == 4:
        subjects.append(f"{cause.key[2]}->{cause.key[3]}")
    return subjects


@dataclass
class Profile:
    """A target's known limitations."""

    target: str
    place: str  # file:line of the target's name
    limitations: list[Limitation]

    def known(self, cause: RootCause) -> Limitation | None:
        return next((limitation for limitation in self.limitations if limitation.matches(cause)), None)


def known_reason(profile: Profile | None, cause: RootCause) -> str | None:
    """Why a problem is known for the target, or None: it is a problem."""
    limitation = profile.known(cause) if profile is not None else None
    return f"{limitation.reason} ({limitation.said}, {limitation.place})" if limitation is not None else None


def _pattern(text: str, place: str) -> tuple[str, str | None]:
    rule, _, path = text.partition(":")
    rule = rule.strip()
    if rule not in RULES and rule not in PROBLEMS:
        raise ReportError(f"{place}: unknown rule {rule!r} (a rule id such as invariant.deleted or list.order, or "
                          f"{' or '.join(PROBLEMS)})")
    return rule, path.strip() or None


def _scalar(node: yaml.Node, path: Path, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode) or not str(node.value).strip():
        raise ReportError(f"{path}:{node.start_mark.line + 1}: {what} must be text")
    return str(node.value).strip()


def _entry(node: yaml.Node, path: Path, redactor: Redactor) -> Iterable[Limitation]:
    place = f"{path}:{node.start_mark.line + 1}"
    if not isinstance(node, yaml.MappingNode):
        raise ReportError(f"{place}: each limitation is a mapping: `- rule: RULE[:PATH]` or `- preset: NAME`, "
                          "with `reason: …`")
    fields = {_scalar(key, path, "a key"): value for key, value in node.value}
    unknown = sorted(set(fields) - {"rule", "preset", "reason"})
    if unknown:
        raise ReportError(f"{place}: unknown key {', '.join(unknown)} (a limitation has rule or preset, and reason)")
    if ("rule" in fields) == ("preset" in fields):
        raise ReportError(f"{place}: give `rule: RULE[:PATH]` or `preset: NAME` ({', '.join(PRESETS)}), one of them")
    if "reason" not in fields:
        raise ReportError(f"{place}: say why with `reason: …` (a known limitation needs its reason)")
    # a reason is copied into every output of the matrix: a key or card number pasted into it stays out of them
    reason = redactor.text(_scalar(fields["reason"], path, "reason"))
    if "preset" in fields:
        name = _scalar(fields["preset"], path, "preset")
        if name not in PRESETS:
            raise ReportError(f"{place}: unknown preset {name!r} (known: {', '.join(PRESETS)})")
        for pattern in PRESETS[name][1]:
            rule, rule_path = _pattern(pattern, place)
            yield Limitation(rule, rule_path, reason, f"preset {name}", place)
        return
    said = _scalar(fields["rule"], path, "rule")
    rule, rule_path = _pattern(said, place)
    yield Limitation(rule, rule_path, reason, redactor.text(said), place)


def read_profiles(paths: Iterable[Path], redactor: Redactor | None = None) -> dict[str, Profile]:
    """Every target's profile from the files; a file that is no profile is one ReportError naming file and line.
    Reasons go through ``redactor`` (default: the built-in rules) before any output sees them."""
    redactor = redactor or Redactor()
    profiles: dict[str, Profile] = {}
    for path in paths:
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except RecursionError:
            raise ReportError(f"{path}: not a profile: nested deeper than any profile is (a profile maps target "
                              "names to lists of limitations)") from None
        except OSError as error:
            raise ReportError(f"cannot read profile {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise ReportError(f"{path}: a profile is UTF-8 YAML text") from None
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
            raise ReportError(f"{where}: not YAML: {getattr(error, 'problem', None) or error}") from None
        if root is None or not isinstance(root, yaml.MappingNode):
            raise ReportError(f"{path}: a profile maps target names to their known limitations (`stripe-mock:` then "
                              "`- preset: stateless` and `reason: …`)")
        for key, value in root.value:
            name = _scalar(key, path, "a target name")
            place = f"{path}:{key.start_mark.line + 1}"
            if name in profiles:
                raise ReportError(f"{place}: target {name} has a profile already ({profiles[name].place})")
            if not isinstance(value, yaml.SequenceNode) or not value.value:
                raise ReportError(f"{place}: {name}: a list of limitations (`- rule: RULE[:PATH]` or `- preset: NAME`, "
                                  "each with `reason: …`)")
            profiles[name] = Profile(name, place, [limit for item in value.value
                                                   for limit in _entry(item, path, redactor)])
    return profiles
