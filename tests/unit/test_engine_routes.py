"""The route of one interaction, matched once and carried: the recorded route with the target's ids bound is the
route of the path as sent, and the checks read the routes an exchange carries."""

from __future__ import annotations

import re

import httpx
from hypothesis import given
from hypothesis import strategies as st

from conformance.api_profile import Judgement, RouteMatch
from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response
from conformance.checks import CheckState, Exchange
from conformance.checks.exchange import Routes
from conformance.replay import ReplayOptions, TargetClient, engine, replay_cassette
from conformance.replay.binding import IdBindings
from conformance.replay.request import Requests
from conformance.stripe import STRIPE

from ..conftest import examples

KEY = "sk_test_" + "EngineRoutes00"
JSON = {"Content-Type": "application/json"}


def _requests(bound: dict[str, str]) -> Requests:
    bindings = IdBindings(STRIPE.ids)
    for recorded, actual in bound.items():  # as an answer's own id binds them
        bindings.learn({"id": recorded}, {"id": actual})
    return Requests(TargetClient("http://fake.invalid", transport=httpx.MockTransport(lambda r: httpx.Response(500))),
                    ReplayOptions(api_key=KEY, profile=STRIPE), bindings)


def _path(template: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)


# recorded ids and what a target minted for them: a known kind, and an own id of no known kind (a UUID)
BOUND = {"cus_Recorded000001": "cus_Minted00000009", "card_Recorded00001": "card_Minted0000009",
         "7f3c2a9e-recorded-own-id": "0b1d-minted-uuid-4e5f"}
VALUES = [*BOUND, "cus_NeverBound0001", "card_NeverBound001", "tok_visa", "default"]


@examples(ci=100, deep=1000)
@given(st.data())
def test_the_recorded_route_with_bound_ids_is_the_route_of_the_sent_path(data):
    requests = _requests(BOUND)
    route = data.draw(st.sampled_from([r for r in STRIPE.routes if "{" in r.template]))
    names = re.findall(r"\{(\w+)\}", route.template)
    values = {name: data.draw(st.sampled_from(VALUES)) for name in names}
    recorded_path = _path(route.template, values)
    recorded = STRIPE.routes.match(route.method, recorded_path)
    sent_path = requests.bindings.text(recorded_path)
    assert requests.bound_route(recorded) == STRIPE.routes.match(route.method, sent_path)


def test_a_route_beyond_the_table_stays_none_and_nothing_bound_is_the_same_match():
    assert _requests(BOUND).bound_route(None) is None
    match = STRIPE.routes.match("GET", "/v1/customers/cus_Recorded000001/sources/card_Recorded00001")
    assert match is not None
    assert _requests({}).bound_route(match) is match
    assert _requests(BOUND).bound_route(match) == RouteMatch(match.route, {"customer": "cus_Minted00000009",
                                                                           "card": "card_Minted0000009"})


def test_the_checks_read_the_routes_an_exchange_carries_and_match_one_built_without_them():
    interaction = Interaction(Request("GET", "/v1/customers/cus_Recorded000001"), Response(200, JSON, None))
    state = CheckState(STRIPE)
    carried = Routes(None, None)  # what a caller matched, whatever the path says
    assert state.routes_of(Exchange(interaction, interaction.request.path, {}, 200, None, None, "", None,
                                    routes=carried)) is carried
    matched = state.routes_of(Exchange(interaction, "/v1/customers/cus_Minted00000009", {}, 200, None, None, "", None))
    assert matched.recorded is not None and matched.recorded.params == {"customer": "cus_Recorded000001"}
    assert matched.sent is not None and matched.sent.params == {"customer": "cus_Minted00000009"}


def test_a_replay_carries_the_routes_to_the_checks_with_the_targets_ids(tmp_path, monkeypatch):
    path = tmp_path / "routes.yaml"
    auth = {"Authorization": "Bearer [REDACTED:sk_test]"}
    customer = {"id": "cus_Recorded000001", "object": "customer"}
    with CassetteWriter(path, "routes") as writer:
        writer.append(Interaction(Request("POST", "/v1/customers", headers=auth), Response(200, JSON,
                                                                                         Body("json", customer))))
        writer.append(Interaction(Request("GET", "/v1/customers/cus_Recorded000001", headers=auth),
                                  Response(200, JSON, Body("json", customer))))
    judged: list[Exchange] = []

    def spy(exchange: Exchange, state: CheckState) -> Judgement:
        judged.append(exchange)
        return Judgement()

    monkeypatch.setattr(engine, "judge", spy)
    answer = {"id": "cus_Minted00000009", "object": "customer"}
    with TargetClient("http://fake.invalid", transport=httpx.MockTransport(lambda r: httpx.Response(200, json=answer))) \
            as client:
        replay_cassette(path, client, ReplayOptions(api_key=KEY, profile=STRIPE))
    create, retrieve = (exchange.routes for exchange in judged)
    assert create is not None and create.recorded is not None and create.recorded.name == "customers.create"
    assert retrieve is not None and retrieve.recorded is not None and retrieve.sent is not None
    assert (retrieve.recorded.params, retrieve.sent.params) == ({"customer": "cus_Recorded000001"},
                                                                {"customer": "cus_Minted00000009"})
    assert retrieve.sent == CheckState(STRIPE).routes_of(Exchange(judged[1].interaction, judged[1].path, {}, 200,
                                                                  None, None, "", None)).sent
