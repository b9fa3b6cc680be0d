"""One generated sequence as it is sent: each request, the target's answer, and what the model expected.

A :class:`Session` is handed to a profile's state machine: it sends a request with the run's API key and keeps
it as a :class:`Step`, so a failing sequence can be written as a cassette. A rule the answer breaks is raised as
:class:`Deviation` (an ``AssertionError``, which is what Hypothesis shrinks on) with the answer the documented
rules expected, which the cassette records in place of the target's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import httpx

from conformance import forms
from conformance.errors import ConformanceError
from conformance.replay.transport import TargetClient

__all__ = ["Deviation", "ExploreInputError", "Session", "Step"]


class ExploreInputError(ConformanceError):
    """What makes exploring a target meaningless (it forgets what it just made, refuses the key): exit 2."""


@dataclass
class Step:
    """One request of a sequence and its answer; ``expected_*`` set where the answer broke a rule."""

    method: str
    path: str  # with its query
    form: dict[str, Any] | None
    status: int
    body: Any  # the answer's JSON (None when it is not JSON)
    content: bytes
    headers: list[tuple[str, str]]
    expected_status: int | None = None
    expected_body: Any = None


class Deviation(AssertionError):
    """An answer that breaks a documented rule: its rule id, what is wrong, and the answer the rules expect."""

    def __init__(self, rule: str, message: str, expected_status: int | None = None, expected_body: Any = None):
        super().__init__(f"[{rule}] {message}")
        self.rule = rule
        self.message = message
        self.expected_status = expected_status
        self.expected_body = expected_body


@dataclass
class Session:
    """The requests of one sequence, sent to one target."""

    client: TargetClient  # run's: its whole-exchange deadline and body cap, without httpx.Client's per-request cost
    api_key: str
    version_header: str = ""
    version: str = ""
    steps: list[Step] = field(default_factory=list)

    def send(self, method: str, path: str, form: dict[str, Any] | None = None,
             query: dict[str, Any] | None = None) -> Step:
        """Send one request (a form body in bracket notation, a query) and keep it as a step."""
        headers, content = self.framed(form)
        target = path + ("?" + urlencode(forms.encode_pairs(query)) if query else "")
        try:
            answer = self.client.request(method, target, headers, content)
        except httpx.HTTPError as error:  # RequestNotSent too
            raise Deviation("target.connection", f"{method} {target}: no answer ({error or type(error).__name__})") \
                from None
        try:
            body = answer.json() if answer.content else None
        except ValueError:
            body = None
        step = Step(method, target, form, answer.status_code, body, answer.content,
                    [("Content-Type", answer.headers.get("content-type", "application/json"))])
        self.steps.append(step)
        return step

    def framed(self, form: dict[str, Any] | None) -> tuple[dict[str, str], bytes]:
        """The headers and body a request is sent with: the key, the API version, a form in bracket notation."""
        headers = {"Authorization": f"Bearer {self.api_key}"}
        if self.version_header and self.version:
            headers[self.version_header] = self.version
        if form is None:
            return headers, b""
        headers["Content-Type"] = "application/x-www-form-urlencoded"
        return headers, urlencode(forms.encode_pairs(form)).encode()

    def fail(self, rule: str, message: str, expected_status: int | None = None, expected_body: Any = None) -> None:
        """Mark the last step as breaking ``rule``, with the answer expected instead, and raise."""
        step = self.steps[-1]
        step.expected_status = expected_status if expected_status is not None else step.status
        step.expected_body = expected_body if expected_body is not None else step.body
        raise Deviation(rule, message, step.expected_status, step.expected_body)

    def request_headers(self, step: Step) -> list[tuple[str, str]]:
        """The headers a step's request was sent with (the key as it is: the cassette writer redacts it)."""
        headers = [("Authorization", f"Bearer {self.api_key}")]
        if self.version_header and self.version:
            headers.append((self.version_header, self.version))
        if step.form is not None:
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
        return headers


def json_bytes(value: Any) -> bytes:
    return json.dumps(value, indent=2).encode()
