"""Stripe's retry contract, judged on every answer: idempotency keys and request ids, each rule with its source.

A retry that runs twice charges twice: the official SDKs send an ``Idempotency-Key`` on every POST and retry on
network errors, 409, 429 and 5xx, relying on the API to answer a repeated key with the first answer. Where
public sources disagree it is said, and compared loosely: the status of a key reused with other parameters is
400 in some, 409 or 422 in others; the error ``type`` (``idempotency_error``) is the reference's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from conformance.api_profile import Headers, RetryExchange, RetryState
from conformance.checks.response import PARAMETERS_NOT_APPLIED
from conformance.findings import MISSING, Finding
from conformance.rules import MatrixRow, Rule, Severity

__all__ = ["IDEMPOTENCY_RULES", "IdempotencyRules", "IDEMPOTENCY", "MISMATCH_STATUSES", "PROBE_PARAMETER", "times"]

_IDEMPOTENT = "Stripe API reference, Idempotent requests"
IDEMPOTENCY_RULES = (
    Rule("idempotency.replay", Severity.FAILURE, "a POST repeated with the same idempotency key and parameters "
         "answers the first answer's status and body, and makes no second object", _IDEMPOTENT, one_cause=True,
         matrix=MatrixRow.BEYOND),
    Rule("idempotency.mismatch", Severity.FAILURE, "the same idempotency key with other parameters is refused with "
         "an `idempotency_error` and nothing is executed (status 400, 409 or 422: sources disagree, compared loosely)",
         f"{_IDEMPOTENT}; Errors (idempotency_error)", one_cause=True, matrix=MatrixRow.BEYOND),
    Rule("idempotency.validation", Severity.FAILURE, "a request that failed validation is not saved: a corrected "
         "retry with the same key is executed", f"{_IDEMPOTENT} (results are saved only once the endpoint began "
         "executing)", one_cause=True, matrix=MatrixRow.BEYOND),
    Rule("idempotency.replayed_header", Severity.WARNING, "an answer replayed for a repeated key carries "
         "`Idempotent-Replayed: true`", "observed from Stripe by public parity tests, not written in the API reference", one_cause=True),
    Rule("request.id", Severity.WARNING, "every answer carries a `Request-Id`, distinct per request",
         "Stripe API reference, Request IDs", one_cause=True),
)

# A key reused with other parameters: the reference's error type, any status the sources give.
MISMATCH_STATUSES = frozenset({400, 409, 422})


@dataclass(frozen=True)
class _Seen:
    index: int
    method: str
    path: str
    content: bytes
    status: int
    body: Any
    saved: bool  # the endpoint began executing: a repeat of the key is answered from this


@dataclass
class IdempotencyState(RetryState):
    keys: dict[str, _Seen] = field(default_factory=dict)
    request_ids: dict[str, int] = field(default_factory=dict)  # request id -> the first interaction answering it
    told_request_id: bool = False  # request.id is said once per cassette, not on every answer
    # the interaction where a repeat was executed again: the target does not read keys, so a later replay's
    # missing mark and a reused key accepted follow from it (one problem, not two)
    executed_again_at: int | None = None
    # an object a repeat answered as the first answer did -> that repeat: a list that then holds it twice shows
    # the repeat executed again behind a faithful answer (localstripe re-attaches the same card)
    replayed: dict[str, int] = field(default_factory=dict)


def _saved(status: int) -> bool:
    """Whether Stripe keeps the answer for the key: once the endpoint began executing (a 2xx, a 402 card error, a
    5xx); a validation error (400, 404), a conflict (409) or a rate limit (429) is not saved."""
    return status < 400 or status == 402 or status >= 500


def _error_type(body: Any) -> Any:
    error = body.get("error") if isinstance(body, dict) else None
    return error.get("type", MISSING) if isinstance(error, dict) else MISSING


def _object_id(body: Any) -> str | None:
    value = body.get("id") if isinstance(body, dict) else None
    return value if isinstance(value, str) else None


# What ``run --probe idempotency`` changes to reuse a key with other parameters: a metadata key of its own, which
# every Stripe POST takes and which a target that wrongly executes the request keeps apart from the recording's
# values (an update is reverted by sending it empty: Stripe unsets a metadata key so).
PROBE_PARAMETER = "metadata[conformance_probe]"
_PROBE_KEY = "conformance_probe"
_PROBE_PATH = f"metadata.{_PROBE_KEY}"
_FORM = "application/x-www-form-urlencoded"


def _without_probe_key(metadata: Any) -> Any:
    if isinstance(metadata, dict) and _PROBE_KEY in metadata:
        return {k: v for k, v in metadata.items() if k != _PROBE_KEY}
    return metadata


def times(count: int) -> str:
    """How often an object is listed, in words."""
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _list_ids(body: Any, depth: int = 0) -> list[list[str]]:
    """The ids of every list object an answer holds (a list answer, a customer's expanded ``sources``)."""
    found: list[list[str]] = []
    if depth > 8 or not isinstance(body, (dict, list)):
        return found
    if isinstance(body, dict) and body.get("object") == "list" and isinstance(body.get("data"), list):
        found.append([item["id"] for item in body["data"] if isinstance(item, dict) and isinstance(item.get("id"), str)])
    for item in body.values() if isinstance(body, dict) else body:
        found += _list_ids(item, depth + 1)
    return found


def _listed_twice(exchange: RetryExchange, state: IdempotencyState) -> list[Finding]:
    """A list holding twice an object a repeated key was answered with: the repeat executed again behind the
    first answer (the same object added once more). Said once per object; what later answers show of it follows
    from this finding (``duplicates``)."""
    if not state.replayed or not 200 <= exchange.status < 300:
        return []
    findings: list[Finding] = []
    for ids in _list_ids(exchange.body):
        for twice in dict.fromkeys(found for found in ids if ids.count(found) > 1):
            repeat = state.replayed.get(twice)
            if repeat is None or twice in state.duplicates:
                continue
            state.duplicates[twice] = exchange.index
            state.judged.add("idempotency.replay")
            findings.append(Finding("idempotency.replay", "", f"executed again: the list holds {twice} "
                                    f"{times(ids.count(twice))} — interaction #{repeat} repeated its idempotency key "
                                    f"and was answered {twice} as the first time, but the target added it once more",
                                    1, ids.count(twice)))
    return findings


class IdempotencyRules:
    """The rules of :data:`IDEMPOTENCY_RULES`, one state per cassette; and how ``--probe idempotency`` probes them
    (``conformance.replay.probe.ProbeDeclaration``)."""

    list_query = "limit=100"  # Stripe's largest page: the list a probe reads back whole
    page_size = 10  # what a list answers without `limit` (API reference, Pagination)

    def changed(self, content: bytes, content_type: str) -> bytes | None:
        """The form with :data:`PROBE_PARAMETER` added: one parameter more, the rest byte for byte."""
        if not content_type.lower().startswith(_FORM):
            return None
        pair = f"{quote(PROBE_PARAMETER, safe='')}=changed".encode()
        return content + b"&" + pair if content else pair

    def reverted(self, content_type: str) -> bytes | None:
        """:data:`PROBE_PARAMETER` unset (sent empty) on an update that executed the changed request."""
        return f"{quote(PROBE_PARAMETER, safe='')}=".encode() if content_type.lower().startswith(_FORM) else None

    def scrub(self, body: Any) -> Any:
        """The answer without :data:`PROBE_PARAMETER` in any ``metadata``: the probe's own key, which a target
        may keep after the undo (localstripe keeps a key sent empty), never counts as a difference later."""
        if isinstance(body, dict):
            return {k: (_without_probe_key(v) if k == "metadata" else self.scrub(v)) for k, v in body.items()}
        if isinstance(body, list):
            return [self.scrub(item) for item in body]
        return body

    def leftover(self, body: Any) -> str | None:
        """Where an answer to the probe's undo still shows :data:`PROBE_PARAMETER` (a metadata key sent empty
        that the target kept), as a finding's path; None when it is gone."""
        metadata = body.get("metadata") if isinstance(body, dict) else None
        return _PROBE_PATH if isinstance(metadata, dict) and _PROBE_KEY in metadata else None

    def listed(self, body: Any) -> list[str] | None:
        """The ids of a list answer that holds every item (``has_more`` false)."""
        if not isinstance(body, dict) or body.get("object") != "list" or body.get("has_more") is not False:
            return None
        items = body.get("data")
        if not isinstance(items, list):
            return None
        return [item["id"] for item in items if isinstance(item, dict) and isinstance(item.get("id"), str)]

    def unanswered(self, repeated_as_is: bool, said: str) -> Finding:
        """A probe's repeat that got no answer: the rule it was to judge, the message ``said``."""
        return Finding("idempotency.replay" if repeated_as_is else "idempotency.mismatch", "", said, "an answer",
                       MISSING)

    def unchangeable(self, content_type: str) -> tuple[str, str]:
        """A body that is no form cannot be sent with other parameters: the mismatch rule is not judged there."""
        return ("idempotency.mismatch", "--probe idempotency cannot change a parameter of this request's body "
                f"({content_type or 'none'})")

    def listed_again(self, said: str, unnamed: list[str], twice: dict[str, int]) -> list[Finding]:
        """A list read back after the probe that names objects no answer named, or one object more than once: the
        repeat was executed again behind the first answer."""
        findings = [Finding("idempotency.replay", "", f"{said} {', '.join(unnamed)}, which no answer named: the "
                            "target executed the repeat again although it answered the first answer",
                            "no other object", unnamed)] if unnamed else []
        findings += [Finding("idempotency.replay", "", f"{said} {found} {times(count)}: executed again (the same "
                             "object added once more) although the target answered the first answer", 1, count)
                     for found, count in twice.items()]
        return findings

    def left(self, path: str, shown: Any, undo: str, kind: str | None) -> Finding:
        """The undo (:data:`PROBE_PARAMETER` sent empty) answered with the key still there: a value of the request
        the target did not apply, said on the probed interaction."""
        return Finding("value", path, f"--probe idempotency: the undo ({undo}) left {path}: {json.dumps(shown)}: the "
                       "target does not unset a metadata key sent empty", MISSING, shown, kind=kind, key_path=path,
                       problem=PARAMETERS_NOT_APPLIED)

    def new_state(self) -> IdempotencyState:
        return IdempotencyState()

    def saved(self, status: int) -> bool:
        return _saved(status)

    def check(self, exchange: RetryExchange, state: RetryState, headers: Headers) -> list[Finding]:
        assert isinstance(state, IdempotencyState)
        findings = self._request_id(exchange, state, headers) + _listed_twice(exchange, state)
        if headers.request_id and headers.request_id in exchange.recorded_headers:
            state.judged.add("request.id")
        if not exchange.key:
            return findings
        first = state.keys.get(exchange.key)
        if first is None or not first.saved:
            if first is not None and exchange.content != first.content:
                state.judged.add("idempotency.validation")
                findings += _validation(exchange, first)
            state.keys[exchange.key] = _Seen(exchange.index, exchange.method, exchange.path, exchange.content,
                                             exchange.status, exchange.body, _saved(exchange.status))
            return findings
        same = (exchange.method, exchange.path, exchange.content) == (first.method, first.path, first.content)
        state.judged.add("idempotency.replay" if same else "idempotency.mismatch")
        if same and headers.replayed and headers.replayed in exchange.recorded_headers:
            state.judged.add("idempotency.replayed_header")
        if same:
            replayed = _replay(exchange, first, headers, state.executed_again_at is not None)
            executed = any(f.rule == "idempotency.replay" for f in replayed)
            if state.executed_again_at is None and executed:
                state.executed_again_at = exchange.index
            answered = _object_id(exchange.body)
            if not executed and answered is not None and answered == _object_id(first.body):
                state.replayed.setdefault(answered, exchange.index)
            findings += replayed
        else:
            findings += [replace(finding, consequence_of=state.executed_again_at)
                         for finding in _mismatch(exchange, first)]
        made = _object_id(exchange.body)
        if 200 <= exchange.status < 300 and made is not None and made != _object_id(first.body):
            state.duplicates.setdefault(made, exchange.index)
        return findings

    @staticmethod
    def _request_id(exchange: RetryExchange, state: IdempotencyState, headers: Headers) -> list[Finding]:
        """A missing or repeated request id, once per cassette; judged only where the recording shows one."""
        name = headers.request_id
        if not name or name not in exchange.recorded_headers or state.told_request_id:
            return []
        value = exchange.headers.get(name)
        if not value:
            state.told_request_id = True
            return [Finding("request.id", "", f"the answer carries no {name} (the recording's did)", name, MISSING)]
        earlier = state.request_ids.setdefault(value, exchange.index)
        if earlier == exchange.index:
            return []
        state.told_request_id = True
        return [Finding("request.id", "", f"{name} {value} answered interaction #{earlier} already: request ids are "
                        "distinct per request", "a new request id", value)]


def _replay(exchange: RetryExchange, first: _Seen, headers: Headers, executed_again: bool) -> list[Finding]:
    """The same key and parameters: the first answer again, marked as replayed (a missing mark is not said
    where an earlier repeat was executed again: it follows from that)."""
    findings: list[Finding] = []
    if (exchange.status, exchange.body) != (first.status, first.body):
        made, before = _object_id(exchange.body), _object_id(first.body)
        what = (f"made another object ({made}, not {before})" if made and before and made != before else
                f"answered {exchange.status} where the first answered {first.status}"
                if exchange.status != first.status else "answered another body")
        findings.append(Finding("idempotency.replay", "", f"the request repeats interaction #{first.index}'s "
                                "idempotency key and parameters, and the target executed it again: it " + what,
                                first.status, exchange.status))
    elif headers.replayed and not executed_again and exchange.headers.get(headers.replayed, "").lower() != "true":
        findings.append(Finding("idempotency.replayed_header", "", f"the answer replayed for interaction "
                                f"#{first.index}'s key lacks {headers.replayed}: true", "true",
                                exchange.headers.get(headers.replayed, MISSING)))
    return findings


def _mismatch(exchange: RetryExchange, first: _Seen) -> list[Finding]:
    """The same key, other parameters: refused as an idempotency error."""
    kind = _error_type(exchange.body)
    if exchange.status in MISMATCH_STATUSES and kind == "idempotency_error":
        return []
    return [Finding("idempotency.mismatch", "error.type", f"the request reuses interaction #{first.index}'s "
                    f"idempotency key with other parameters and was answered {exchange.status}"
                    f"{'' if kind is MISSING else f' ({kind})'}, not refused with an idempotency_error (400, 409 "
                    "or 422)", "idempotency_error", kind)]


def _validation(exchange: RetryExchange, first: _Seen) -> list[Finding]:
    """A retry after a validation error: executed, not answered from the failed request."""
    kind = _error_type(exchange.body)
    if kind != "idempotency_error" and (exchange.status, exchange.body) != (first.status, first.body):
        return []
    return [Finding("idempotency.validation", "", f"interaction #{first.index} was refused ({first.status}) "
                    "under the same idempotency key before the endpoint began executing, so its answer is not saved: "
                    f"this retry was answered {exchange.status}{'' if kind is MISSING else f' ({kind})'} instead of "
                    "executed", "executed", exchange.status)]


IDEMPOTENCY = IdempotencyRules()
