"""Root causes: the problems a run found, each with every symptom under it.

A report's unit is the *problem*: a documented behaviour the target breaks,
however many interactions, endpoints, keys and rules show it. Findings are
grouped so that one deviation is one cause:

- an object missing keys of the recorded shape is one cause listing the keys,
  on whichever endpoint the object came back (``customer`` objects lack
  ``balance, invoice_prefix, …``); the same for extra keys and for keys of one
  wrong JSON type;
- an answer of the wrong kind (a delete answering the customer, cards answered
  as accounts on every endpoint), a refused test token, a missing route or a
  target fault is one cause: every other finding of its interactions is a
  symptom of it;
- parameters a request set that the answer does not show are one cause per
  endpoint ("does not apply the request's parameters");
- values compared by shape, counts and ids never split a cause: the key holds
  rule, object kind and key path, never a minted value;
- a rule a target keeps or ignores as a whole (idempotency keys: ``one_cause``)
  is one cause listing the endpoints;
- a target that answers one error status to every request (500 everywhere, or
  one same 4xx error where the recording answered otherwise) is one cause,
  ``the target answers 500 to every request``: every failing interaction is a
  symptom of it, whatever it was meant to judge.

Findings that are consequences of an earlier failure (they concern an id it
left unbound) are no cause of their own; they count under the failure that
left the id unbound.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from conformance.findings import MISSING, Finding, InteractionResult, RunResult
from conformance.report.common import value
from conformance.rules import Group, Outcome, Severity, traits
from conformance.text import json_type, shorten

__all__ = ["RootCause", "root_causes", "CauseKey"]

# A minted id in a message, whatever the API: a lower-case prefix, ``_``, and eight or more letters or digits
# with a digit or a capital among them (``card_1NBLeN…``, ``pm_Qx81…``). A run reads from its report alone,
# so this knows no profile; a test token (``tok_mastercard``) is a word, a name kept whole.
_MINTED_ID = re.compile(r"(?<![0-9A-Za-z_])[a-z]+_(?=[a-z]*[0-9A-Z])[0-9A-Za-z]{8,}(?![0-9A-Za-z])")

CauseKey = tuple[str, ...]

_INDEX = re.compile(r"\[\d+\]")
# An object where an id stands, or the reverse (the problems conformance.checks.response names), over many keys.
_EXPANSION_WORDS = {
    "not-expanded": "not expanded although the request asked for expand[] there",
    "expanded-unasked-in-recording": "the recording holds expanded objects the request never asked for (no "
                                     "expand[]); the target answers their ids",
    "not-expanded-in-recording": "the recording holds ids although the request asked for expand[] there; the "
                                 "target expanded them",
    "expanded-unasked": "expanded although the request did not ask for expand[] there",
}


def _without_ids(text: str, keep: Iterable[str] = ()) -> str:
    """Minted ids set aside (``card_…``); test tokens (``tok_mastercard``) are names, and ids in ``keep``
    the point of the message (the one id a target answers every time): kept whole."""
    kept = set(keep)
    return _MINTED_ID.sub(lambda m: m.group(0) if m.group(0) in kept
                          else m.group(0).split("_", 1)[0] + "_…", text)


def _constant_ids(findings: list[Finding]) -> set[str]:
    """Ids every one of several findings got: a target's constant, not a minted value."""
    if len(findings) < 2:
        return set()
    sets = [set(_MINTED_ID.findall(value(f.actual))) for f in findings]
    return set.intersection(*sets)


def _words(values: Iterable[str], limit: int = 8) -> str:
    items = list(dict.fromkeys(v for v in values if v))
    shown = ", ".join(items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")


@dataclass
class RootCause:
    """One problem: what is wrong, where it shows, and how much it explains."""

    rule: str
    endpoint: str  # where it was first seen (``endpoints`` lists every one)
    path: str  # the key path within the object (``paths`` lists every one a cause of many keys names)
    message: str
    severity: Severity
    key: CauseKey = ()
    kind: str | None = None  # the object it is about: card, customer, list
    endpoints: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    interactions: list[tuple[str, int]] = field(default_factory=list)  # (cassette path, interaction index)
    symptoms: int = 0  # the findings it explains
    blocked: int = 0  # later interactions with failures that are only consequences of it
    examples: list[Finding] = field(default_factory=list, repr=False)  # a few of its findings, for messages
    curl: str | None = None  # its first interaction's request as a curl command, to reproduce it

    @property
    def count(self) -> int:
        return len(self.interactions)

    @property
    def cassettes(self) -> int:
        return len({cassette for cassette, _ in self.interactions})

    def to_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "endpoint": self.endpoint, "path": self.path, "message": self.message,
                "severity": str(self.severity), "count": self.count, "blocked": self.blocked,
                "key": list(self.key), "kind": self.kind, "endpoints": self.endpoints, "paths": self.paths,
                "symptoms": self.symptoms, "curl": self.curl,
                "interactions": [{"cassette": cassette, "index": index} for cassette, index in self.interactions]}

    def line(self, message_limit: int = 0) -> str:
        """One line: where, rule, what, how much; ``message_limit`` shortens the what, never the counts."""
        message = shorten(self.message, message_limit) if message_limit else self.message
        where = ", ".join(self.endpoints[:4]) + (f" and {len(self.endpoints) - 4} more" if len(self.endpoints) > 4 else "")
        blocked = f"; {self.blocked} more blocked by it" if self.blocked else ""
        first = f" (first: {self.interactions[0][0]} #{self.interactions[0][1]})" if self.interactions else ""
        return (f"{where} — [{self.rule}] {message} — {self.count} interaction"
                f"{'s' if self.count != 1 else ''} in {self.cassettes} cassette{'s' if self.cassettes != 1 else ''}"
                f"{blocked}{first}")


