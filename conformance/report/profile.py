"""Target profiles: a target's known limitations, so its matrix column shows them as *known*, not broken.

A profile is a small YAML file naming targets (as ``--target NAME=…`` names
them) and, for each, the documented behaviours it breaks on purpose, each with
its reason::

    stripe-mock:
      - preset: stateless
        reason: stripe-mock keeps no state (its README, "Limitations")
        issue: https://github.com/stripe/stripe-mock#limitations
      - rule: "route.missing:GET /v1/customers/:customer/cards"
        reason: the /cards list route is not implemented
        issue: https://github.com/stripe/stripe-mock/issues/123
        until: 2026-06-30

``rule`` is ``RULE`` or ``RULE:PATH``: a rule id (or a problem name such as
``parameters-not-applied``, or ``answer-kind``), and a glob matched against
what the problem is about — its key paths, endpoints, object kind, the route a
``route.missing`` names, a ``status`` change such as ``404->200``. A known
limitation never hides another problem: a cell is *known* only when every
problem in it is.

``issue`` links where the limitation is tracked and ``until`` (a date) says
when it should be gone: :func:`review` tells, per limitation, whether it still
matches a problem, is *fixed* (the behaviour it names now holds: remove it),
*expired*, or *too broad* (one ``rule:`` matching several distinct problems
hides the next one too), so a profile cannot rot unnoticed.
"""

from __future__ import annotations

import datetime
import fnmatch
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from conformance.errors import ReportError
from conformance.redaction import Redactor
from conformance.report.causes import _EXPANSION_WORDS, RootCause
from conformance.rules import RULES, Group, rules_of, traits

__all__ = ["Limitation", "Profile", "presets", "PROBLEMS", "read_profiles", "known_reason", "LimitationState",
           "Review", "review"]

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml refuses a deep nesting at once; Python's recurses

# Problems named beyond rule ids: the grouping's own names (conformance.report.causes). A problem of one of these
# names is matched by its name only, never by the rule of its first finding: `type:card` does not silence an update
# whose answer ignores its parameters.
PROBLEMS = {
    "parameters-not-applied": "parameters a request set that the answer does not show",
    "answer-kind": "an answer of another kind of object than documented (a delete answering an account)",
    **_EXPANSION_WORDS,
}
# name -> (what it means, the RULE[:PATH] patterns it stands for beyond the rules that belong to it: a rule's
# ``presets`` trait, and what API profiles add). A preset silences only what its name explains: keeping no state
# explains fixture values and lost objects, not an update's answer that ignores the update's own parameters
# (``parameters-not-applied``) nor a list's wrong ``url`` — a stateless server can echo both.
_PRESETS: dict[str, tuple[str, tuple[str, ...]]] = {
    "stateless": (
        "keeps no state: any id answers a fixture (its values, its nullable fields filled or not), and what was "
        "created, updated or deleted is not kept; the documented types (the API profile's rules, the contract), an answer's "
        "echo of its own request's parameters and a list's url still apply",
        ("value:has_more", "status:404->2*"),
    ),
    "one-type": (
        "answers a polymorphic endpoint (a customer's sources: cards, bank accounts, sources) with one object type",
        ("answer-kind",),
    ),
}


def presets() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Each preset: what it means and every RULE[:PATH] pattern it stands for, as the registered rules say now."""
    return {name: (reason, (*rules_of(name), *patterns)) for name, (reason, patterns) in _PRESETS.items()}


@dataclass(frozen=True)
class Limitation:
    """One known limitation: what it matches, why it is known, where it was said, where it is tracked (``issue``)
    and until when it is expected (``until``)."""

    rule: str
    path: str | None
    reason: str
    said: str  # as the profile said it: ``preset stateless`` or ``RULE[:PATH]``
    place: str  # file:line
    issue: str | None = None
    until: datetime.date | None = None

    @property
    def preset(self) -> bool:
        return self.said.startswith("preset ")

    def matches(self, cause: RootCause) -> bool:
        if cause.key[:1] == ("problem",) and len(cause.key) > 1 and cause.key[1] in PROBLEMS:
            named = cause.key[1] == self.rule  # a named problem answers to its name only
        else:
            named = cause.rule == self.rule or (self.rule == "answer-kind" and cause.key[:1] == ("answer-kind",))
        if not named:
            return False
        return self.path is None or any(fnmatch.fnmatchcase(subject, self.path) for subject in _subjects(cause))


def _subjects(cause: RootCause) -> list[str]:
    """What a problem is about, as a profile's PATH may name it."""
    subjects = [*cause.paths, *cause.endpoints, *([cause.kind] if cause.kind else [])]
    group = traits(cause.rule).group
    if group is Group.ROUTE and len(cause.key) > 1:
        subjects.append(cause.key[1])
    if group is Group.STATUS and len(cause.key) == 4:
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


