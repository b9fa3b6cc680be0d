"""Replaying one cassette against a target, interaction by interaction, in order.

Each request is re-sent as recorded — method, path, query, body in its original
encoding, the headers that matter — with the run's API key and bound ids; the
target's answer is compared with the recording and checked against the
documented invariants. A target fault is a finding on its interaction, never a
crash, and the replay goes on.
"""

from __future__ import annotations

import json
import time
import uuid
from urllib.parse import urlencode
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from . import forms, testcards
from .binding import IdBindings
from .cassette import CassetteError, Interaction, iter_interactions
from .compare import SET_BY_REQUEST_KEYS, CompareRules, compare_bodies
from .findings import MISSING, CassetteResult, Finding, InteractionResult
from .invariants import InvariantState, check_response
from .recording import GENERATED_KEY
from .redaction import Redactor
from .transport import TargetClient

__all__ = ["ReplayOptions", "replay_cassette"]

_FORWARDED_HEADERS = ("Content-Type", "Stripe-Version", "Stripe-Account")
_SNIPPET = 200


@dataclass(frozen=True)
class ReplayOptions:
    api_key: str
    rules: CompareRules = field(default_factory=CompareRules)
    redactor: Redactor = field(default_factory=Redactor)
    keep_bodies: bool = True  # keep recorded/actual bodies of deviating interactions for reports


@dataclass
class _Replay:
    """The state of one cassette's replay."""

    client: TargetClient
    options: ReplayOptions
    rules: CompareRules
    bindings: IdBindings = field(default_factory=IdBindings)
    invariants: InvariantState = field(default_factory=InvariantState)
    idempotency_keys: dict[str, str] = field(default_factory=dict)
    set_fields: dict[str, frozenset[str]] = field(default_factory=dict)

    def request(self, interaction: Interaction) -> tuple[str, str, dict[str, Any] | str, dict[str, str], bytes]:
        recorded = interaction.request
        path = self.bindings.text(recorded.path)
        if isinstance(recorded.query, dict):
            query: dict[str, Any] | str = self.bindings.substitute(recorded.query)
            query_string = forms.encode(query) if query else ""
        else:
            query = query_string = self.bindings.text(recorded.query)
        content = b""
        if recorded.body is not None:
            body = recorded.body
            if body.kind == "form" and isinstance(body.value, dict):
                # Bracket pairs, ids substituted value by value (cheaper than rebuilding the data).
                pairs = _unredacted_card(forms.encode_pairs(body.value), interaction.response.json())
                content = urlencode([(self.bindings.text(k), self.bindings.text(v)) for k, v in pairs]).encode()
                if interaction.endpoint == "cards.update":
                    card = path.rstrip("/").rsplit("/", 1)[-1]
                    fields = self.set_fields.get(card, frozenset()) | (SET_BY_REQUEST_KEYS & body.value.keys())
                    if fields != self.set_fields.get(card):
                        self.set_fields = {**self.set_fields, card: frozenset(fields)}
            elif body.kind == "form":
                content = self.bindings.text(body.value).encode()
            elif body.kind == "json":
                content = json.dumps(self.bindings.substitute(body.value)).encode()
            elif body.kind == "text":
                content = self.bindings.text(body.value).encode()
            else:
                content = body.to_bytes()
        headers = {name: self.bindings.text(value) for name, value in recorded.headers.items()
                   if name in _FORWARDED_HEADERS}
        if "Idempotency-Key" in recorded.headers:
            # Fresh keys: replaying a recorded key could be answered from Stripe's idempotency cache.
            recorded_key = recorded.headers["Idempotency-Key"]
            if recorded_key == GENERATED_KEY:
                headers["Idempotency-Key"] = str(uuid.uuid4())
            else:
                headers["Idempotency-Key"] = self.idempotency_keys.setdefault(recorded_key, str(uuid.uuid4()))
        if "Authorization" in recorded.headers:
            headers["Authorization"] = f"Bearer {self.options.api_key}"
        return path, query_string, query, headers, content

    def replay(self, interaction: Interaction) -> InteractionResult:
        recorded = interaction.response
        result = InteractionResult(
            interaction.index, interaction.endpoint, interaction.request.method, interaction.request.url_path,
            recorded.status,
        )
        path, query_string, query, headers, content = self.request(interaction)
        url = f"{path}?{query_string}" if query_string else path
        started = time.perf_counter()
        try:
            response = self.client.request(interaction.request.method, url, headers=headers, content=content)
        except httpx.HTTPError as error:
            if isinstance(error, httpx.TimeoutException):
                fault = Finding("target.timeout", "", f"no answer within {self.client.timeout}s")
            elif isinstance(error, httpx.ConnectError):
                fault = Finding("target.connection", "", f"cannot connect to the target: {error}")
            else:
                fault = Finding("target.protocol", "", f"the exchange broke off: {error or type(error).__name__}")
            fault.expected, fault.actual = recorded.status, MISSING
            result.findings = [_redacted(fault, self.options.redactor)]  # the error text may quote the request
            return result
        finally:
            result.seconds = time.perf_counter() - started
        result.actual_status = response.status_code
        recorded_json = recorded.json()
        actual_json, problem = _json_body(response)
        findings: list[Finding] = []
        if response.status_code != recorded.status:
            said = _error_message(actual_json)
            findings.append(Finding("status", "", f"status: expected {recorded.status}, got {response.status_code}"
                                    + (f" ({said})" if said else ""), recorded.status, response.status_code))
        if recorded_json is not None and problem:
            findings.append(Finding("body.json", "", problem, "JSON", _snippet(response.text)))
        elif response.status_code == recorded.status and recorded_json is not None:
            # One serialization serves the binding check, the substitution and the fast path.
            recorded_text = json.dumps(recorded_json, ensure_ascii=False)
            expected_text, unbound = self.bindings.rewrite(recorded_text)
            if unbound:
                self.bindings.learn(recorded_json, actual_json)
                expected_text, _ = self.bindings.rewrite(recorded_text)
            expected = json.loads(expected_text) if expected_text != recorded_text else recorded_json
            # Equal data and equal text (which tells true from 1): nothing to compare, not even minted values.
            if expected != actual_json or expected_text != json.dumps(actual_json, ensure_ascii=False):
                findings.extend(compare_bodies(
                    expected, actual_json, self.rules, is_error=recorded.status >= 400, set_fields=self.set_fields,
                ))
        if actual_json is not None:
            query_data = query if isinstance(query, dict) else {}
            invariant_findings = check_response(
                interaction.endpoint, interaction.request.method, path, query_data, response.status_code,
                actual_json, self.invariants,
            )
            reported = {f.path for f in invariant_findings}
            findings = invariant_findings + [f for f in findings if f.path not in reported or not f.path]
        result.findings = [_redacted(f, self.options.redactor) for f in findings]
        if result.findings and self.options.keep_bodies:
            redactor = self.options.redactor
            result.recorded_body = redactor.data(self.bindings.substitute(recorded_json)) if recorded_json is not None else None
            result.actual_body = redactor.data(actual_json) if actual_json is not None else _snippet(response.text)
        return result