def _article(noun: str) -> str:
    return f"{'an' if noun[:1] in 'aeiou' else 'a'} {noun}"


def _type_word(data: Any) -> str:
    return "missing" if data is MISSING else json_type(data)


def _problem(endpoint: str, finding: Finding) -> tuple[CauseKey, str]:
    """What makes findings one problem (the rule's grouping), and the key path it names."""
    rule_id, kind, its = finding.rule, finding.kind or "", traits(finding.rule)
    at = finding.key_path if finding.key_path is not None else _INDEX.sub("", finding.path)
    if its.one_cause:
        return (rule_id,), at
    if finding.problem:
        return ("problem", finding.problem, kind or endpoint), at
    group = its.group
    if group is Group.KEYS:
        return (rule_id, kind or endpoint), at
    if group is Group.TYPES:
        return (rule_id, kind, _type_word(finding.expected), _type_word(finding.actual)), at
    if group is Group.STATED:
        return (rule_id, kind, str(finding.expected), _type_word(finding.actual)), at
    if group is Group.VALUES and at.rsplit(".", 1)[-1] == "id":
        return (rule_id, kind, at, "ids"), at  # ids compared by value are one problem, however many ids
    if group is Group.VALUES:
        return (rule_id, kind, at, _without_ids(value(finding.expected)), _without_ids(value(finding.actual))), at
    if group is Group.STATUS:
        return (rule_id, endpoint, value(finding.expected), value(finding.actual)), at
    if group is Group.ROUTE:
        return (rule_id, _without_ids(value(finding.expected))), at
    if group is Group.ENDPOINT:
        return (rule_id, endpoint), at
    if group is Group.ANSWER:
        return (rule_id, value(finding.actual)), at
    if group is Group.ONE:
        return (rule_id,), at
    return (rule_id, kind or endpoint, at), at


def _wrong_kind(findings: list[Finding]) -> Finding | None:
    """The finding saying the answer is another kind of object than documented (``object`` at the top)."""
    for finding in findings:
        if traits(finding.rule).wrong_kind == finding.path and finding.actual is not MISSING:
            return finding
    return None


def _dominant(findings: list[Finding]) -> Finding | None:
    """A refused token, a target fault, a missing route, an answer that is no JSON: the rest follows from it."""
    dominant = [f for f in findings if traits(f.rule).dominates]
    return min(dominant, key=lambda f: traits(f.rule).dominates) if dominant else None


def _paged_with_cursor(path: str) -> bool:
    """Whether a request (its recorded path and query) asked for a page after or before a cursor."""
    query = urlsplit(path).query
    return any(name in ("starting_after", "ending_before") for name, _ in parse_qsl(query))


def _covered_by_order(findings: list[Finding], paged: bool) -> tuple[set[int], dict[int, int]]:
    """A list in another order holds other items on every page: findings about the list's items are symptoms
    of the order (the items it holds are matched by id and judged on their own). Returns the ids of the
    symptoms, and id(order finding) -> how many it covers.

    ``has_more`` is one only on a page after (before) a cursor (``paged``), where how many items follow the
    cursor depends on the order. Anywhere else whether more items follow does not depend on their order: a
    wrong ``has_more`` there is a problem of its own (fixing the order would not fix it)."""
    symptoms: set[int] = set()
    counts: dict[int, int] = {}
    for order in (f for f in findings if traits(f.rule).orders_items):
        more = "has_more" if "." not in order.path else None  # a nested list (expanded sources) has no cursor
        for finding in findings:
            if finding is not order and (finding.path == order.path or (paged and finding.path == more)):
                symptoms.add(id(finding))
                counts[id(order)] = counts.get(id(order), 0) + 1
    return symptoms, counts