class LimitationState(StrEnum):
    IN_USE = "in use"  # it matches a problem of the run
    FIXED = "fixed"  # it matches none, and the behaviour it names was judged and holds: remove it
    SHADOWED = "shadowed"  # what it matches, an earlier limitation already makes known: remove it
    NOT_EXERCISED = "not exercised"  # it matches none, and the suite never judged what it names


def _identity(cause: RootCause) -> tuple[str, ...]:
    """A problem as the broadness of a limitation counts it: its cause key, a ``value`` problem by its key path
    (one fixture's brand is one problem, whatever values it swaps)."""
    return tuple(cause.key[:3]) if cause.key[:1] == ("value",) else tuple(cause.key)


def _named(cause: RootCause) -> str:
    """A problem in a few words: its rule and what it is about (its key paths, else its endpoints)."""
    return f"{cause.rule} {', '.join(cause.paths[:2] or cause.endpoints[:2])}".strip()


@dataclass
class Review:
    """One limitation as the profile said it (a preset once, for all its patterns), judged against a run."""

    said: str
    reason: str
    place: str
    issue: str | None
    until: datetime.date | None
    state: LimitationState
    problems: list[RootCause] = field(default_factory=list)  # the failures it makes known
    expired: bool = False
    too_broad: bool = False

    def strict_failures(self) -> list[str]:
        """What ``--strict-profiles`` fails the run on, one line each, naming the profile's file and line."""
        lines = []
        if self.state == LimitationState.FIXED:
            lines.append(f"{self.place}: {self.said}: fixed — no problem matches it and the behaviour it names holds: "
                         "remove the limitation")
        if self.state == LimitationState.SHADOWED:
            lines.append(f"{self.place}: {self.said}: shadowed — an earlier limitation already makes known every "
                         "problem it matches: remove the limitation")
        if self.expired:
            lines.append(f"{self.place}: {self.said}: expired on {self.until}"
                         + (f" ({self.issue})" if self.issue else "") + ": fix it, or give a later `until:`")
        if self.too_broad:
            distinct = {_identity(c): c for c in self.problems}
            lines.append(f"{self.place}: {self.said}: too broad — it matches {len(distinct)} distinct problems "
                         f"({'; '.join(sorted(_named(c) for c in distinct.values()))}): "
                         "give each its own `rule: RULE:PATH`")
        if self.issue is None:
            lines.append(f"{self.place}: {self.said}: no `issue:` — link where the limitation is tracked")
        return lines

    def to_json(self, numbers: dict[tuple[str, ...], int]) -> dict[str, Any]:
        return {"said": self.said, "reason": self.reason, "place": self.place, "issue": self.issue,
                "until": self.until.isoformat() if self.until else None, "state": str(self.state),
                "problems": sorted(numbers[c.key] for c in self.problems if c.key in numbers),
                "expired": self.expired, "too_broad": self.too_broad, "strict": self.strict_failures()}


def review(profile: Profile | None, failures: Iterable[RootCause], holds: Callable[[Limitation], bool],
           today: datetime.date | None = None) -> list[Review]:
    """Each limitation of ``profile`` against a run's failures: in use (and too broad when a ``rule:`` matches
    more than one distinct problem: a preset names a family on purpose), shadowed (an earlier one makes its
    problems known), fixed or not exercised (``holds``: whether the behaviour a limitation names was judged and
    holds), expired (``until`` before ``today``)."""
    if profile is None:
        return []
    failures, today = list(failures), today or datetime.date.today()
    grouped: dict[tuple[str, str], list[Limitation]] = {}
    for limitation in profile.limitations:  # a preset is one limitation however many patterns it stands for
        grouped.setdefault((limitation.said, limitation.place), []).append(limitation)
    reviews = []
    for patterns in grouped.values():
        first = patterns[0]
        # a problem counts for the limitation that makes it known: the first that matches, as known_reason says
        matching = [c for c in failures if any(p.matches(c) for p in patterns)]
        matched = [c for c in matching if profile.known(c) in patterns]
        state = (LimitationState.IN_USE if matched else LimitationState.SHADOWED if matching else
                 LimitationState.FIXED if any(holds(p) for p in patterns) else LimitationState.NOT_EXERCISED)
        reviews.append(Review(first.said, first.reason, first.place, first.issue, first.until, state, matched,
                              expired=first.until is not None and first.until < today,
                              too_broad=not first.preset and len({_identity(c) for c in matched}) > 1))
    return reviews


