"""Replaying one cassette against a target, interaction by interaction, in order.

The loop: each recorded request is sent as :mod:`~conformance.replay.request` builds it (the target's ids bound,
fresh keys); the target's answer becomes an :class:`~conformance.checks.Exchange` that the registered checks
judge, and :mod:`~conformance.replay.attribution` says which findings follow from an earlier failure. A target
fault is a finding on its interaction, never a crash, and the replay goes on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from conformance.api_profile import OTHER, ApiProfile, Judgement, RetryExchange, RetryState
from conformance.cassette import CassetteError, Interaction, iter_interactions
from conformance.cassette.model import CassetteHeader
from conformance.checks import CheckState, CompareRules, Exchange
from conformance.checks.exchange import Routes, judge
from conformance.checks.naming import note_minted
from conformance.findings import CassetteResult, Finding, InteractionResult
from conformance.replay.answer import answer_snippet, fault, json_body, redact_finding
from conformance.replay.attribution import Attribution
from conformance.replay.binding import IdBindings
from conformance.replay.cards import hint_magic_tokens
from conformance.replay.curl import CurlRequest, curl_command
from conformance.replay.options import ReplayOptions
from conformance.replay.probe import Probe
from conformance.replay.request import Requests, SentRequest
from conformance.replay.transport import TargetAnswer, TargetClient
from conformance.rules import Severity

__all__ = ["ReplayOptions", "replay_cassette", "redact_finding"]


@dataclass
class _Turn:
    """One interaction as the replay carries it from sending to judging: its route matched once."""

    interaction: Interaction
    routes: Routes  # as recorded and as sent
    sent: SentRequest


@dataclass
class _Replay:
    """The state of one cassette's replay."""

    client: TargetClient
    options: ReplayOptions
    checks: CheckState
    api_version: str | None = None  # the cassette's (its header's api_version)
    bindings: IdBindings = field(init=False)
    profile: ApiProfile = field(init=False)
    requests: Requests = field(init=False)  # the request as sent, and the keys and tokens made for it
    counts: dict[str, int] = field(default_factory=dict)  # objects of each kind the recording minted so far
    attribution: Attribution = field(init=False)  # which findings follow from an earlier failure
    retries: RetryState | None = field(init=False)  # the profile's retry rules' memory, None without them
    probe: Probe | None = field(init=False)  # --probe: extra requests after an interaction, judged as its own
    recorded_retries: RetryState | None = field(init=False)

    def __post_init__(self) -> None:
        self.profile = self.options.profile
        self.bindings = IdBindings(self.profile.ids)
        self.requests = Requests(self.client, self.options, self.bindings, self.api_version)
        self.attribution = Attribution(self.profile, self.bindings, self.checks)
        self.retries = self.profile.retries.new_state() if self.profile.retries is not None else None
        # the retry rules fed the recording itself: which of them the suite covers, interaction by interaction
        self.recorded_retries = self.profile.retries.new_state() if self.profile.retries is not None else None
        self.probe = Probe.for_run(self.options.probes, self.client, self.profile, self.retries, self.options.redactor,
                                   lambda finding: redact_finding(finding, self.options.redactor))

    def replay(self, interaction: Interaction) -> InteractionResult:
        request, recorded = interaction.request, interaction.response
        result = InteractionResult(interaction.index, self._endpoint(interaction), request.method, request.url_path,
                                   recorded.status)
        note_minted(self.checks.minted, self.counts, recorded.json(), recorded.status)  # "the card attached 2nd"
        route = self.profile.routes.match(request.method, request.path)  # the one match of this interaction
        result.covers = self.checks.covered(interaction, Routes(route, None)) + self._retry_covers(interaction)
        needed = self.attribution.needed(interaction)
        sent = self.requests.build(interaction)
        turn = _Turn(interaction, Routes(route, self.requests.bound_route(route)), sent)
        self.checks.request_sent(interaction, sent.path, turn.routes)
        started = time.perf_counter()
        try:
            response = self.client.request(request.method, sent.target, headers=sent.headers, content=sent.content)
        except httpx.HTTPError as error:
            # the error text may quote the request: redacted like every finding
            result.findings = [redact_finding(f, self.options.redactor)
                               for f in [*sent.setup, fault(error, self.client.timeout, recorded.status)]]
            self.attribution.attribute(interaction, result, needed, turn.routes.sent)
            result.curl = self._curl(request.method, sent)
            return result
        finally:
            result.seconds = time.perf_counter() - started
        result.actual_status = response.status_code
        result.sent_key = "Authorization" in sent.headers
        self._judge(turn, response, result, needed)
        return result

    def _judge(self, turn: _Turn, response: TargetAnswer, result: InteractionResult, needed: Any) -> None:
        """The checks' and the retry rules' findings on the answer, redacted; which of them follow from an earlier
        failure; the bodies and the reproduce line a report shows."""
        interaction, sent = turn.interaction, turn.sent
        exchange = self._exchange(turn, response)
        judgement = judge(exchange, self.checks)
        findings = sent.setup + judgement.findings
        retried = self._retry_findings(interaction, sent, response, exchange.body)
        findings += retried
        if self.options.tokens == "magic" and 400 <= response.status_code < 500 and interaction.response.status < 300:
            hint_magic_tokens(findings, interaction, response.status_code, response.text, self.profile)
        redactor = self.options.redactor
        result.findings = [redact_finding(f, redactor) for f in findings]
        self._note_judged(result, judgement)
        self.attribution.attribute(interaction, result, needed, turn.routes.sent)
        if self.retries is not None and self.profile.retries is not None:
            self.attribution.follow_duplicates(interaction, result, exchange.body, self.retries.duplicates,
                                               {f.rule for f in retried})
            key = sent.headers.get(self.profile.headers.idempotency or "", "")
            self.attribution.follow_keys(interaction, result, key, self.profile.retries.saved)
        if any(f.severity == Severity.FAILURE for f in result.findings):
            result.curl = self._curl(interaction.request.method, sent)
        if result.findings and self.options.keep_bodies:
            result.recorded_body = redactor.data(exchange.expected) if exchange.expected is not None else None
            result.actual_body = (redactor.data(exchange.body) if exchange.body is not None
                                  else redactor.text(exchange.body_text))
        if self.probe is not None:
            self.probe.after(interaction, sent, response, exchange.body, result)

    def _note_judged(self, result: InteractionResult, judgement: Judgement) -> None:
        """The documented rules the exchange judged (the checks' and the retry rules'), and those it could not
        judge and why, onto its result."""
        if judgement.not_judged:
            result.not_judged = [(rule, self.options.redactor.text(why)) for rule, why in judgement.not_judged]
        retried = self.retries.judged if self.retries is not None else set()
        if judgement.judged or retried:
            result.judged = sorted(judgement.judged | retried)

    def _retry_findings(self, interaction: Interaction, sent: SentRequest, response: TargetAnswer,
                        body: Any) -> list[Finding]:
        """The profile's retry rules on this answer (idempotency keys, request ids)."""
        rules, state = self.profile.retries, self.retries
        if rules is None or state is None:
            return []
        wire = self.profile.headers
        exchange = RetryExchange(interaction.index, interaction.request.method, sent.path,
                                 sent.headers.get(wire.idempotency, "") if wire.idempotency else "", sent.content,
                                 response.status_code, body, response.headers, interaction.response.headers)
        state.judged.clear()
        return rules.check(exchange, state, wire)

    def _retry_covers(self, interaction: Interaction) -> list[str]:
        """The retry rules the recorded exchange judges (a repeated key, a request id), whatever the target does."""
        rules, state = self.profile.retries, self.recorded_retries
        if rules is None or state is None:
            return []
        wire, request, recorded = self.profile.headers, interaction.request, interaction.response
        exchange = RetryExchange(interaction.index, request.method, request.path,
                                 request.headers.get(wire.idempotency, "") if wire.idempotency else "",
                                 request.content(), recorded.status, recorded.json(), recorded.headers,
                                 recorded.headers)
        state.judged.clear()
        rules.check(exchange, state, wire)
        return sorted(state.judged)

    def _curl(self, method: str, sent: SentRequest) -> str:
        """The request as sent, as a command to paste (the key as ``$STRIPE_API_KEY``, test cards in clear)."""
        base = str(self.client.base_url).rstrip("/")
        idempotency = self.profile.headers.idempotency
        return curl_command(CurlRequest(method, base + sent.target, sent.headers, sent.content, sent.parts),
                            self.profile.cards, self.options.redactor,
                            frozenset({idempotency}) if idempotency else frozenset())

    def _endpoint(self, interaction: Interaction) -> str:
        """The route table's name; for a request beyond the card endpoints, the contract's operation."""
        contract = self.options.contract
        if interaction.endpoint != OTHER or contract is None:
            return interaction.endpoint
        operation = contract.operation(interaction.request.method, interaction.request.path)
        return f"{operation.method} {operation.template}" if operation is not None else interaction.endpoint

    def _exchange(self, turn: _Turn, response: TargetAnswer) -> Exchange:
        """The answer with what it is checked against: the recorded JSON with the target's ids bound."""
        interaction, sent = turn.interaction, turn.sent
        actual, problem = json_body(response)
        actual = self.probe.scrub(actual) if self.probe is not None else actual  # the probe's key never differs
        recorded_json = interaction.response.json()
        expected = None if recorded_json is None else self.bindings.expected(
            recorded_json, actual, problem is None and response.status_code == interaction.response.status,
            self.checks.minted, never=self.attribution.broken)
        return Exchange(interaction, sent.path, sent.query, response.status_code, actual, problem,
                        answer_snippet(response.text), expected, routes=turn.routes)