def _read(template: str, cause: RootCause) -> str:
    """A rule's template for a cause of several keys, filled in (see ``Rule.reads``)."""
    paths, key, first = cause.paths, cause.key, cause.examples[0]
    wanted, got = (key[2], key[3]) if len(key) >= 4 else ("", "")
    return template.format(thing=f"{cause.kind} objects" if cause.kind else "answers", count=len(paths),
                           s="s" if len(paths) != 1 else "", paths=_words(paths), wanted=wanted, got=got,
                           example=f" (e.g. {value(first.actual)})" if got not in ("null", "missing") else "",
                           **{"is": "is" if len(paths) == 1 else "are"})


def _values_message(cause: RootCause) -> str:
    """A cause of values compared exactly: where, and what was expected; ids compared by value as one."""
    first, kind = cause.examples[0], cause.kind
    if cause.key[-1:] == ("ids",):
        return (f"{kind + ' objects: ' if kind else ''}{cause.path}: the target's ids were compared by value, none "
                f"bound to the recording's (e.g. expected {value(first.expected)}, got {value(first.actual)})")
    return f"{kind + ' objects: ' if kind else ''}{cause.path or '(response)'}: expected " \
           f"{_without_ids(value(first.expected))}, got {_without_ids(value(first.actual))}"


_ASKED = re.compile(r"\((\w+ \S+) with ")


def _answers_message(cause: RootCause) -> str:
    """A setup step refused for several inputs (tokens of several test cards): one cause naming them all."""
    first = cause.examples[0]
    tokens = [str(f.expected) for f in cause.examples]
    answered = first.message.split(" answered ", 1)[1].split("); ", 1)[0] if " answered " in first.message else ""
    asked = _ASKED.search(first.message)
    return (f"the target made no token from the test cards of {_words(tokens)} ({asked.group(1) if asked else 'it'} "
            f"answered {answered}); the magic tokens were sent as recorded")


def _message(cause: RootCause) -> str:
    """The cause in the words of the rule it breaks, naming every key it covers."""
    first = cause.examples[0]
    kind, paths = cause.kind, cause.paths
    thing = f"{kind} objects" if kind else "answers"
    if cause.key[0] == "problem" and cause.key[1] in _EXPANSION_WORDS:
        places = list(dict.fromkeys(_INDEX.sub("", f.path) for f in cause.examples))
        if len(places) == 1:
            return _without_ids(first.message)
        return f"{thing}: {_words(places)}: {_EXPANSION_WORDS[cause.key[1]]}"
    if cause.key[0] == "answers":
        body = "" if len(cause.key) < 3 else " with an empty body" if cause.key[2] == '""' else f" {cause.key[2]}"
        return (f"the target answers {cause.key[1]}{body} to every request, whatever the recording answered (e.g. "
                f"{_without_ids(first.message)}): nothing else of these answers could be judged")
    its = traits(cause.rule)
    if its.one_cause and len(cause.interactions) > 1:
        return f"{its.description}: not so here (e.g. {_without_ids(first.message)})"
    if cause.key[0] == "problem":
        return f"does not apply the request's parameters: {_words(paths)} (e.g. {_without_ids(first.message)})"
    if cause.key[0] == "answer-kind":
        return f"answers {_article(cause.key[3])} object, not {its.right_kind_reads or _article(cause.key[2])}"
    template = its.reads_warning if its.reads_warning and cause.severity == Severity.WARNING else its.reads
    if template and (its.reads_one or len(paths) > 1):
        return _read(template, cause)
    if its.key_list and len(paths) == 1:
        return _without_ids(first.message)  # it names where the expectation comes from (the contract's schema)
    if its.group is Group.VALUES:
        return _values_message(cause)
    if its.group is Group.ANSWER and len({str(f.expected) for f in cause.examples}) > 1:
        return _answers_message(cause)
    return _without_ids(first.message, _constant_ids(cause.examples))


class _Grouping:
    def __init__(self) -> None:
        self.causes: dict[CauseKey, RootCause] = {}
        self.by_place: dict[tuple[str, int], list[RootCause]] = {}

    def add(self, key: CauseKey, at: str, endpoint: str, finding: Finding, place: tuple[str, int],
            symptoms: int = 1) -> RootCause:
        if finding.severity == Severity.WARNING:  # a failure is never told under a warning's cause, nor the reverse
            key = (*key, "warning")
        cause = self.causes.get(key)
        if cause is None:
            rule = finding.rule
            cause = self.causes[key] = RootCause(rule, endpoint, at, "", finding.severity or Severity.FAILURE, key,
                                                 finding.kind)
        if endpoint not in cause.endpoints:
            cause.endpoints.append(endpoint)
        if at and at not in cause.paths:
            cause.paths.append(at)
        if place not in cause.interactions:
            cause.interactions.append(place)
            self.by_place.setdefault(place, []).append(cause)
        if len(cause.examples) < 12:
            cause.examples.append(finding)
        cause.symptoms += symptoms
        return cause


