"""``conformance check``: lint cassettes before they are trusted.

A cassette passes when it loads (format and version), holds no secret the
redaction should have removed, and can be replayed: every id a request uses
was minted by an earlier response of the same cassette, is one of Stripe's
documented test tokens, or is declared under ``fixtures`` in its header. What
the API profile knows judges the recorded answers too (``weak reference``
warnings, problems with ``strict``): the documented rules, routes the upstream
lacks, test tokens it refused, test cards it answered as another card.
"""

from __future__ import annotations

import base64
import bisect
import json
import re
from dataclasses import dataclass
from pathlib import Path

from conformance.api_profile import ApiProfile, IdScheme, RuleState
from conformance.cassette import Interaction, iter_interactions
from conformance.cassette.age import judge_ages
from conformance.cassette.exchange import redact_interaction
from conformance.cassette.model import CassetteHeader
from conformance.cassette.reader import locate_line
from conformance.cassette.validation import interaction_to_dict
from conformance.checks.compare import CompareRules
from conformance.checks.naming import note_minted
from conformance.checks.weak import DOCUMENTED_RULE, WeakReference, WeakSpot
from conformance.contract import Contract, expanded_paths
from conformance.paths import parse_path
from conformance.redaction import Redactor
from conformance.rules import Severity

__all__ = ["Problem", "check_cassette", "find_secrets"]

_MARKED = re.compile(r"\[REDACTED:[^\]]*\]")


@dataclass
class Problem:
    path: Path
    line: int | None
    message: str
    warning: bool = False  # a warning does not make `check` fail (unless --strict)
    weak: str | None = None  # what makes the recording a weak reference (conformance.checks.weak), if it does

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        said = f"weak reference: {self.message}" if self.weak else self.message
        return f"{where}: warning: {said}" if self.warning else f"{where}: {said}"


_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")


def find_secrets(text: str, redactor: Redactor) -> list[str]:
    """What the redaction would remove from ``text`` as it reads (markers already in place are fine);
    secrets inside an encoding are reported for their interaction."""
    # A percent-escape is read as a separator: ``%20`` then ``25213147999`` is no 13-digit card number.
    text = _PERCENT_ESCAPE.sub(" ", text)
    redacted = redactor.literal(text)
    if redacted == text:
        return []
    return sorted(_kinds(redacted) - _kinds(text)) or ["secret"]


# What the recorder stores in place of a body it could not read as text (conformance/cassette/bodies.py).
_UNREADABLE = "[NOT RECORDED: "


def _kinds(text: str) -> set[str]:
    """What markers say was removed: ``card-number`` for ``[REDACTED:card-number:visa-4242]``."""
    return {marker[len("[REDACTED:"):-1].split(":")[0] for marker in _MARKED.findall(text)}