def _pattern(text: str, place: str) -> tuple[str, str | None]:
    rule_id, _, path = text.partition(":")
    rule_id = rule_id.strip()
    if rule_id not in RULES and rule_id not in PROBLEMS:
        raise ReportError(f"{place}: unknown rule {rule_id!r} (a rule id such as list.order or keys.missing, or "
                          f"{' or '.join(PROBLEMS)})")
    return rule_id, path.strip() or None


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
    unknown = sorted(set(fields) - {"rule", "preset", "reason", "issue", "until"})
    if unknown:
        raise ReportError(f"{place}: unknown key {', '.join(unknown)} (a limitation has rule or preset, reason, "
                          "and optionally issue and until)")
    if ("rule" in fields) == ("preset" in fields):
        raise ReportError(f"{place}: give `rule: RULE[:PATH]` or `preset: NAME` ({', '.join(_PRESETS)}), one of them")
    if "reason" not in fields:
        raise ReportError(f"{place}: say why with `reason: …` (a known limitation needs its reason)")
    # a reason is copied into every output of the matrix: a key or card number pasted into it stays out of them
    reason = redactor.text(_scalar(fields["reason"], path, "reason"))
    issue = _issue(fields["issue"], path, redactor) if "issue" in fields else None
    until = _until(fields["until"], path) if "until" in fields else None
    if "preset" in fields:
        name = _scalar(fields["preset"], path, "preset")
        if name not in _PRESETS:
            raise ReportError(f"{place}: unknown preset {name!r} (known: {', '.join(_PRESETS)})")
        for pattern in presets()[name][1]:
            rule_id, rule_path = _pattern(pattern, place)
            yield Limitation(rule_id, rule_path, reason, f"preset {name}", place, issue, until)
        return
    said = _scalar(fields["rule"], path, "rule")
    rule_id, rule_path = _pattern(said, place)
    yield Limitation(rule_id, rule_path, reason, redactor.text(said), place, issue, until)


def _issue(node: yaml.Node, path: Path, redactor: Redactor) -> str:
    """``issue:``: a link (http or https) to where the limitation is tracked, redacted as a reason is."""
    text = _scalar(node, path, "issue")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc or any(c.isspace() for c in text):
        raise ReportError(f"{path}:{node.start_mark.line + 1}: issue: a link to where the limitation is tracked "
                          f"(https://github.com/OWNER/REPO/issues/N), not {text[:80]!r}")
    return redactor.text(text)


def _until(node: yaml.Node, path: Path) -> datetime.date:
    """``until:``: the date (YYYY-MM-DD) after which the limitation is reported as expired."""
    text = _scalar(node, path, "until")
    try:
        if len(text) == 10:
            return datetime.date.fromisoformat(text)
    except ValueError:
        pass
    raise ReportError(f"{path}:{node.start_mark.line + 1}: until: a date as YYYY-MM-DD (2026-06-30), "
                      f"not {text[:40]!r}")


def read_profiles(paths: Iterable[Path], redactor: Redactor | None = None) -> dict[str, Profile]:
    """Every target's profile from the files; a file that is no profile is one ReportError naming file and line.
    Reasons go through ``redactor`` (default: the built-in rules) before any output sees them."""
    redactor = redactor or Redactor()
    profiles: dict[str, Profile] = {}
    for path in paths:
        try:
            root = yaml.compose(path.read_text(encoding="utf-8"), Loader=_LOADER)
        except RecursionError:
            raise ReportError(f"{path}: not a profile: nested deeper than any profile is (a profile maps target "
                              "names to lists of limitations)") from None
        except OSError as error:
            raise ReportError(f"cannot read profile {path}: {error.strerror or error}") from None
        except UnicodeDecodeError:
            raise ReportError(f"{path}: a profile is UTF-8 YAML text") from None
        except yaml.YAMLError as error:
            if "maximum nesting depth" in str(error):  # libyaml's own limit: refused at once, not by recursion
                raise ReportError(f"{path}: not a profile: nested deeper than any profile is (a profile maps "
                                  "target names to lists of limitations)") from None
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
