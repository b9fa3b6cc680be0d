"""Root causes of a target that answers one same thing to every request, and of rules kept or broken as a whole
(issue 39): one cause, not one per interaction, endpoint or probe."""

from __future__ import annotations

import json

from conformance.findings import CassetteResult, Finding, InteractionResult, RunResult
from conformance.report.causes import root_causes
from conformance.report.json_report import from_json, to_json
from conformance.stripe import STRIPE  # noqa: F401  (registers the idempotency rules)

ENDPOINTS = (("customers.create", 200), ("sources.create", 200), ("cards.update", 200), ("cards.list", 404),
             ("cards.delete", 200))


def _run(answers: list[tuple[str, int, int, object, list[Finding]]]) -> RunResult:
    """(endpoint, recorded status, actual status, actual body, findings) per interaction, in one cassette."""
    cassette = CassetteResult("c.yaml", "c")
    for index, (endpoint, recorded, actual, body, findings) in enumerate(answers, 1):
        interaction = InteractionResult(index, endpoint, "POST", "/v1/x", recorded, actual_status=actual,
                                        findings=findings, actual_body=body)
        cassette.interactions.append(interaction)
    return RunResult("http://127.0.0.1:1", [cassette])


def _status(recorded: int, actual: int) -> Finding:
    return Finding("status", "", f"status: expected {recorded}, got {actual} (boom)", recorded, actual)


def _five_hundreds() -> RunResult:
    body = {"error": {"type": "api_error", "message": "boom"}}
    return _run([(endpoint, recorded, 500, body,
                  [_status(recorded, 500), Finding("keys.missing", "error.code", "missing", "x", None)])
                 for endpoint, recorded in ENDPOINTS])


def test_a_target_answering_500_to_every_request_is_one_cause():
    (cause,) = root_causes(_five_hundreds())
    assert cause.message.startswith("the target answers 500 to every request")
    assert cause.count == len(ENDPOINTS) and cause.symptoms == 2 * len(ENDPOINTS)
    assert cause.endpoints == [endpoint for endpoint, _ in ENDPOINTS]


def test_the_report_read_back_gives_the_same_one_cause():
    data = json.loads(json.dumps(to_json(_five_hundreds()), default=str))
    (cause,) = root_causes(from_json(data))  # the report's one reader, the writer's inverse
    assert cause.message.startswith("the target answers 500 to every request")


def test_one_answer_that_differs_keeps_the_causes_apart():
    run = _five_hundreds()
    run.cassettes[0].interactions[0].actual_status = 502
    assert len(root_causes(run)) > 1


def test_one_same_error_body_on_several_endpoints_is_one_cause_but_different_errors_are_not():
    body = {"error": {"type": "invalid_request_error", "message": "no"}}
    same = _run([(endpoint, 200, 400, body, [_status(200, 400)]) for endpoint, _ in ENDPOINTS])
    (cause,) = root_causes(same)
    assert cause.message.startswith("the target answers 400 ")
    varied = _run([(endpoint, 200, 400, {"error": {"message": endpoint}}, [_status(200, 400)])
                   for endpoint, _ in ENDPOINTS])
    assert len(root_causes(varied)) == len(ENDPOINTS)


def test_the_same_answer_to_requests_of_one_endpoint_is_no_uniform_cause():
    """Two retrieves of one card answered alike with a key missing: that key is the problem, not 'every request'."""
    card = {"id": "card_1", "object": "card"}
    run = _run([("cards.retrieve", 200, 200, card, [Finding("keys.missing", "brand", "missing", "Visa", None)])] * 2)
    (cause,) = root_causes(run)
    assert cause.rule == "keys.missing" and "every request" not in cause.message


def test_an_idempotency_rule_broken_on_several_endpoints_is_one_cause():
    made = [(endpoint, 200, 200, {"id": endpoint}, [Finding("idempotency.replay", "", f"{endpoint} made another object",
                                                       200, 200)]) for endpoint, _ in ENDPOINTS[:3]]
    (cause,) = root_causes(_run(made))
    assert cause.rule == "idempotency.replay" and cause.endpoints == [e for e, _ in ENDPOINTS[:3]]
    assert "makes no second object: not so here" in cause.message