def check_cassette(path: Path, profile: ApiProfile, redactor: Redactor | None = None, contract: Contract | None = None,
                   strict: bool = False, max_age: float | None = None) -> list[Problem]:
    """The problems of one cassette, as ``profile`` reads it; raises CassetteError when it cannot be read at all.

    With a ``contract``, every recorded response is validated against it: a recording that contradicts the
    published contract would otherwise become the yardstick of every run. With ``max_age`` (days), answers
    recorded longer ago, or of no known age, are warnings (problems with ``strict``): a stale answer served is a
    test that passes against an API that moved on.
    """
    redactor = redactor or Redactor(cards=profile.cards)
    problems: list[Problem] = []
    header: CassetteHeader = {}
    fixtures: set[str] = set()
    minted: set[str] = set()
    encoded: list[Problem] = []
    starts: list[int] = []
    ignored = CompareRules()
    invariants = profile.rules.new_state()  # what the documentation promises, judged on the recording as on a replay
    counts: dict[str, int] = {}
    unprovided: dict[str, list[Interaction]] = {}  # an id nothing provides -> the interactions that use it
    weak = WeakReference(profile)
    dated: list[Interaction] = []
    for interaction in iter_interactions(path, header, profile):  # streamed; CassetteError: unreadable
        if max_age is not None:
            dated.append(interaction)
        if interaction.index == 1:
            fixtures = set(profile.cards.tokens) | {str(f) for f in header.get("fixtures") or []}
            weak.minted |= fixtures
            # what the header leaves uncompared (sources disagree on it) the contract does not judge either
            ignored = CompareRules(ignore=tuple((header.get("compare") or {}).get("ignore", ())))
            recorded = header.get("api_version")
            if contract is not None and contract.describes_another_version(recorded):
                problems.append(Problem(path, None, f"its answers follow API {recorded}, the contract {contract.name} "
                                                    f"describes {contract.api_version}: some problems below may be "
                                                    "the versions' differences", warning=True))
        _replayability(interaction, profile.ids, minted, fixtures, unprovided)
        encoded.extend(_unredacted(path, interaction, redactor))
        judged: set[str] = set()  # paths the contract spoke of: the same key is not reported twice
        if contract is not None:
            problems.extend(_against_contract(path, interaction, contract, strict, ignored, judged))
        problems.extend(_against_the_reference(path, interaction, profile, invariants, counts, strict, ignored, judged))
        problems.extend(_weak(path, spot, strict) for spot in weak.judge(interaction))
        starts.append(interaction.line or 0)
    problems.extend(_weak(path, spot, strict) for spot in weak.contradicted_cards())
    problems.extend(_unprovided(path, unprovided))
    if max_age is not None:
        problems.extend(_aged(path, dated, max_age, strict))
    for warning in header.get("warnings", []):
        problems.append(Problem(path, None, warning.split(": ", 1)[-1]))
    plain: list[Problem] = []
    with open(path, encoding="utf-8") as stream:
        for number, line in enumerate(stream, 1):
            for kind in find_secrets(line, redactor):
                plain.append(Problem(path, number, f"an unredacted {kind}: replace it with [REDACTED:{kind}] "
                                                   "(the recorder does this before writing)"))
    # A secret shown on its line is not reported again for its interaction.
    shown = {bisect.bisect_right(starts, p.line or 0) for p in plain}
    encoded = [p for p in encoded if bisect.bisect_right(starts, p.line or 0) not in shown]
    return sorted(problems + plain + encoded, key=lambda problem: problem.line or 0)


def _aged(path: Path, interactions: list[Interaction], max_age: float, strict: bool) -> list[Problem]:
    """Older than ``max_age`` days, or of no known age: at the oldest (or first undated) interaction's line."""
    ages = judge_ages(interactions, max_age)
    problems = []
    older, undated = ages.older_message(), ages.undated_message()
    if older is not None and ages.oldest is not None:
        problems.append(Problem(path, ages.oldest.line, older, warning=not strict))
    if undated is not None:
        problems.append(Problem(path, ages.undated[0].line, undated, warning=not strict))
    return problems


def _unredacted(path: Path, interaction: Interaction, redactor: Redactor) -> list[Problem]:
    """Secrets the recorder's redaction would remove from the decoded interaction — in every encoding
    (a raw form with a repeated key, percent-escapes, a base64 body), not only on the file's lines."""
    stored = _readable(interaction)
    redacted = _readable(redact_interaction(interaction, redactor))
    if stored == redacted:
        return []
    if _UNREADABLE in redacted and _UNREADABLE not in stored:
        return [Problem(path, interaction.line, f"interaction {interaction.index} stores a body as bytes the "
                                                "redactor cannot read as text (compressed, binary or in an "
                                                "unknown charset), so nothing in it was checked for secrets; "
                                                "record it again: the recorder now stores such a body's digest")]
    kinds = sorted(_kinds(redacted) - _kinds(stored)) or ["secret"]
    return [Problem(path, interaction.line, f"interaction {interaction.index} holds an unredacted "
                                            f"{', '.join(kinds)} (inside an encoded value: a raw form, a "
                                            "percent-escape or a base64 body); record it again, or redact it")]


