"""A failing sequence, shrunk, as an ordinary cassette: ``conformance run`` reproduces it.

Each step is recorded as the target answered it, but the last, which is recorded as the documented rules expect
it: replayed on the target, it differs from the recording exactly where the rule is broken; on a faithful target
it conforms. The header's ``meta`` says how it was made (seed, target, rule); error messages and ``param`` are
compared loosely, as the API words them its own way.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from conformance.api_profile import ApiProfile
from conformance.cassette.exchange import build_interaction
from conformance.cassette.files import CassetteWriter
from conformance.explore.runner import Failure
from conformance.explore.session import Step
from conformance.paths import parse_path, value_at
from conformance.redaction import Redactor
from conformance.replay.binding import IdBindings

__all__ = ["write_failure", "cassette_name"]


def cassette_name(failure: Failure) -> str:
    """``explore-card-metadata-seed-1``: the rule and the seed."""
    return "explore-" + re.sub(r"[^a-z0-9]+", "-", failure.rule.lower()).strip("-") + f"-seed-{failure.seed}"


def _request_headers(step: Step, api_key: str, profile: ApiProfile, version: str) -> list[tuple[str, str]]:
    headers = [("Authorization", f"Bearer {api_key}")]
    if profile.headers.version and version:
        headers.append((profile.headers.version, version))
    if step.form is not None:
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    if step.key and profile.headers.idempotency:  # a retry: run sends one fresh key wherever this one repeats
        headers.append((profile.headers.idempotency, step.key))
    return headers


def _content(step: Step) -> bytes:
    from urllib.parse import urlencode

    from conformance import forms

    return urlencode(forms.encode_pairs(step.form)).encode() if step.form is not None else b""


def _response_headers(step: Step, body: Any) -> list[tuple[str, str]]:
    """The answer's headers; a body written as JSON (expected by the rules, or reduced) says so, whatever the
    target's answer said (a text/plain 404 recorded as text would conform on the very target)."""
    if body is None:
        return step.headers
    return [(name, value) for name, value in step.headers if name.lower() != "content-type"] + [
        ("Content-Type", "application/json")]


def _renaming(steps: list[Step], profile: ApiProfile) -> IdBindings:
    """The steps' aliases as bindings: each target's id the cassette names otherwise (:attr:`Step.alias`) is
    replaced as a whole id (``substitute``) in a path, a form or a body, as a replay replaces bound ids. An id
    no substitution can carry (``IdBindings.bind`` refuses it) stays as the target named it."""
    names = IdBindings(profile.ids)
    for step in steps:
        if step.alias is not None:
            with contextlib.suppress(ValueError):
                names.bind(*step.alias)
    return names


def _disputed(profile: ApiProfile, bodies: list[Any]) -> dict[str, list[str]]:
    """How the cassette compares what public sources disagree on (the profile's comparison), so that ``run`` of
    it judges as explore did: error wording loosely, as the API words it its own way; the disputed keys; a value
    one source chose (the profile's ``loose``) by presence where an answer holds it."""
    defaults = profile.comparison
    chosen = {path for path, value in defaults.loose if any(value_at(body, parse_path(path)) == value for body in bodies)}
    compare = {"loose": ["error.message", "error.param", *sorted(chosen - {"error.message", "error.param"})]}
    if defaults.nullable:
        compare["nullable"] = sorted(defaults.nullable)
    if defaults.ignored:
        compare["ignore"] = sorted(defaults.ignored)
    return compare


def write_failure(failure: Failure, out: Path, *, target: str, api_key: str, profile: ApiProfile,
                  version: str = "", redactor: Redactor | None = None, reference: str = "",
                  recorded: Callable[[Any, str], Any] | None = None) -> Path:
    """Write one failure's steps to ``out/<name>.yaml`` (replaced if there) and return its path.

    ``recorded`` reduces each answer (and the request path it answers) to what the model relied on (the
    profile's ``Machines.recorded``), so a faithful target's other keys are warnings at most. A step that broke a
    rule, the last one or one already known on the way, is recorded as the rules expect it. With ``reference``,
    the steps are the reference's answers (the expected ones), the last one included, recorded whole."""
    redactor = redactor or Redactor()
    out.mkdir(parents=True, exist_ok=True)
    name = cassette_name(failure)
    path = out / f"{name}.yaml"
    meta: dict[str, Any] = {"made_by": "conformance explore", "seed": failure.seed, "target": redactor.text(target),
                            "rule": failure.rule, "message": redactor.text(failure.message),
                            "steps": len(failure.steps)}
    source = (f"Generated by `conformance explore --seed {failure.seed}` against {redactor.text(target)}: the last "
              f"answer is recorded as the documented rules expect it ([{failure.rule}]), the others as the target "
              "gave them" + (", each as far as the rules read it." if recorded else "."))
    if reference:
        recorded = None
        meta["reference"] = redactor.text(reference)
        source = (f"Generated by `conformance explore --seed {failure.seed} --reference` against "
                  f"{redactor.text(target)}: every answer is recorded as the reference {redactor.text(reference)} "
                  f"gave it; the target's last answer differed ([{failure.rule}]).")
    renamed = _renaming(failure.steps, profile).substitute
    answers: list[tuple[int, Any]] = []
    for step in failure.steps:
        expected = step.expected_status is not None  # the last, or a known rule broken on the way
        status = step.expected_status if expected and step.expected_status is not None else step.status
        body = step.expected_body if expected and step.expected_body is not None else step.body
        if recorded is not None and body is not None:
            body = recorded(body, step.path)
        answers.append((status, renamed(body)))
    header: dict[str, Any] = {"meta": meta, "compare": _disputed(profile, [body for _, body in answers]),
                              "source": source}
    if version:
        header["api_version"] = version
    with CassetteWriter(path, name, header, mode="overwrite") as writer:
        for step, (status, body) in zip(failure.steps, answers):
            content = json.dumps(body).encode() if body is not None else step.content
            named = replace(step, path=renamed(step.path), form=renamed(step.form))
            writer.append(build_interaction(
                method=step.method, url_path=named.path, request_headers=_request_headers(step, api_key, profile,
                                                                                          version),
                request_content=_content(named), status=status, response_headers=_response_headers(step, body),
                response_content=content, redactor=redactor, profile=profile))
    return path
