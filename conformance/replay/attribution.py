"""Which findings of a replay are consequences of an earlier failure, and of which one.

An id the target never minted (its creation failed) leaves every later use of it
unanswerable as recorded; so does an id the target minted under another name
than the one bound to it (``id.binding`` where the answer mints its object: a
token's card bound first, the card attached from it then answered with an id of
its own). Both are one problem: the later 404s, and whatever the answers show of
that id, count under the failure that left it so, never as causes of their own.
Likewise a parameter an update failed to set, or an object a delete failed to
remove: later answers that still show them follow from that failure.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from conformance.api_profile import ApiProfile, RouteMatch
from conformance.cassette import Interaction
from conformance.checks import CheckState
from conformance.checks.parameters import covers, parameter_paths
from conformance.findings import MISSING, Finding, InteractionResult
from conformance.paths import parse_path, value_at
from conformance.replay.binding import IdBindings
from conformance.rules import Severity, traits

__all__ = ["Attribution", "Needed", "never_consequence"]

# Keys beside a list that count its items: short by the items a target never minted.
_COUNT_KEYS = frozenset({"has_more", "total_count", "count"})
_DELETED = "\x1fdeleted"  # among an object's unapplied parameters: a delete of the object failed


def never_consequence(finding: Finding) -> bool:
    """Whether an id an earlier failure left unbound cannot explain the finding (the route, the target's faults)."""
    return traits(finding.rule).never_consequence


@dataclass(frozen=True)
class Needed:
    """An id a request uses that an earlier failure left unusable, and that failure."""

    recorded_id: str
    root: int  # the interaction whose failure left it so
    minted: bool  # the target minted it, under another id than the one bound (else: never minted)


@dataclass
class Attribution:
    """What one cassette's replay remembers of its failures, to tell a consequence from a problem."""

    profile: ApiProfile
    bindings: IdBindings
    checks: CheckState
    # recorded id -> the interaction whose failure left it unbound (the first of a chain)
    broken: dict[str, int] = field(default_factory=dict)
    # recorded id -> the interaction that minted its object under another id than the one bound to it
    misbound: dict[str, int] = field(default_factory=dict)
    # the id bound to a misbound one (what later requests and expectations carry) -> that interaction
    misbound_sent: dict[str, int] = field(default_factory=dict)
    # object as sent -> {parameter path (or _DELETED): the update that failed to set it (the delete that failed)}
    unapplied: dict[str, dict[str, int]] = field(default_factory=dict)
    _own_ids: set[str] = field(default_factory=set)  # objects the recording's answers minted so far
    # an idempotency key sent -> the interaction whose failure under it later requests with the key follow from
    failed_keys: dict[str, int] = field(default_factory=dict)

    def needed(self, interaction: Interaction) -> Needed | None:
        """An id the request needs (path, query, body) that an earlier failure left unusable, with that failure."""
        if not self.broken and not self.misbound:
            return None
        recorded = interaction.request
        used = f"{recorded.path} {json.dumps(recorded.query)} {json.dumps(recorded.body.value) if recorded.body else ''}"
        causes = [(self.broken[found], found, False) for found in self.profile.ids.find(used)
                  if found in self.broken and found not in self.bindings.actual]
        causes += [(self.misbound[found], found, True) for found in self.profile.ids.find(used) if found in self.misbound]
        if not causes:
            return None
        root, found, minted = min(causes)
        return Needed(found, root, minted)

    def attribute(self, interaction: Interaction, result: InteractionResult, needed: Needed | None,
                  route: RouteMatch | None) -> None:
        """Which findings are consequences of an earlier failure, and what this one leaves unbound or unset.

        A request sent with an id no earlier answer minted (or minted under another name), and answered with
        another status than recorded, is judged only for what does not depend on it (a missing route, a target
        fault). Otherwise a finding is a consequence only where it is about such an id (its expected value names
        one, or it judges the items or the length of a list that holds one), or about a parameter of the object
        an update that failed would have set.
        """
        findings = result.findings
        if needed is not None and result.actual_status != interaction.response.status:
            # sent with an id the target never minted, and answered otherwise: nothing of it is its own, but
            # invalid input it accepted (exp_month=13 answered 200), whichever object it answered
            accepted = _accepted_refused_input(interaction, result.actual_status)
            for finding in findings:
                if not never_consequence(finding) and not (accepted and traits(finding.rule).status_code):
                    finding.consequence_of = needed.root
        elif self.broken or self.misbound:
            # answered as recorded (a stateless target takes any id): judged, but for what is about the id; sent
            # with an unminted id, its answer is some other object, so only its shape is the target's own
            expected = interaction.response.json()
            for finding in findings:
                if finding.consequence_of is not None:  # a check's own attribution (a retry rule's) stands
                    continue
                finding.consequence_of = self._consequence_of(finding, expected)
                if needed is not None and finding.consequence_of is None and _about_values(finding):
                    finding.consequence_of = needed.root
        self._follow_updates(interaction, result, route)
        roots = [f.consequence_of for f in findings if f.consequence_of is not None and f.severity == Severity.FAILURE]
        if needed is not None and not needed.minted:
            result.blocked_id = needed.recorded_id
        result.blocked_by = needed.root if needed is not None else min(roots) if roots else None
        self._note_failure(interaction, result)

    def follow_duplicates(self, interaction: Interaction, result: InteractionResult, body: Any,
                          duplicates: dict[str, int], retry_rules: set[str]) -> None:
        """A repeated idempotency key the target executed again is one problem, the retry rule's: the answer's
        other findings (another id than the first answer's, another status) are its consequences, and so is what
        later answers show of the object it made (or listed) a second time: a list one card longer, the copy still
        there after the object's delete."""
        failed_here = any(f.rule in retry_rules and f.severity == Severity.FAILURE for f in result.findings)
        if not duplicates and not failed_here:
            return
        named = set(self.profile.ids.find(json.dumps(body, default=str))) & duplicates.keys() if body is not None else set()
        # a request for an object listed twice that the recording answers as gone: the target still has its copy
        addressed = [duplicates[found] for found in self.profile.ids.find(self.bindings.text(interaction.request.path))
                     if found in duplicates] if interaction.response.status == 404 else []
        for finding in result.findings:
            if finding.consequence_of is not None or never_consequence(finding) or finding.rule in retry_rules:
                continue
            if failed_here or addressed:
                finding.consequence_of = interaction.index if failed_here else min(addressed)
                continue
            shown = json.dumps(finding.actual, default=str) if finding.actual is not MISSING else ""
            roots = [duplicates[found] for found in self.profile.ids.find(shown) if found in duplicates]
            if not roots and named and traits(finding.rule).shows_duplicates and _about_a_list_holding(body, finding, named):
                roots = [duplicates[found] for found in named]
            if roots:
                finding.consequence_of = min(roots)
        if result.blocked_by is None:
            earlier = [f.consequence_of for f in result.findings if f.consequence_of is not None
                       and f.consequence_of != interaction.index and f.severity == Severity.FAILURE]
            result.blocked_by = min(earlier) if earlier else None

    def follow_keys(self, interaction: Interaction, result: InteractionResult, key: str,
                    saved: Callable[[int], bool]) -> None:
        """A request repeating an idempotency key is answered from what the key's first request did. Where that
        failed otherwise than recorded, with an answer the API itself keeps for the key (``saved``: a 500, which
        Stripe saves too) or for a route the target lacks, the repeat's failures follow from it — a corrected retry
        refused as a reused key after a 500, a missing route's 404 kept under the key — never a cause of their
        own."""
        if not key:
            return
        root = self.failed_keys.get(key)
        if root is not None:
            for finding in result.findings:
                if finding.consequence_of is None and finding.severity == Severity.FAILURE \
                        and not never_consequence(finding):
                    finding.consequence_of = root
            if result.blocked_by is None and any(f.consequence_of == root for f in result.findings):
                result.blocked_by = root
            return
        failures = [f for f in result.findings if f.severity == Severity.FAILURE]
        status = result.actual_status
        if not failures or status is None or status == interaction.response.status:
            return
        if any(traits(f.rule).no_route for f in failures) or saved(status):
            own = any(f.consequence_of is None for f in failures)
            self.failed_keys[key] = interaction.index if own or result.blocked_by is None else result.blocked_by

    def _follow_updates(self, interaction: Interaction, result: InteractionResult, route: RouteMatch | None) -> None:
        """Findings about what an update failed to set (a delete failed to remove) are its consequences; this
        update or delete, failing, is remembered. ``route``: the request's as sent."""
        action = route.route.action if route is not None else None
        changes_subject = action in ("update", "delete") and \
            interaction.response.status < 300 and result.actual_status != interaction.response.status
        subject = route.subject if route is not None and (self.unapplied or changes_subject) else None
        if subject is None:
            return
        failed_here = self.unapplied.get(subject, {})
        for finding in result.findings if failed_here else ():
            failed = next((index for path, index in failed_here.items()
                           if path == _DELETED or covers([path], finding.path)), None)
            if failed is not None and finding.consequence_of is None and not never_consequence(finding):
                finding.consequence_of = failed
        if changes_subject:
            body = interaction.request.body.value if interaction.request.body is not None else None
            paths = parameter_paths(body) if action == "update" else frozenset({_DELETED})
            for path in paths:  # the object is still there, or still as it was: what later shows it follows
                self.unapplied.setdefault(subject, {}).setdefault(path, interaction.index)

    def _note_failure(self, interaction: Interaction, result: InteractionResult) -> None:
        """The ids a failing answer leaves unbound, and an object it minted under another id than bound."""
        recorded_json = interaction.response.json()
        own = recorded_json.get("id") if isinstance(recorded_json, dict) else None
        minted_here = isinstance(own, str) and own not in self._own_ids
        if isinstance(own, str):
            self._own_ids.add(own)
        if recorded_json is None or not any(f.severity == Severity.FAILURE for f in result.findings):
            return
        mine = any(f.severity == Severity.FAILURE and f.consequence_of is None for f in result.findings)
        root = interaction.index if mine or result.blocked_by is None else result.blocked_by
        if minted_here and isinstance(own, str) and own in self.bindings.actual and any(
                traits(f.rule).judges_binding and f.path == "id" and f.consequence_of is None for f in result.findings):
            self.misbound.setdefault(own, interaction.index)
            self.misbound_sent.setdefault(self.bindings.actual[own], interaction.index)
        for found in self.profile.ids.find(json.dumps(recorded_json)):
            if found not in self.bindings.actual:
                self.broken.setdefault(found, root)
                if found in self.checks.minted:
                    self.checks.invariants.unattached.add(found)

    def _consequence_of(self, finding: Finding, recorded: Any) -> int | None:
        """The failure that left unusable an id this finding is about, if any."""
        its = traits(finding.rule)
        if its.never_consequence:
            return None
        roots = self._roots_of(json.dumps(finding.expected) if finding.expected is not MISSING else "")
        if its.lists_items and isinstance(finding.expected, list):
            # the list lacks only cards never attached, and holds besides at most as many others (a page moved on)
            missing, extra = set(finding.expected), finding.actual if isinstance(finding.actual, list) else []
            unbound = {found for found in missing if found in self.broken and found not in self.bindings.actual}
            if unbound and unbound == missing and len(extra) <= len(missing):
                return min(self.broken[found] for found in unbound)
            return None
        parts = parse_path(finding.path) if finding.path else []
        counts = its.length or (its.counts_items and parts and parts[-1] in _COUNT_KEYS)
        if not roots and counts:
            # a list's length, or a count beside it, where the list holds an unbound id: short by it
            scope = parts if its.length else parts[:-1]
            roots = self._roots_of(json.dumps(value_at(recorded, scope)))
        return min(roots) if roots else None

    def _roots_of(self, text: str) -> list[int]:
        """The failures that left unusable the ids ``text`` names (recorded ids unbound, or ids bound to an
        object the target minted under another id)."""
        found = self.profile.ids.find(text)
        return [self.broken[i] for i in found if i in self.broken and i not in self.bindings.actual] + \
            [self.misbound_sent[i] for i in found if i in self.misbound_sent]


def _about_a_list_holding(body: Any, finding: Finding, named: set[str]) -> bool:
    """Whether a finding judges a list that holds one of ``named`` (its length, order, items or count, or a value
    inside it), or the customer's default among them: what an object made or listed twice changes. The object's
    own values are its own, wherever else it is named."""
    if not traits(finding.rule).value_at_path:
        return True
    parts = parse_path(finding.path) if finding.path else []
    if parts and parts[-1] in _COUNT_KEYS:
        parts = [*parts[:-1], "data"]
    for end in range(len(parts) + 1):
        node = value_at(body, parts[:end])
        if isinstance(node, list) and any(isinstance(item, dict) and item.get("id") in named for item in node):
            return True
    return False


def _accepted_refused_input(interaction: Interaction, actual_status: int | None) -> bool:
    """Whether the recording refused the request for a parameter it sent (a 400 or 402 whose ``error.param``
    the body set: ``exp_month=13``) and the target took it (2xx): the target's own problem, whichever object
    it answered, so never blocked by an id an earlier failure left unbound."""
    recorded = interaction.response
    if actual_status is None or not 200 <= actual_status < 300 or recorded.status not in (400, 402):
        return False
    error = recorded.json().get("error") if isinstance(recorded.json(), dict) else None
    param = error.get("param") if isinstance(error, dict) else None
    body = interaction.request.body.value if interaction.request.body is not None else None
    if not isinstance(param, str) or not param:
        return False
    name = param.replace("[", ".").replace("]", "")  # card[exp_month] as a path: card.exp_month
    return any(path == name or path.startswith(name + ".") for path in parameter_paths(body))


def _about_values(finding: Finding) -> bool:
    """Whether a finding judges which object was answered (its values) rather than its shape: a parameter the
    request itself set is the answer's to show whatever the object."""
    its = traits(finding.rule)
    if finding.problem is not None or its.never_consequence:
        return False
    if its.null_is_value:
        return finding.expected is None or finding.actual is None
    return its.about_values
