"""The engine against a target in the same process: ``TargetClient(transport=httpx.MockTransport(...))``.

No socket is opened: what the replay sends and how it judges the answer, exchange by exchange.
"""

from __future__ import annotations

import json

import httpx

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response
from conformance.replay import ReplayOptions, TargetClient, replay_cassette
from conformance.stripe import STRIPE

KEY = "sk_test_" + "MockTransport00"
JSON = {"Content-Type": "application/json"}


def cassette(tmp_path):
    path = tmp_path / "delete.yaml"
    auth = {"Authorization": "Bearer [REDACTED:sk_test]", "Stripe-Version": "2023-08-16"}
    with CassetteWriter(path, "delete") as writer:
        writer.append(Interaction(Request("POST", "/v1/customers", headers={**auth,
                                          "Content-Type": "application/x-www-form-urlencoded"},
                                          body=Body("form", {"email": "a@example.com"})),
                                  Response(200, JSON, Body("json", {"id": "cus_Recorded1", "object": "customer"}))))
        writer.append(Interaction(Request("DELETE", "/v1/customers/cus_Recorded1/sources/card_Recorded1", headers=auth),
                                  Response(200, JSON, Body("json", {"id": "card_Recorded1", "object": "card",
                                                                    "deleted": True}))))
    return path


def test_the_replay_sends_the_recorded_request_with_the_targets_ids_and_judges_the_answer(tmp_path):
    seen: list[httpx.Request] = []

    def target(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.method == "POST":
            return httpx.Response(200, json={"id": "cus_Minted9", "object": "customer"})
        return httpx.Response(200, json={"id": "card_Recorded1", "object": "card", "deleted": False})

    with TargetClient("http://fake.invalid", transport=httpx.MockTransport(target)) as client:
        result = replay_cassette(cassette(tmp_path), client, ReplayOptions(api_key=KEY, profile=STRIPE))
    create, delete = seen
    assert create.headers["Authorization"] == f"Bearer {KEY}" and create.headers["Stripe-Version"] == "2023-08-16"
    assert create.content == b"email=a%40example.com" and create.headers["User-Agent"].startswith("card-conformance/")
    assert delete.url.path == "/v1/customers/cus_Minted9/sources/card_Recorded1"  # the customer the target minted
    first, second = result.interactions
    assert first.findings == [] and first.curl is None
    assert [(f.rule, f.path) for f in second.findings] == [("invariant.deleted", "deleted")]
    assert second.curl == ('curl -X DELETE http://fake.invalid/v1/customers/cus_Minted9/sources/card_Recorded1 '
                           "-H 'Stripe-Version: 2023-08-16' -H \"Authorization: Bearer $STRIPE_API_KEY\"")
    assert KEY not in json.dumps([f.to_dict() for f in second.findings]) + second.curl


def test_a_transport_error_is_a_finding_of_its_exchange_and_the_replay_goes_on(tmp_path):
    def target(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with TargetClient("http://fake.invalid", transport=httpx.MockTransport(target)) as client:
        result = replay_cassette(cassette(tmp_path), client, ReplayOptions(api_key=KEY, profile=STRIPE))
    assert [i.findings[0].rule for i in result.interactions] == ["target.connection", "target.connection"]
    assert all(i.curl and i.curl.startswith("curl -X ") for i in result.interactions)