def _unredacted_card(pairs: list[tuple[str, str]], recorded_response: Any) -> list[tuple[str, str]]:
    """Put a test card number (and CVC) where the recording has redaction markers."""
    if not any(key == "card[number]" and value.startswith("[REDACTED:") for key, value in pairs):
        return pairs
    recorded_card = recorded_response.get("card") if isinstance(recorded_response, dict) else None
    number, cvc = testcards.for_last4(recorded_card.get("last4") if isinstance(recorded_card, dict) else None)
    replacements = {"card[number]": number, "card[cvc]": cvc}
    return [(key, replacements[key] if key in replacements and value.startswith("[REDACTED:") else value)
            for key, value in pairs]


def _json_body(response: httpx.Response) -> tuple[Any, str | None]:
    if not response.content:
        return None, "the body is empty"
    try:
        return json.loads(response.content), None
    except ValueError:
        kind = response.headers.get("content-type", "no content type").split(";")[0]
        return None, f"the body is not JSON ({kind}): {_snippet(response.text)!r}"


def _error_message(body: Any) -> str | None:
    error = body.get("error") if isinstance(body, dict) else None
    message = error.get("message") if isinstance(error, dict) else None
    return _snippet(message) if isinstance(message, str) else None


def _snippet(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET else text[: _SNIPPET - 1] + "…"


def _redacted(finding: Finding, redactor: Redactor) -> Finding:
    finding.message = redactor.text(finding.message)
    if finding.expected is not MISSING:
        finding.expected = redactor.data(finding.expected)
    if finding.actual is not MISSING:
        finding.actual = redactor.data(finding.actual)
    return finding


def _cassette_rules(base: CompareRules, header: dict[str, Any]) -> CompareRules:
    compare = header.get("compare")
    if not isinstance(compare, dict):
        return base
    ignore = compare.get("ignore") or []
    exact = compare.get("exact") or []
    return base.with_overrides([str(p) for p in ignore], [str(p) for p in exact])


def replay_cassette(path: Path, client: TargetClient, options: ReplayOptions, on_interaction=None) -> CassetteResult:
    """Replay one cassette; a cassette that cannot be read is reported in ``error``."""
    result = CassetteResult(str(path), path.stem)
    header: dict[str, Any] = {}
    replay: _Replay | None = None
    try:
        for interaction in iter_interactions(path, header):
            if replay is None:
                result.name = header.get("name", path.stem)
                replay = _Replay(client, options, _cassette_rules(options.rules, header))
            result.interactions.append(replay.replay(interaction))
            if on_interaction is not None:
                on_interaction()
    except CassetteError as error:
        result.error = str(error)
    if "name" in header:
        result.name = header["name"]
    return result
