"""The serving addon, driven by mitmproxy's own test helpers."""

from mitmproxy import http
from mitmproxy.test import taddons, tflow, tutils

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response
from conformance_proxy.server import CassetteServer, OfflineGuard, serve_addons


def serving():
    """The addons as mitmdump loads them, and the one that answers."""
    addons = serve_addons()
    return addons, next(addon for addon in addons if isinstance(addon, CassetteServer))


def serving_only():
    return serving()[0]


def request(addons, flow) -> None:
    """The request hook of every addon, in order, as mitmproxy runs it."""
    for addon in addons:
        if hasattr(addon, "request"):
            addon.request(flow)


def done(addons) -> None:
    for addon in addons:
        if hasattr(addon, "done"):
            addon.done()


def test_each_answer_is_a_response_of_its_own(tmp_path):
    path = tmp_path / "cards.yaml"
    card = {"id": "card_1", "object": "card", "last4": "4242"}
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1/cards/card_1"),
                                  Response(200, {"Content-Type": "application/json"}, Body("json", card))))
    addons = serving_only()
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False,
                       mode=["reverse:http://127.0.0.1:9"])
        answers = []
        for _ in range(2):
            flow = tflow.tflow(req=tutils.treq(method=b"GET", path=b"/v1/customers/cus_1/cards/card_1", content=b""))
            request(addons, flow)
            answers.append(flow.response)
        first, second = answers
        first.headers["X-Added-Later"] = "1"  # what another addon might do to one answer...
        first.content = b"{}"
        assert "X-Added-Later" not in second.headers  # ...leaves the next one as recorded
        for answer in (second, first):
            assert answer.status_code == 200 and answer.headers["Content-Type"] == "application/json"
        assert second.json() == card
        assert second.headers["Content-Length"] == str(len(second.raw_content))
        assert second.timestamp_start is not None and second.timestamp_end >= second.timestamp_start
        done(addons)


def test_a_recorded_content_encoding_is_applied_to_the_answer(tmp_path):
    import gzip
    import json

    path = tmp_path / "gzip.yaml"
    card = {"id": "card_1", "object": "card"}
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1/cards/card_1"), Response(
            200, {"Content-Type": "application/json", "Content-Encoding": "gzip"}, Body("json", card))))
    addons = serving_only()
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False,
                       mode=["reverse:http://127.0.0.1:9"])
        flow = tflow.tflow(req=tutils.treq(method=b"GET", path=b"/v1/customers/cus_1/cards/card_1", content=b""))
        request(addons, flow)
        done(addons)
    answer = flow.response
    assert json.loads(gzip.decompress(answer.raw_content)) == card
    assert answer.headers["Content-Length"] == str(len(answer.raw_content))


def test_whatever_breaks_while_answering_is_a_miss_never_a_pass_through(tmp_path, capsys):
    path = tmp_path / "one.yaml"
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"), Response(200)))
    addons, server = serving()
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False,
                       mode=["reverse:http://127.0.0.1:9"])

        def broken(*args: object, **kwargs: object) -> None:
            raise RuntimeError("an addon bug")

        server.index.take = broken  # type: ignore[method-assign]
        flow = tflow.tflow(req=tutils.treq(method=b"GET", path=b"/v1/customers/cus_1?key=sk_test_" + b"1" * 24,
                                           content=b""))
        flow.response = None
        request(addons, flow)
        done(addons)
    assert flow.response is not None and flow.response.status_code == 599
    assert b"cannot match GET /v1/customers/cus_1: RuntimeError: an addon bug" in flow.response.content
    printed = capsys.readouterr().out
    assert "MISS GET /v1/customers/cus_1: cannot match this request" in printed
    assert "sk_test_1" not in printed + flow.response.get_text()


def test_the_server_never_lets_mitmproxy_connect_upstream():
    from mitmproxy.proxy import server_hooks
    from mitmproxy.test import tflow as test_flows

    guard = OfflineGuard(CassetteServer())
    data = server_hooks.ServerConnectionHookData(server=test_flows.tserver_conn(), client=test_flows.tclient_conn())
    guard.server_connect(data)
    assert data.server.error == "card-conformance serve never connects upstream"


