"""The target's answer as the checks see it: its JSON (or why it has none), a transport fault as a finding, and
every finding redacted before it leaves the replay."""

from __future__ import annotations

import json
from typing import Any

import httpx

from conformance.cassette.model import MAX_BODY_DEPTH, nesting_exceeds
from conformance.findings import MISSING, Finding
from conformance.redaction import Redactor
from conformance.replay.transport import TargetAnswer
from conformance.text import shorten, snippet

__all__ = ["answer_snippet", "content_may_nest", "fault", "json_body", "no_answer_reason", "redact_finding"]


def fault(error: httpx.HTTPError, timeout: float, recorded_status: int) -> Finding:
    """A request that got no answer, as the finding of its interaction (a target fault, never a crash)."""
    if isinstance(error, httpx.TimeoutException):
        return Finding("target.timeout", "", f"no answer within {timeout}s", recorded_status, MISSING)
    if isinstance(error, httpx.ConnectError):
        return Finding("target.connection", "", f"cannot connect to the target: {no_answer_reason(error)}",
                       recorded_status, MISSING)
    return Finding("target.protocol", "", f"the exchange broke off: {error or type(error).__name__}",
                   recorded_status, MISSING)


def no_answer_reason(error: httpx.HTTPError) -> str:
    """Why a request got no answer, as a user reads it: a certificate not trusted says how to trust it (``run``'s
    finding and ``explore``'s refusal alike)."""
    reason = str(error) or type(error).__name__
    if "CERTIFICATE_VERIFY_FAILED" in reason:
        reason += "; trust the target's CA with --cacert FILE, or pass --insecure"
    return reason


def json_body(response: TargetAnswer) -> tuple[Any, str | None]:
    """The answer's JSON, or None and why not (empty, not JSON, nested deeper than anything recursive may meet)."""
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
    # Each level opens with a bracket of the text: fewer brackets than the limit cannot nest deeper (brackets in
    # strings only add to the count), and the walk is left for the rare answer that may.
    if content_may_nest(response.content, MAX_BODY_DEPTH) and nesting_exceeds(data, MAX_BODY_DEPTH):
        return None, too_deep  # nothing recursive (comparison, invariants) meets it
    return data, None


def answer_snippet(text: str, limit: int = 200) -> str:
    """``snippet(text, limit)`` read from the start of the text only: an answer's snippet is kept for messages, and
    collapsing the whitespace of a whole body for it cost more than judging it. The collapsed start of a text is
    the start of its collapse, so once it is longer than ``limit`` the rest cannot change the cut."""
    if len(text) > 4 * limit:
        head = " ".join(text[:4 * limit].split())
        if len(head) > limit:
            return shorten(head, limit)
    return snippet(text, limit)


def content_may_nest(content: bytes, limit: int) -> bool:
    """Whether JSON text holds enough opening brackets to nest deeper than ``limit`` levels (a count in C, several
    times cheaper than walking the parsed data)."""
    return content.count(b"{") + content.count(b"[") > limit


def redact_finding(finding: Finding, redactor: Redactor) -> Finding:
    """The finding with every secret in its message and values redacted (they may quote the exchange)."""
    finding.message = redactor.text(finding.message)
    if finding.expected is not MISSING:
        finding.expected = redactor.data(finding.expected)
    if finding.actual is not MISSING:
        finding.actual = redactor.data(finding.actual)
    return finding