def _uniform_answer(records: list[tuple[str, InteractionResult]]) -> CauseKey | None:
    """What a target answers to every request it answered, when that explains every failure: one error status
    (5xx), unlike the recording for at least half of them; or one same body on several endpoints (a 4xx error
    unlike the recording for at least half, or anything else — ``ok`` in text). None otherwise."""
    answered = [interaction for _, interaction in records if interaction.actual_status is not None]
    statuses = {interaction.actual_status for interaction in answered}
    if len(answered) < 2 or len(statuses) != 1:
        return None
    status = statuses.pop()
    unlike = 2 * sum(i.status != status for i in answered) >= len(answered)
    if status is None or (status >= 400 and not unlike):
        return None
    if status >= 500:
        return ("answers", str(status))
    if any(i.actual_body is None for i in answered):
        return None
    bodies = {_without_ids(value(i.actual_body)) for i in answered}
    if len(bodies) != 1 or len({i.endpoint for i in answered}) < 2:
        return None
    return ("answers", str(status), shorten(bodies.pop(), 80))


def _uniform_symptom(failures: list[Finding]) -> Finding:
    """The finding a cause of uniform answers is told by: the status, else what dominates, else the first."""
    return next((f for f in failures if traits(f.rule).status_code), None) or _dominant(failures) or failures[0]


def _group(records_in: Iterable[tuple[str, InteractionResult]]) -> list[RootCause]:
    grouping = _Grouping()
    consequences: list[tuple[str, InteractionResult]] = []
    curls: dict[tuple[str, int], str] = {}
    records = list(records_in)
    uniform = _uniform_answer(records)
    for cassette, interaction in records:
        if interaction.curl:
            curls[(cassette, interaction.index)] = interaction.curl
        own = [f for f in interaction.findings if not f.accepted and f.consequence_of is None]
        if any(f.consequence_of is not None and not f.accepted and f.severity == Severity.FAILURE
               for f in interaction.findings):
            consequences.append((cassette, interaction))
        if not own:
            continue
        place = (cassette, interaction.index)
        failures = [f for f in own if f.severity == Severity.FAILURE]
        if uniform is not None and failures and str(interaction.actual_status) == uniform[1]:
            grouping.add(uniform, "", interaction.endpoint, _uniform_symptom(failures), place, symptoms=len(own))
            continue
        dominant = _dominant(failures)
        wrong = _wrong_kind(failures) if dominant is None else None
        if dominant is not None:
            key, at = _problem(interaction.endpoint, dominant)
            grouping.add(key, at, interaction.endpoint, dominant, place, symptoms=len(own))
            continue
        if wrong is not None:
            # one problem on every endpoint that answers it: cards come back as accounts
            key = ("answer-kind", wrong.rule, value(wrong.expected).strip('"'), value(wrong.actual).strip('"'))
            grouping.add(key, "", interaction.endpoint, wrong, place, symptoms=len(own))
            continue
        covered, covering = _covered_by_order(own, _paged_with_cursor(interaction.path))
        for finding in own:
            if id(finding) in covered:
                continue
            key, at = _problem(interaction.endpoint, finding)
            grouping.add(key, at, interaction.endpoint, finding, place, symptoms=1 + covering.get(id(finding), 0))
    for cassette, interaction in consequences:
        if interaction.outcome != Outcome.BLOCKED or interaction.blocked_by is None:
            continue
        for cause in grouping.by_place.get((cassette, interaction.blocked_by), []):
            if cause.severity == Severity.FAILURE:
                cause.blocked += 1
    causes = list(grouping.causes.values())
    for cause in causes:
        cause.path = ", ".join(cause.paths[:3]) + (", …" if len(cause.paths) > 3 else "")
        cause.message = _message(cause)
        cause.curl = next((curls[place] for place in cause.interactions if place in curls), None)
    return sorted(causes, key=lambda c: (c.severity != Severity.FAILURE, -(c.count + c.blocked), c.rule, c.message))


def root_causes(result: RunResult) -> list[RootCause]:
    """The problems of a run, the most explaining first; warnings after failures."""
    return _group((cassette.path, interaction) for cassette, interaction in result.interactions())
