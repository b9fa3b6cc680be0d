"""The engine against a target in the same process: ``TargetClient(transport=httpx.MockTransport(...))``.

No socket is opened: what the replay sends and how it judges the answer, exchange by exchange.
"""

from __future__ import annotations

import json

import httpx
from hypothesis import given
from hypothesis import strategies as st

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response
from conformance.replay import ReplayOptions, TargetClient, replay_cassette
from conformance.stripe import STRIPE

from ..conftest import examples

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


def test_a_lone_surrogate_in_an_answer_is_read_as_a_replacement_character_and_noted():
    body = b'{"id": "cus_\\ud800", "pair": "\\ud83d\\ude00", "text": "\\\\ud800"}'

    def target(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body, headers=JSON)

    with TargetClient("http://fake.invalid", transport=httpx.MockTransport(target)) as client:
        answer = client.request("GET", "/v1/customers/cus_1", {})
    assert answer.json() == {"id": "cus_\ufffd", "pair": "\U0001f600", "text": "\\ud800"}
    assert answer.notes == ("the body holds 1 lone surrogate escape (\\ud800-\\udfff without its other half), which "
                            "is no Unicode text: read as U+FFFD",)


# Any text, halves of surrogate pairs mixed in (hypothesis leaves them out of text unless asked).
ANY_TEXT = st.lists(st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from(["\\", "\\u"])),
                    max_size=20).map("".join)


@examples(ci=100, deep=1000)
@given(ANY_TEXT, st.booleans())
def test_any_text_a_target_escapes_reads_back_as_unicode(text, ascii_only):
    """Whatever string a target writes (lone surrogates too, escaped backslashes before them), what is read can be
    written as UTF-8, and is the string itself where it was Unicode already."""
    from conformance.replay.transport import _whole_pairs

    try:
        raw = json.dumps({"id": text}, ensure_ascii=ascii_only).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate not escaped is not UTF-8 to send at all
        return
    content, notes = _whole_pairs(raw)
    read = json.loads(content)["id"]
    read.encode("utf-8")
    # as JSON reads it: a high half then a low one are one character, a half alone is none
    expected = text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    assert read == expected and bool(notes) == (expected.count("\ufffd") > text.count("\ufffd"))


def test_a_path_no_url_can_carry_is_an_httpx_error_not_a_crash():
    from conformance.replay.transport import RequestNotSent

    with TargetClient("http://fake.invalid", transport=httpx.MockTransport(lambda r: httpx.Response(200))) as client:
        try:
            client.request("GET", "/v1/customers/cus_" + "A" * 100_000, {})
        except httpx.HTTPError as error:
            assert isinstance(error, RequestNotSent) and "too long" in str(error)
        else:
            raise AssertionError("sent")


def test_an_id_longer_than_any_id_or_not_ascii_stays_unbound():
    from conformance.replay.binding import IdBindings

    bindings = IdBindings(STRIPE.ids)
    for actual in ("cus_" + "A" * 252, "cus_\ufffd", "cus_\U0001f600", "cus_a b", ""):
        bindings.learn({"id": "cus_Recorded0001"}, {"id": actual}, "x")
        assert bindings.actual == {}, actual
    bindings.learn({"id": "cus_Recorded0001"}, {"id": "cus_" + "A" * 251}, "x")  # 255: the longest an id may be
    assert bindings.actual == {"cus_Recorded0001": "cus_" + "A" * 251}