def test_forward_mode_answers_only_the_hosts_its_cassettes_came_from(tmp_path):
    path = tmp_path / "one.yaml"
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"), Response(200)))
    addons = serving_only()
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False, mode=["regular"])
        answers = {}
        for host in ("api.stripe.com", "api.openai.com"):
            flow = tflow.tflow(req=tutils.treq(method=b"GET", host=host, port=443, scheme=b"https",
                                               path=b"/v1/customers/cus_1", content=b""))
            flow.response = None
            request(addons, flow)
            answers[host] = flow.response
        done(addons)
    assert answers["api.stripe.com"].status_code == 200
    assert answers["api.openai.com"].status_code == 599
    assert b"no cassette was recorded from api.openai.com (they are from api.stripe.com)" in answers[
        "api.openai.com"].content


def test_what_the_official_sdks_draw_anew_per_request_is_never_matched(tmp_path):
    """stripe-python and stripe-node send a fresh Idempotency-Key on each POST, their version and platform in
    User-Agent and X-Stripe-Client-User-Agent, and the previous request's id and duration in
    X-Stripe-Client-Telemetry; a multipart upload draws a new boundary. None of it decides the answer."""
    path = tmp_path / "one.yaml"
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("POST", "/v1/customers", {}, {"Content-Type":
                                          "application/x-www-form-urlencoded"}, Body("form", {"name": "Jenny"})),
                                  Response(200, {"Content-Type": "application/json"},
                                           Body("json", {"id": "cus_1", "object": "customer"}))))
    addons, server = serving()
    answers = []
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False, serve_exhausted="repeat",
                       mode=["reverse:http://127.0.0.1:9"])
        for run in range(2):
            headers = {
                "Idempotency-Key": f"{run}9b1c6d2-7f3e-4d5a-9c8b-1e2f3a4b5c6d",
                "User-Agent": f"Stripe/v1 PythonBindings/1{run}.3.1",
                "X-Stripe-Client-User-Agent": f'{{"bindings_version": "1{run}.3.1", "uname": "Linux host{run}"}}',
                "X-Stripe-Client-Telemetry": f'{{"last_request_metrics": {{"request_id": "req_{run}abc", '
                                             f'"request_duration_ms": {17 + run}}}}}',
                "Content-Type": "application/x-www-form-urlencoded",
            }
            flow = tflow.tflow(req=tutils.treq(method=b"POST", path=b"/v1/customers", content=b"name=Jenny",
                                               headers=http.Headers([(k.encode(), v.encode())
                                                                     for k, v in headers.items()])))
            flow.response = None
            request(addons, flow)
            answers.append(flow.response)
        summary = server.end_session()
        done(addons)
    assert [answer.status_code for answer in answers] == [200, 200]
    assert summary["misses"] == [] and summary["answered"] == 2


def test_a_miss_with_nothing_near_says_so_before_its_far_candidate(tmp_path, capsys):
    """stripe-python's reachability probe `GET /` once read as a near miss of an account's external account."""
    path = tmp_path / "two.yaml"
    with CassetteWriter(path) as writer:
        writer.append(Interaction(Request("GET", "/v1/accounts/acct_1/external_accounts/ba_1"), Response(200)))
        writer.append(Interaction(Request("GET", "/v1/customers/cus_1"), Response(200)))
    addons = serving_only()
    with taddons.context(*addons) as tctx:
        tctx.configure(addons[0], serve_cassettes=[str(path)], serve_reload=False,
                       mode=["reverse:http://127.0.0.1:9"])
        for target in (b"/", b"/v2/core/events", b"/v1/customers/cus_2"):
            flow = tflow.tflow(req=tutils.treq(method=b"GET", path=target, content=b""))
            flow.response = None
            request(addons, flow)
        done(addons)
    printed = capsys.readouterr().out
    assert "MISS GET /; nothing is recorded at /; closest: " in printed
    assert "MISS GET /v2/core/events; nothing is recorded under /v2; closest: " in printed
    # near: the customer with another id, not the first recorded interaction
    assert "MISS GET /v1/customers/cus_2; closest: GET /v1/customers/cus_1 (path: " in printed
