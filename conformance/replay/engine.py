"""Replaying one cassette against a target, interaction by interaction, in order.

Each request is re-sent as recorded — method, path, query, body in its original
encoding, the headers that matter — with the run's API key and bound ids; the
target's answer becomes an :class:`~conformance.checks.Exchange` that the
registered checks judge. A target fault is a finding on its interaction, never
a crash, and the replay goes on.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx

from conformance import forms
from conformance.api_profile import OTHER, ApiProfile, RetryExchange, RetryState, TestCard, TokenMode
from conformance.cassette import CassetteError, Interaction, iter_interactions, multipart
from conformance.cassette.model import MAX_BODY_DEPTH, CassetteHeader, nesting_exceeds
from conformance.checks import CheckState, CompareRules, Exchange, run_checks
from conformance.checks.naming import note_minted
from conformance.contract import Contract
from conformance.findings import MISSING, CassetteResult, Finding, InteractionResult
from conformance.record.exchange import GENERATED_KEY
from conformance.redaction import Redactor
from conformance.replay.attribution import Attribution
from conformance.replay.binding import IdBindings
from conformance.replay.cards import hint_magic_tokens, unredacted_card
from conformance.replay.curl import CurlRequest, curl_command
from conformance.replay.probe import Probe
from conformance.replay.tokens import make_token
from conformance.replay.transport import TargetAnswer, TargetClient
from conformance.rules import Severity
from conformance.text import snippet

__all__ = ["ReplayOptions", "replay_cassette", "redact_finding"]


@dataclass(frozen=True)
class ReplayOptions:
    api_key: str
    profile: ApiProfile  # the API: its routes, ids, test cards, documented rules
    rules: CompareRules = field(default_factory=CompareRules)
    redactor: Redactor = field(default_factory=Redactor)
    keep_bodies: bool = True  # keep recorded/actual bodies of deviating interactions for reports
    # "magic": send the profile's test tokens (tok_visa) as recorded; "create": make a token at the target from
    # the test card each stands for, for targets that do not know them (localstripe)
    tokens: TokenMode = "magic"
    contract: Contract | None = None  # --openapi: every answer is also judged by the published contract
    stripe_version: str | None = None  # --stripe-version: sent instead of the recorded Stripe-Version
    probes: tuple[str, ...] = ()  # --probe: extra checks run after recorded interactions (see probe.PROBES)


@dataclass
class _SentRequest:
    path: str
    query: dict[str, Any] | str
    query_string: str
    headers: dict[str, str]
    content: bytes
    setup: list[Finding]  # what went wrong preparing it (a token the target would not make)
    parts: list[dict[str, Any]] | None = None  # a multipart body's parts as sent

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query_string}" if self.query_string else self.path


@dataclass
class _Replay:
    """The state of one cassette's replay."""

    client: TargetClient
    options: ReplayOptions
    checks: CheckState
    bindings: IdBindings = field(init=False)
    profile: ApiProfile = field(init=False)
    idempotency_keys: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)  # objects of each kind the recording minted so far
    api_version: str | None = None  # the cassette's (its header's api_version)
    attribution: Attribution = field(init=False)  # which findings follow from an earlier failure
    retries: RetryState | None = field(init=False)  # the profile's retry rules' memory, None without them
    # a recorded request id -> the idempotency key sent for its request: a recorded retry (its answer names the
    # original request) is sent with the same key
    keys_by_request: dict[str, str] = field(default_factory=dict)
    # (the idempotency key sent, a magic token) -> the token made for it: a recorded retry sends the same token,
    # or the target would rightly refuse the key reused with other parameters
    made_tokens: dict[tuple[str, str], str] = field(default_factory=dict)
    probe: Probe | None = field(init=False)  # --probe: extra requests after an interaction, judged as its own
    recorded_retries: RetryState | None = field(init=False)

    def __post_init__(self) -> None:
        self.profile = self.options.profile
        self.bindings = IdBindings(self.profile.ids)
        self.attribution = Attribution(self.profile, self.bindings, self.checks)
        self.retries = self.profile.retries.new_state() if self.profile.retries is not None else None
        # the retry rules fed the recording itself: which of them the suite covers, interaction by interaction
        self.recorded_retries = self.profile.retries.new_state() if self.profile.retries is not None else None
        self.probe = Probe.for_run(self.options.probes, self.client, self.profile, self.retries, self.options.redactor,
                                   lambda finding: redact_finding(finding, self.options.redactor))

    def request(self, interaction: Interaction) -> _SentRequest:
        """The recorded request with the target's ids, a test card for a redacted one, fresh idempotency keys."""
        recorded = interaction.request
        path = self.bindings.text(recorded.path)
        query: dict[str, Any] | str
        if isinstance(recorded.query, dict):
            bound: dict[str, Any] = self.bindings.substitute(recorded.query)
            query, query_string = bound, forms.encode(bound) if bound else ""
        else:
            query = query_string = self.bindings.text(recorded.query)
        wire = self.profile.headers
        key = self._idempotency_key(interaction) if wire.idempotency and wire.idempotency in recorded.headers else None
        content = b""
        setup: list[Finding] = []
        sent_parts: list[dict[str, Any]] | None = None
        framing = ""  # a multipart body's Content-Type, naming the boundary it is framed with
        body = recorded.body
        if body is not None:
            if body.kind == "form" and isinstance(body.value, dict):
                # Bracket pairs, ids substituted value by value (cheaper than rebuilding the data).
                pairs = unredacted_card(forms.encode_pairs(body.value), interaction.response.json(),
                                         self.profile.cards)
                if self.options.tokens == "create":
                    pairs = [(k, self._made_token(v, recorded.headers, setup, key)
                              if k in self.profile.token_parameters else v) for k, v in pairs]
                content = urlencode([(self.bindings.text(k), self.bindings.text(v)) for k, v in pairs]).encode()
            elif body.kind in ("form", "text") and isinstance(body.value, str):
                content = self.bindings.text(body.value).encode()
            elif body.kind == "json":
                content = json.dumps(self.bindings.substitute(body.value)).encode()
            elif body.kind == "multipart":
                sent_parts = [{**part, "text": self.bindings.text(part["text"])} if "text" in part else part
                              for part in body.value["parts"]]
                framing, content = multipart.framed({**body.value, "parts": sent_parts})
            else:
                content = body.to_bytes()
        headers = {name: self.bindings.text(value) for name, value in recorded.headers.items()
                   if name in wire.forwarded}
        if sent_parts is not None:  # the boundary the parts as sent are framed with
            headers["Content-Type"] = framing
        version = self._stripe_version(recorded.headers)
        if version and wire.version:
            headers[wire.version] = version
        if wire.idempotency and key is not None:
            headers[wire.idempotency] = key
        if "Authorization" in recorded.headers:
            headers["Authorization"] = f"Bearer {self.options.api_key}"
        return _SentRequest(path, query, query_string, headers, content, setup, sent_parts)

    def _idempotency_key(self, interaction: Interaction) -> str:
        """A fresh key (replaying a recorded one could be answered from the API's idempotency cache): one per
        recorded key, so a recorded retry sends the same fresh key twice — a random key the recorder stored as
        the placeholder too, when the retry's recorded answer names the original request."""
        wire = self.profile.headers
        recorded_key = interaction.request.headers[wire.idempotency]
        answer = interaction.response.headers
        original = answer.get(wire.original_request, "") if wire.original_request else ""
        if original and original in self.keys_by_request:
            key = self.keys_by_request[original]
        elif recorded_key == GENERATED_KEY:
            key = str(uuid.uuid4())
        else:
            key = self.idempotency_keys.setdefault(recorded_key, str(uuid.uuid4()))
        request_id = answer.get(wire.request_id, "") if wire.request_id else ""
        if request_id:
            self.keys_by_request.setdefault(request_id, key)
        return key

    def _retry_findings(self, interaction: Interaction, sent: _SentRequest, response: TargetAnswer,
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

    def _stripe_version(self, recorded_headers: dict[str, str]) -> str | None:
        """--stripe-version, else what the request recorded, else the version the cassette's answers follow."""
        header = self.profile.headers.version
        return self.options.stripe_version or (recorded_headers.get(header) if header else None) or self.api_version

    def _made_token(self, value: str, recorded_headers: dict[str, str], setup: list[Finding], key: str | None) -> str:
        """A token the target made from the test card a magic token stands for; the magic token when it cannot,
        and a finding in ``setup`` that says why."""
        card = self.profile.cards.by_token.get(value)
        if card is None:
            return value
        retry = (key, value) if key else None
        if retry is not None and retry in self.made_tokens:
            return self.made_tokens[retry]
        made = self._make_token(value, card, recorded_headers, setup)
        if retry is not None and made != value:
            self.made_tokens[retry] = made
        return made

    def _make_token(self, value: str, card: TestCard, recorded_headers: dict[str, str], setup: list[Finding]) -> str:
        headers = {"Authorization": f"Bearer {self.options.api_key}"}
        version = self._stripe_version(recorded_headers)
        if version and self.profile.headers.version:
            headers[self.profile.headers.version] = version
        made = make_token(self.client, self.profile.token_path, card, headers)
        if made.id is not None:
            return made.id
        setup.append(Finding(
            "setup.token", "", f"the target did not make a token for {value} (POST {self.profile.token_path} with its test card "
                               f"ending {card.number[-4:]} answered {made.said()}); {value} was sent as recorded",
            value, made.answer.status_code if made.answer is not None else MISSING))
        return value

    def replay(self, interaction: Interaction) -> InteractionResult:
        recorded = interaction.response
        result = InteractionResult(
            interaction.index, self._endpoint(interaction), interaction.request.method, interaction.request.url_path,
            recorded.status,
        )
        self._name_minted(interaction)
        result.covers = self.checks.covered(interaction) + self._retry_covers(interaction)
        needed = self.attribution.needed(interaction)
        sent = self.request(interaction)
        self.checks.request_sent(interaction, sent.path)
        started = time.perf_counter()
        try:
            response = self.client.request(interaction.request.method, sent.target, headers=sent.headers,
                                           content=sent.content)
        except httpx.HTTPError as error:
            # the error text may quote the request: redacted like every finding
            result.findings = [redact_finding(f, self.options.redactor)
                               for f in [*sent.setup, _fault(error, self.client.timeout, recorded.status)]]
            self.attribution.attribute(interaction, result, needed, sent.path)
            result.curl = self._curl(interaction.request.method, sent)
            return result
        finally:
            result.seconds = time.perf_counter() - started
        result.actual_status = response.status_code
        result.sent_key = "Authorization" in sent.headers
        exchange = self._exchange(interaction, sent, response)
        findings = sent.setup + run_checks(exchange, self.checks)
        retried = self._retry_findings(interaction, sent, response, exchange.body)
        findings += retried
        if self.options.tokens == "magic" and 400 <= response.status_code < 500 and interaction.response.status < 300:
            hint_magic_tokens(findings, interaction, response.status_code, response.text, self.profile)
        result.findings = [redact_finding(f, self.options.redactor) for f in findings]
        if self.checks.invariants.not_judged:
            result.not_judged = [(rule, self.options.redactor.text(why)) for rule, why in self.checks.invariants.not_judged]
            self.checks.invariants.not_judged.clear()
        if self.checks.invariants.judged or (self.retries is not None and self.retries.judged):
            result.judged = sorted(self.checks.invariants.judged | (self.retries.judged if self.retries else set()))
            self.checks.invariants.judged.clear()
        self.attribution.attribute(interaction, result, needed, sent.path)
        if self.retries is not None and self.profile.retries is not None:
            self.attribution.follow_duplicates(interaction, result, exchange.body, self.retries.duplicates,
                                               {f.rule for f in retried})
            key = sent.headers.get(self.profile.headers.idempotency or "", "")
            self.attribution.follow_keys(interaction, result, key, self.profile.retries.saved)
        if any(f.severity == Severity.FAILURE for f in result.findings):
            result.curl = self._curl(interaction.request.method, sent)
        if result.findings and self.options.keep_bodies:
            redactor = self.options.redactor
            result.recorded_body = redactor.data(exchange.expected) if exchange.expected is not None else None
            result.actual_body = (redactor.data(exchange.body) if exchange.body is not None
                                  else redactor.text(exchange.body_text))
        if self.probe is not None:
            self.probe.after(interaction, sent, response, exchange.body, result)
        return result

    def _curl(self, method: str, sent: _SentRequest) -> str:
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

    def _name_minted(self, interaction: Interaction) -> None:
        """Number the objects the recording mints (an answer's own ``id``, first seen) by kind, so messages can
        say "the card attached 2nd" on any target."""
        note_minted(self.checks.minted, self.counts, interaction.response.json(), interaction.response.status)

    def _exchange(self, interaction: Interaction, sent: _SentRequest, response: TargetAnswer) -> Exchange:
        """The answer with what it is checked against: the recorded JSON with the target's ids bound."""
        actual, problem = _json_body(response)
        actual = self.probe.scrub(actual) if self.probe is not None else actual  # the probe's key never differs
        recorded_json = interaction.response.json()
        expected = expected_text = None
        if recorded_json is not None:
            # One serialization serves the binding check, the substitution and the checks' fast path.
            recorded_text = json.dumps(recorded_json, ensure_ascii=False)
            expected_text, unbound = self.bindings.rewrite(recorded_text)
            if unbound and problem is None and response.status_code == interaction.response.status:
                self.bindings.learn(recorded_json, actual, never=self.attribution.broken)
                expected_text, _ = self.bindings.rewrite(recorded_text)
                minted = self.checks.minted
                for recorded_id, actual_id in self.bindings.take_fresh():  # the target's ids go by the same names
                    if recorded_id in minted and actual_id not in minted:
                        minted[actual_id] = minted[recorded_id]
            expected = json.loads(expected_text) if expected_text != recorded_text else recorded_json
        return Exchange(interaction, sent.path, sent.query, response.status_code, actual, problem,
                        snippet(response.text), expected, expected_text)


def _fault(error: httpx.HTTPError, timeout: float, recorded_status: int) -> Finding:
    if isinstance(error, httpx.TimeoutException):
        return Finding("target.timeout", "", f"no answer within {timeout}s", recorded_status, MISSING)
    if isinstance(error, httpx.ConnectError):
        reason = str(error) or type(error).__name__
        if "CERTIFICATE_VERIFY_FAILED" in reason:
            reason += "; trust the target's CA with --cacert FILE, or pass --insecure"
        return Finding("target.connection", "", f"cannot connect to the target: {reason}", recorded_status, MISSING)
    return Finding("target.protocol", "", f"the exchange broke off: {error or type(error).__name__}",
                   recorded_status, MISSING)


def _json_body(response: TargetAnswer) -> tuple[Any, str | None]:
    if not response.content:
        return None, "the body is empty"
    too_deep = f"the JSON body is nested deeper than {MAX_BODY_DEPTH} levels"
    try:
        data = json.loads(response.content)
    except ValueError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return None, f"the body is not JSON ({kind}): {snippet(response.text)!r}"
    except RecursionError:
        return None, too_deep
    if nesting_exceeds(data, MAX_BODY_DEPTH):
        return None, too_deep  # nothing recursive (comparison, invariants) meets it
    return data, None


def redact_finding(finding: Finding, redactor: Redactor) -> Finding:
    """The finding with every secret in its message and values redacted (they may quote the exchange)."""
    finding.message = redactor.text(finding.message)
    if finding.expected is not MISSING:
        finding.expected = redactor.data(finding.expected)
    if finding.actual is not MISSING:
        finding.actual = redactor.data(finding.actual)
    return finding


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
    return result