def _against_contract(path: Path, interaction: Interaction, contract: Contract, strict: bool,
                      ignored: CompareRules, judged: set[str]) -> list[Problem]:
    request, response = interaction.request, interaction.response
    if response.body is None or response.body.kind != "json":
        return []
    form = request.body.value if request.body is not None and request.body.kind == "form" else None
    findings = [finding for finding in contract.validate(request.method, request.path, response.status,
                                                         response.body.value, expanded_paths(request.query, form),
                                                         strict=strict)
                if not ignored.ignores(finding.rule, finding.path)]
    if not findings:
        return []
    judged.update(f.path for f in findings if f.path)
    text = path.read_bytes()  # rare: the line of the very key (or its object, for a missing one) is worth a parse
    problems = []
    for finding in findings:
        line = locate_line(text, interaction.index, ("response", "json", *parse_path(finding.path)))
        problems.append(Problem(path, line or interaction.line, f"interaction {interaction.index} "
                                f"({interaction.endpoint}): [{finding.rule}] {finding.message}",
                                warning=not finding.is_failure))
    return problems


def _against_the_reference(path: Path, interaction: Interaction, profile: ApiProfile, state: RuleState,
                           counts: dict[str, int], strict: bool, ignored: CompareRules,
                           judged: set[str]) -> list[Problem]:
    """The documented invariants a replay applies to every answer, applied to the recorded one: a recording
    that contradicts the API reference would fail against the very server it came from, so `check` says it
    first (a warning; a failure with --strict)."""
    request, response = interaction.request, interaction.response
    body = response.json()
    if body is None:
        return []
    note_minted(state.minted, counts, body, response.status)
    query = request.query if isinstance(request.query, dict) else {}
    route = profile.routes.match(request.method, request.path)
    judgement = profile.rules.judge(route, request.method, request.path, query, response.status, body, state)
    findings = [f for f in judgement.findings
                if f.severity == Severity.FAILURE and not ignored.ignores(f.rule, f.path) and f.path not in judged]
    return [Problem(path, interaction.line, f"interaction {interaction.index} ({interaction.endpoint}): the recording "
                                            f"contradicts the API reference: [{f.rule}] {f.message}", warning=not strict,
                    weak=DOCUMENTED_RULE)
            for f in findings]


def _weak(path: Path, spot: WeakSpot, strict: bool) -> Problem:
    """A weak spot of the recording's upstream: a warning, a problem with --strict."""
    interaction = spot.interaction
    return Problem(path, interaction.line, f"interaction {interaction.index} ({interaction.endpoint}): {spot.message}",
                   warning=not strict, weak=spot.kind)


def _readable(interaction: Interaction) -> str:
    """The interaction as text a reviewer could read: base64 bodies decoded (as Latin-1, every byte a character)."""
    data = interaction_to_dict(interaction)
    for section in (data["request"], data["response"]):
        if "base64" in section:
            section["base64"] = base64.b64decode(section["base64"]).decode("latin-1")
    return json.dumps(data, ensure_ascii=False)


def _replayability(interaction: Interaction, ids: IdScheme, minted: set[str], known: set[str],
                   unprovided: dict[str, list[Interaction]]) -> None:
    """Ids the request uses that nothing before it provides (noted in ``unprovided``); then what its response
    mints."""
    request = interaction.request
    used = set(ids.find(request.path))
    used |= set(ids.find(json.dumps(request.query)))
    if request.body is not None and request.body.kind != "base64":
        used |= set(ids.find(json.dumps(request.body.value)))
    for unknown in sorted(used - minted - known):
        unprovided.setdefault(unknown, []).append(interaction)
    body = interaction.response.body
    if body is not None and body.kind != "base64":
        minted |= set(ids.find(json.dumps(body.value)))


def _unprovided(path: Path, unprovided: dict[str, list[Interaction]]) -> list[Problem]:
    """One problem per id that no earlier response returned, at its first use: a server's fixture id used by
    forty requests is one thing to record or list, not forty."""
    problems = []
    for unknown, users in unprovided.items():
        first = users[0]
        later = f" (and {len(users) - 1} later interaction{'s' if len(users) > 2 else ''})" if len(users) > 1 else ""
        problems.append(Problem(path, first.line, f"interaction {first.index} ({first.endpoint}) uses {unknown}"
                                f"{later}, which no earlier response returned: record the interaction that creates "
                                "it, or list it under 'fixtures' in the header"))
    if len(unprovided) > 1:  # a server's fixtures (stripe-mock's): one line to paste
        listed = ", ".join(sorted(unprovided))
        problems.append(Problem(path, None, f"if the target knows these {len(unprovided)} ids already (a server's "
                                            f"fixtures), list them in the header: fixtures: [{listed}]", warning=True))
    return problems