def _version_warnings(path: Path, header: CassetteHeader, options: ReplayOptions) -> list[str]:
    """A contract of another API version than the cassette's answers judges the versions' differences too."""
    recorded = header.get("api_version")
    contract = options.contract
    if contract is None or not contract.describes_another_version(recorded):
        return []
    return [f"{path}: its answers follow API {recorded}, the contract {contract.name} describes "
            f"{contract.api_version}: some findings may be the versions' differences"]


def _cassette_rules(base: CompareRules, header: CassetteHeader) -> CompareRules:
    compare = header.get("compare") or {}  # validated with the header: lists of keys or paths
    return base.with_overrides(compare.get("ignore", ()), compare.get("exact", ()), compare.get("loose", ()),
                               compare.get("nullable", ()))


def replay_cassette(path: Path, client: TargetClient, options: ReplayOptions,
                    on_interaction: Callable[[], None] | None = None,
                    stop: threading.Event | None = None) -> CassetteResult:
    """Replay one cassette; a cassette that cannot be read is reported in ``error``.

    ``stop``, once set, ends the replay before the next interaction (what ran is kept).
    """
    result = CassetteResult(str(path), path.stem)
    header: CassetteHeader = {}
    replay: _Replay | None = None
    try:
        for interaction in iter_interactions(path, header, options.profile):
            if stop is not None and stop.is_set():
                break
            if replay is None:
                result.name = header.get("name", path.stem)
                checks = CheckState(options.profile, _cassette_rules(options.rules, header), options.contract)
                replay = _Replay(client, options, checks, api_version=header.get("api_version"))
                result.warnings += _version_warnings(path, header, options)
            result.interactions.append(replay.replay(interaction))
            if on_interaction is not None:
                on_interaction()
    except CassetteError as error:
        result.error = str(error)
    if "name" in header:
        result.name = header["name"]
    result.warnings = [*result.warnings, *header.get("warnings", [])]
    if not result.error and not result.interactions and not (stop is not None and stop.is_set()):
        result.warnings.append(f"{path}: holds no interaction: nothing in it was checked")
    elif replay is not None and replay.probe is not None and not replay.probe.probed:
        key = options.profile.headers.idempotency or "an idempotency key"
        result.warnings.append(f"{path}: --probe {', '.join(options.probes)}: no recorded request it probes (a POST "
                               f"with {key} answered 2xx): nothing probed")
    return result
