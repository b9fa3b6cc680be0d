"""serve's retries and faults: the --fault grammar, which request a fault falls on, and the addon answering a
repeated idempotency key, a reused one and each fault (driven by mitmproxy's own test helpers)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from mitmproxy.test import taddons, tflow, tutils

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response
from conformance.cli.main import main
from conformance.serve.faults import Fault, FaultError, FaultPlan, parse_fault
from conformance.serve.session import GAVE_UP, NEW_KEY, NO_KEY, SAME_KEY, Session
from conformance_proxy.server import CassetteServer, serve_addons

ENDPOINTS = {"customers.create", "sources.create"}
CARD = {"id": "card_1", "object": "card", "last4": "4242"}
ATTACH = "/v1/customers/cus_1/sources"


@pytest.mark.parametrize(("text", "fault"), [
    ("drop-after@sources.create", Fault("drop-after", "sources.create")),
    ("429@*:3", Fault("429", "*", nth=3)),
    ("503@customers.create%12.5", Fault("503", "customers.create", percent=12.5)),
])
def test_a_fault_is_read_as_given(text, fault):
    assert parse_fault(text, ENDPOINTS) == fault


@pytest.mark.parametrize(("text", "said"), [
    ("418@*", "unknown kind '418'"), ("drop_after@*", "did you mean drop-after?"),
    ("429@sorces.create", "did you mean sources.create?"), ("429", "give KIND@ENDPOINT"),
    ("500@*%101", "%101 is no probability"), ("500@*%-1", "%-1 is no probability"), ("500@*%nan", "no probability"),
    ("drop@*:0", ":0 is no request number"), ("drop@*:x", ":x is no request number"),
])
def test_a_fault_that_cannot_be_injected_says_what_to_give(text, said):
    with pytest.raises(FaultError, match=said.replace("?", r"\?").replace("%", "%").replace("*", r"\*")):
        parse_fault(text, ENDPOINTS)


def test_the_nth_request_of_its_endpoint_gets_the_fault_and_a_new_session_counts_again():
    plan = FaultPlan((Fault("500", "sources.create", nth=2), Fault("429", "*")))
    picked = [plan.pick(endpoint) for endpoint in ("customers.create", "sources.create", "sources.create")]
    assert [str(fault) if fault else None for fault in picked] == ["429@*", None, "500@sources.create:2"]
    plan.restart()
    assert str(plan.pick("sources.create")) == "429@*"


def test_a_probability_is_drawn_from_the_seed():
    def draws(seed: int) -> list[bool]:
        plan = FaultPlan((Fault("503", "*", percent=50),), seed)
        return [plan.pick("customers.create") is not None for _ in range(40)]

    assert draws(7) == draws(7) and draws(7) != draws(8)
    assert 5 < sum(draws(7)) < 35
    assert not any(FaultPlan((Fault("503", "*", percent=0),)).pick("x") for _ in range(20))
    assert all(FaultPlan((Fault("503", "*", percent=100),)).pick("x") for _ in range(20))


def test_what_the_client_did_after_a_fault_is_named():
    from conformance.serve.session import Injected

    session = Session()
    session.injected = [Injected("drop@*", "POST /v1/customers", "POST", "k1", ("a",)),
                        Injected("drop@*", "POST /v1/customers", "POST", "k2", ("b",)),
                        Injected("drop@*", "POST /v1/customers", "POST", "k3", ("c",)),
                        Injected("drop@*", "POST /v1/customers", "POST", "k4", ("d",))]
    session.follow("k1", ("a",))
    session.follow("k9", ("b",))
    session.follow("", ("c",))
    then = [(fault["then"], fault["bug"]) for fault in session.summary(_empty_index())["faults"]]
    assert then == [(SAME_KEY, False), (NEW_KEY, True), (NO_KEY, True), (GAVE_UP, False)]


def _empty_index():
    from conformance.serve.matching import InteractionIndex

    return InteractionIndex()


# ------------------------------------------------------------------------ the addon
@pytest.fixture
def attach_cassette(tmp_path):
    """One attach answered 200, then the same attach answered 402 (a second card would be a second answer)."""
    path = tmp_path / "attach.yaml"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    with CassetteWriter(path) as writer:
        for status, body in ((400, {"error": {"type": "invalid_request_error"}}), (200, CARD),
                             (200, {**CARD, "id": "card_2"})):
            writer.append(Interaction(
                Request("POST", ATTACH, headers=form, body=Body("form", {"source": "tok_visa"})),
                Response(status, {"Content-Type": "application/json", "Request-Id": f"req_{status}"},
                         Body("json", body))))
    return path


def attach(addons, key: str, source: str = "tok_visa"):
    flow = tflow.tflow(req=tutils.treq(
        method=b"POST", path=ATTACH.encode(), content=f"source={source}".encode(),
        headers=[(b"content-type", b"application/x-www-form-urlencoded"), (b"idempotency-key", key.encode())]))
    flow.response = None
    for addon in addons:
        if hasattr(addon, "request"):
            addon.request(flow)
    return flow


def serving(path, **options):
    addons = serve_addons()
    server = next(addon for addon in addons if isinstance(addon, CassetteServer))
    return addons, server, dict(serve_cassettes=[str(path)], serve_reload=False,
                                mode=["reverse:http://127.0.0.1:9"], **options)


def test_a_repeated_key_gets_its_answer_again_marked_replayed_and_consumes_nothing(attach_cassette):
    addons, server, options = serving(attach_cassette)
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], **options)
        refused = attach(addons, "k1")  # a validation error is not saved: the same key executes again
        first, again = attach(addons, "k1"), attach(addons, "k1")
        other = attach(addons, "k1", source="tok_mastercard")
        fresh = attach(addons, "k2")
        summary = server.session.summary(server.index)
    assert refused.response.status_code == 400 and "idempotent-replayed" not in refused.response.headers
    assert first.response.json() == again.response.json() == CARD
    assert again.response.headers["Idempotent-Replayed"] == "true"
    assert again.response.headers["Original-Request"] == "req_200"
    assert again.response.headers["Request-Id"] not in ("req_200", "")
    assert "Idempotent-Replayed" not in first.response.headers
    assert other.response.status_code == 400 and other.response.json()["error"]["type"] == "idempotency_error"
    assert fresh.response.json()["id"] == "card_2"  # the second recorded attach, only under a new key
    assert summary["answered"] == 3 and summary["replayed"] == 1
    assert summary["idempotency_errors"][0]["why"].startswith("body: recorded has source=tok_visa")


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_a_status_fault_answers_instead_and_the_retry_gets_the_recorded_answer(attach_cassette, kind):
    addons, server, options = serving(attach_cassette, serve_faults=[f"{kind}@sources.create:2"])
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], **options)
        attach(addons, "k0")
        faulted, retried = attach(addons, "k1"), attach(addons, "k1")
        summary = server.session.summary(server.index)
    assert faulted.response.status_code == int(kind)
    assert json.loads(faulted.response.content)["error"]["type"] in ("api_error", "invalid_request_error")
    if kind == "429":
        assert faulted.response.headers["Stripe-Should-Retry"] == "true" and faulted.response.headers["Retry-After"]
    assert retried.response.json() == CARD and "Idempotent-Replayed" not in retried.response.headers
    assert summary["faults"] == [{"fault": f"{kind}@sources.create:2", "request": f"POST {ATTACH}",
                                  "then": SAME_KEY, "bug": False}]


def test_drop_closes_unanswered_and_drop_after_gives_the_answer_first(attach_cassette):
    addons, server, options = serving(attach_cassette, serve_faults=["drop@sources.create:2",
                                                                     "drop-after@sources.create:3"])
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], **options)
        attach(addons, "k0")
        dropped, given = attach(addons, "k1"), attach(addons, "k1")
        replayed = attach(addons, "k1")
        summary = server.session.summary(server.index)
    for flow in (dropped, given):
        assert flow.response is None and flow.error is not None  # killed: the connection closes unanswered
    assert replayed.response.json() == CARD and replayed.response.headers["Idempotent-Replayed"] == "true"
    assert summary["answered"] == 2 and summary["replayed"] == 1  # the 400, then the one card given
    assert [fault["then"] for fault in summary["faults"]] == [SAME_KEY, SAME_KEY]


def test_a_bad_fault_is_refused_by_the_addon_too(attach_cassette):
    from mitmproxy import exceptions

    addons, _, options = serving(attach_cassette, serve_faults=["429@nowhere.create"])
    with taddons.context(*addons) as tctx, pytest.raises(exceptions.OptionsError, match="unknown endpoint"):
        tctx.configure(addons[0], **options)


def test_serve_refuses_a_bad_fault_in_one_line(attach_cassette):
    result = CliRunner().invoke(main, ["serve", str(attach_cassette), "--fault", "429@*%200"])
    assert result.exit_code == 2 and result.output.strip().splitlines() == [
        "Error: --fault '429@*%200': %200 is no probability (give a percentage from 0 to 100)"]
