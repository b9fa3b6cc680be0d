"""The serving addon, driven by mitmproxy's own test helpers."""

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
