"""What `conformance explore` judges on targets like the public fakes, each case once a false positive or a
cassette that did not reproduce (issue 38's measurement on stripe-mock, stripe-stateful-mock and localstripe).

Each test explores the project's fake in this process (a thread on 127.0.0.1), as it is or changed the way a
public fake answers (a relay in front of it: a null fingerprint, a route it lacks, an accepted read-only
fingerprint kept), bounded by ``max_examples``, never by the clock. The failing cassettes are written as the
command writes them and replayed by ``run`` on the broken target and on the faithful fake.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import ThreadingHTTPServer
from pathlib import Path
from threading import Thread
from typing import Any

import pytest
import yaml

from conformance.checks.compare import CompareRules
from conformance.explore import ExploreOptions, ExploreResult, Failure, explore, write_failure
from conformance.redaction import Redactor
from conformance.replay import ReplayOptions
from conformance.replay.runner import run
from conformance.stripe import STRIPE
from conformance.stripe.explore import REFUSED_UPDATES, relied_on

from ..stripe_fake import Answer as FakeAnswer
from ..stripe_fake import FakeStripe, Handler, Store

# an answer as the relay hands it on: status, content type, body (JSON, or bytes as they are)
Answer = tuple[int, str, Any]
Change = Callable[[str, str, dict[str, Any], Answer], Answer]


@contextmanager
def relay(change: Change, deviation: str | None = None) -> Iterator[str]:
    """The fake (with ``deviation``) with its answers changed by ``change``, on 127.0.0.1: its URL."""
    store = Store()
    store.deviation = deviation

    class Changed(Handler):
        def _execute(self, path: str, params: dict[str, Any]) -> FakeAnswer:
            answer = super()._execute(path, params)
            kind = dict(answer.headers).get("Content-Type", "")
            try:
                body: Any = json.loads(answer.body)
            except ValueError:
                body = answer.body
            status, kind, body = change(self.command, self.path, params, (answer.status, kind, body))
            return FakeAnswer(status, (("Content-Type", kind),),
                              body if isinstance(body, bytes) else json.dumps(body).encode())

    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Bound", (Changed,), {"store": store}))
    server.daemon_threads = True
    thread = Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def explored(url: str, examples: int, failures: int = 0) -> ExploreResult:
    return explore(ExploreOptions(url, STRIPE.default_api_key, STRIPE.explorer(), seed=1, max_examples=examples,
                                  budget=300, max_failures=failures, version_header=STRIPE.headers.version,
                                  idempotency_header=STRIPE.headers.idempotency))


def rules(result: ExploreResult) -> list[str]:
    return [failure.rule for failure in result.failures]


def written(failure: Failure, tmp_path: Path) -> Path:
    """The failure's cassette, as ``conformance explore`` writes it."""
    return write_failure(failure, tmp_path, target="http://127.0.0.1", api_key=STRIPE.default_api_key,
                         profile=STRIPE, redactor=Redactor(cards=STRIPE.cards), recorded=STRIPE.explorer().recorded)


def replayed(cassette: Path, target: str) -> int:
    """``conformance run CASSETTE --target URL``'s exit code."""
    options = ReplayOptions(api_key=STRIPE.default_api_key, profile=STRIPE, rules=CompareRules())
    return run([cassette], target, options, timeout=10).exit_code


def as_is(method: str, path: str, form: dict[str, Any], answer: Answer) -> Answer:
    return answer


# -- F1: a null fingerprint is nullable, not a fingerprint that changed -------------------------------------------
def test_a_first_attach_with_a_null_fingerprint_breaks_no_rule():
    """stripe-mock answered `fingerprint: null` (spec3: nullable); explore said "fingerprint None, the same card
    number had None" on the first attach of that number."""
    def null_fingerprint(method: str, path: str, form: dict[str, Any], answer: Answer) -> Answer:
        status, kind, body = answer
        if isinstance(body, dict) and body.get("object") == "card":
            body["fingerprint"] = None
        return status, kind, body

    with relay(null_fingerprint) as url:
        result = explored(url, 20)  # the false card.fingerprint came by sequence 3 (seed 1, derandomized)
    assert result.failures == [], [f.message for f in result.failures]


# -- F2: an attach answering another object is `object`, and nothing is expected from it ---------------------------
def test_an_attach_answering_an_account_is_the_object_rule_and_its_id_is_never_expected(tmp_path):
    """stripe-mock answers a card attach with an `account`: explore tracked the acct_ id as the card and built
    expected values from it (a default source, a page of acct_ ids, the account's null expiry)."""
    with FakeStripe(deviation="cards-as-accounts") as target:
        result = explored(target, 50)  # `object`, or the bug's invariant.default_source: by sequence 3
        assert rules(result) == ["object"], [f.message for f in result.failures]
        (failure,) = result.failures
        assert "answers an account object, not a card" in failure.message
        cassette = written(failure, tmp_path)
        last = list(yaml.safe_load_all(cassette.read_text()))[-1]["response"]
        assert last["json"]["object"] == "card" and "acct_" not in json.dumps(last["json"])
        assert replayed(cassette, target) == 1
    with FakeStripe() as faithful:
        assert replayed(cassette, faithful) == 0


# -- F3: a corrected retry failing for its own reason does not break idempotency.validation ------------------------
def _refuse_every_update(method: str, path: str, form: dict[str, Any], answer: Answer) -> Answer:
    """Every card update refused alike, whatever its key: the corrected retry fails because the request does."""
    if method == "POST" and path.count("/") == 5:
        return 400, "application/json", {"error": {"type": "invalid_request_error", "code": "parameter_unknown",
                                                   "message": "updates are not supported"}}
    return answer


def test_a_corrected_retry_that_fails_under_a_fresh_key_too_is_not_idempotency_validation():
    with relay(_refuse_every_update) as url:
        result = explored(url, 200)
    assert "idempotency.validation" not in rules(result), [f.message for f in result.failures]
    assert "status" in rules(result), [f.message for f in result.failures]


def test_a_saved_validation_error_is_idempotency_validation_and_its_cassette_ends_at_the_retry(tmp_path):
    """saves-every-answer (stripe-stateful-mock's): the refused update's 400 is saved under its key, so the
    corrected retry is answered it again, while the same request under a fresh key is executed."""
    with FakeStripe(deviation="saves-every-answer") as target:
        result = explored(target, 400, failures=1)
        assert rules(result) == ["idempotency.validation"], [f.message for f in result.failures]
        (failure,) = result.failures
        assert "under a fresh key" in failure.message or "instead of executed" in failure.message
        last = failure.steps[-1]
        assert last.key and last.key == failure.steps[-2].key and last.expected_status == 200
        cassette = written(failure, tmp_path)
        assert replayed(cassette, target) == 1
    with FakeStripe() as faithful:
        assert replayed(cassette, faithful) == 0


# -- D-a: a cassette records what the model relied on, so it passes on a faithful target ----------------------------
def test_a_cassette_from_a_target_with_other_keys_and_values_passes_on_the_faithful_fake(tmp_path):
    """The broken target also answers a key the faithful fake lacks (display_brand) and "" for a null: recorded
    as it gave them, every cassette failed on a faithful target at its first card."""
    deviation = "update-ignores-name,extra-field,empty-string-for-null"
    with FakeStripe(deviation=deviation) as target:
        result = explored(target, 400, failures=1)
        assert rules(result) == ["card.attributes"], [f.message for f in result.failures]
        cassette = written(result.failures[0], tmp_path)
        assert replayed(cassette, target) == 1
    assert "display_brand" not in cassette.read_text()
    with FakeStripe() as faithful:
        assert replayed(cassette, faithful) == 0


def _like_localstripe(method: str, path: str, form: dict[str, Any], answer: Answer) -> Answer:
    """localstripe's customer carries its sources unexpanded, and a card's delete answers the customer."""
    status, kind, body = answer
    if method == "DELETE" and isinstance(body, dict) and body.get("deleted") is True:
        customer = path.split("/")[3]
        body = {"id": customer, "object": "customer", "default_source": None, "sources": {
            "object": "list", "data": [], "has_more": False, "url": f"/v1/customers/{customer}/sources"}}
    elif isinstance(body, dict) and body.get("object") == "customer" and "sources" not in body:
        body["sources"] = {"object": "list", "data": [], "has_more": False, "url": "/v1/customers/x/sources"}
    return status, kind, body


def test_cassettes_past_a_known_deviation_and_unexpanded_sources_pass_on_the_faithful_fake(tmp_path):
    """localstripe: once `invariant.deleted` was known, a later sequence through a delete recorded the customer
    it answered, and every customer its unexpanded sources: no such cassette passed on a faithful target."""
    with relay(_like_localstripe, "deleted-updatable") as url:
        result = explored(url, 400, failures=2)
        assert rules(result) == ["invariant.deleted", "card.deleted_unchangeable"], [f.message for f in result.failures]
        cassettes = [written(failure, tmp_path) for failure in result.failures]
        assert [replayed(cassette, url) for cassette in cassettes] == [1, 1]
    with FakeStripe() as faithful:
        assert [replayed(cassette, faithful) for cassette in cassettes] == [0, 0]


def test_what_a_cassette_keeps_of_an_answer_is_what_the_rules_read():
    card = {"id": "card_1", "object": "card", "brand": "Visa", "display_brand": "visa", "exp_month": 8,
            "metadata": {"order_id": "6735"}, "fingerprint": "abc", "customer": {"id": "cus_1", "object": "customer",
                                                                                   "balance": 0}}
    assert relied_on(card) == {"id": "card_1", "object": "card", "exp_month": 8, "metadata": {"order_id": "6735"},
                               "fingerprint": "abc", "customer": {"id": "cus_1", "object": "customer"}}
    page = {"object": "list", "data": [card], "has_more": False, "url": "/v1/x", "total_count": 1}
    assert relied_on(page) == {"object": "list", "data": [relied_on(card)], "has_more": False, "url": "/v1/x"}
    error = {"error": {"type": "card_error", "code": "x", "param": "exp_month", "message": "m", "doc_url": "u"}}
    assert relied_on(error) == {"error": {"type": "card_error", "code": "x", "param": "exp_month", "message": "m"}}
    assert relied_on({"id": "card_1", "object": "card", "deleted": True, "x": 1}) == {
        "id": "card_1", "object": "card", "deleted": True}


# -- D-b, D-c: a route the target lacks is route.missing, once a route, and the rest is still explored -----------------
def test_each_missing_route_is_told_once_and_the_rest_of_the_api_is_still_explored(tmp_path):
    """no-cards-routes answers a text/plain 404 for every /cards route (localstripe's aiohttp): that was told as
    request.read_only, invariant.list, card.other_customer… "got 404 without a code", and once `status` was known
    every other missing route was silent. The metadata deviation is only seen through /sources."""
    with FakeStripe(deviation="no-cards-routes,metadata-replaced") as target:
        result = explored(target, 500)
        assert set(rules(result)) == {"route.missing", "card.metadata"}, [f.message for f in result.failures]
        keys = sorted(failure.key for failure in result.failures)
        assert len(keys) == len(set(keys))
        assert "route.missing GET /v1/customers/:customer/cards" in keys
        assert "route.missing POST /v1/customers/:customer/cards/:card" in keys
        missing = next(f for f in result.failures if f.rule == "route.missing")
        cassette = written(missing, tmp_path)
        last = list(yaml.safe_load_all(cassette.read_text()))[-1]["response"]
        assert "json" in last and last["headers"].get("Content-Type") == "application/json", last
        assert replayed(cassette, target) == 1  # recorded as text, run said "conforms" on the very target
    with FakeStripe() as faithful:
        assert replayed(cassette, faithful) == 0


# -- D-d: has_more is judged whatever the order, and a customer's expanded sources can show it -------------------------
def test_has_more_of_the_expanded_sources_is_found_beside_a_wrong_order():
    """stripe-stateful-mock: its expanded sources list every card, oldest first, has_more false."""
    with FakeStripe(deviation="oldest-first,expanded-sources-unpaged") as target:
        result = explored(target, 300)
    messages = [f.message for f in result.failures]
    assert "list.order" in rules(result), messages
    assert any(f.rule == "invariant.list" and "has_more false, but more cards follow" in f.message
               for f in result.failures), messages


# -- D-e: the read-only fingerprint sent is no card number ----------------------------------------------------------
def test_the_read_only_values_sent_are_no_card_numbers():
    redactor = Redactor(cards=STRIPE.cards)
    for _, form, _ in REFUSED_UPDATES:
        for value in form.values():
            assert redactor.text(str(value)) == str(value)


# -- D-f: a refusal the target did not make ends the sequence ----------------------------------------------------------
def test_an_accepted_impossible_expiry_is_told_once_not_again_as_the_card_s_attributes():
    """expiry-unchecked keeps exp_month=13: the model, which refused it, then read the card as "not as the last
    update set"."""
    with FakeStripe(deviation="expiry-unchecked") as target:
        result = explored(target, 200)
    assert rules(result) == ["request.invalid_expiry"], [f.message for f in result.failures]


def test_an_accepted_read_only_fingerprint_is_told_once_not_again_as_the_card_s_fingerprint():
    """localstripe takes `fingerprint=…` on an update and keeps it."""
    kept: dict[str, str] = {}

    def keeps_fingerprint(method: str, path: str, form: dict[str, Any], answer: Answer) -> Answer:
        status, kind, body = answer
        card = path.split("?")[0].rstrip("/").split("/")[-1]
        if method == "POST" and "fingerprint" in form and status == 200:
            kept[card] = form["fingerprint"]
        for item in (body.get("data") or []) if isinstance(body, dict) and body.get("object") == "list" else [body]:
            if isinstance(item, dict) and item.get("id") in kept:
                item["fingerprint"] = kept[item["id"]]
        return status, kind, body

    with relay(keeps_fingerprint, "read-only-accepted") as url:
        result = explored(url, 250)
    assert "request.read_only" in rules(result), [f.message for f in result.failures]
    assert "card.fingerprint" not in rules(result), [f.message for f in result.failures]


# -- D-g: a value and its JSON type ------------------------------------------------------------------------------------
def test_a_value_of_another_json_type_is_said_with_its_type():
    """localstripe keeps an expiry as the text "12": the message said "exp_month=12 … (exp_month=12)". The card's
    type is invariant.card, as run names it on every card answer."""
    with FakeStripe(deviation="integer-as-string") as target:
        result = explored(target, 300, failures=1)
    (failure,) = result.failures
    assert failure.rule == "invariant.card"
    assert 'exp_month: expected integer, got "12"' in failure.message, failure.message


# -- issue 38, round 4: past a non-card attach, the stateless rules still judge ---------------------------------------
STAND_IN_TRUE = {"object", "request.invalid_expiry", "request.read_only", "request.unknown_parameter",
                 "invariant.default_source", "invariant.deleted", "idempotency.replay"}
STAND_IN_FAKE = "attach-answers-account,stateless,executes-repeats"  # stripe-mock's ways


@pytest.fixture(scope="module")
def stand_in() -> Iterator[tuple[str, ExploreResult]]:
    """stripe-mock's ways explored once (600 sequences) for the tests below, which each read the same result; the
    fake stays up so the failing cassettes replay on it."""
    with FakeStripe(deviation=STAND_IN_FAKE) as target:
        yield target, explored(target, 600)


def test_past_an_attach_answering_an_account_exploring_goes_on_and_finds_the_stateless_deviations(
        tmp_path: Path, stand_in: tuple[str, ExploreResult]):
    """stripe-mock answers an attach with an `account` and keeps nothing: every sequence ended there, so its
    accepted exp_month=13 was never seen. `object` is told once, the account's id is then the card's handle, and
    what the fake really breaks is found — nothing it does not (its lists, a deleted card, another customer's
    card depend on what it kept of a card it never made: not judged). Every cassette names the handle as a card
    (the attach recorded as the card it should have been, a retry's repeat as that card again), so it passes on
    the faithful fake."""
    target, result = stand_in
    found = rules(result)
    assert {"object", "request.invalid_expiry"} <= set(found) <= STAND_IN_TRUE, [f.message for f in
                                                                                 result.failures]
    assert found.count("object") == 1
    cassettes = [written(failure, tmp_path) for failure in result.failures]
    expiry = cassettes[found.index("request.invalid_expiry")]
    assert "acct_" not in expiry.read_text().split("interactions", 1)[-1]  # the handle named as a card
    assert [replayed(cassette, target) for cassette in cassettes] == [1] * len(cassettes)
    with FakeStripe() as faithful:
        assert [replayed(cassette, faithful) for cassette in cassettes] == [0] * len(cassettes), found


def test_a_default_source_left_null_by_an_attach_answering_another_object_is_found(
        stand_in: tuple[str, ExploreResult]):
    """stripe-mock's `default_source` is always null: a 200 attach made something the customer's default."""
    _, result = stand_in
    assert any(f.rule == "invariant.default_source" and "the object its attach answered" in f.message
               for f in result.failures), [f.message for f in result.failures]


def _refuse_limit(method: str, path: str, form: dict[str, Any], answer: Answer) -> Answer:
    """localstripe refuses `limit` on a customer's sources (400 "Unexpected limit")."""
    if method == "GET" and "limit=" in path and "/sources" in path:
        return 400, "application/json", {"error": {"type": "invalid_request_error", "message": "Unexpected limit"}}
    return answer


def test_a_retried_attach_listed_twice_is_idempotency_replay_where_limit_is_refused(tmp_path):
    """localstripe re-attaches the token of a retried attach: the same card twice in the customer's list. Explore
    read it back with `limit=100`, which localstripe refuses (a `status` finding, then every read-back ended
    there), and looked only for cards no answer named, not for one listed twice."""
    with relay(_refuse_limit, "relists-repeats") as url:
        result = explored(url, 200)  # seed 1, derandomized: idempotency.replay is told by sequence 66
        assert "idempotency.replay" in rules(result), [f.message for f in result.failures]
        replay = next(f for f in result.failures if f.rule == "idempotency.replay")
        assert "2 times (the same card attached again)" in replay.message, replay.message
        cassette = written(replay, tmp_path)
        assert replayed(cassette, url) == 1
    with FakeStripe() as faithful:
        assert replayed(cassette, faithful) == 0


def test_the_default_after_a_stand_in_was_deleted_is_not_judged():
    """A fake that keeps the card it answers as an account, and deletes nothing (a delete answering an account):
    its default stays the card. Explore deleted the stand-in in its model and expected null: what a delete of an
    object the target never showed as a card left as the default depends on what the target kept."""
    with FakeStripe(deviation="cards-as-accounts,stateless") as target:
        result = explored(target, 500)
    found = rules(result)
    assert "invariant.default_source" not in found, [f.message for f in result.failures]
    assert {"object", "invariant.deleted", "request.invalid_expiry"} <= set(found) <= STAND_IN_TRUE, found


def out_of_bounds(answer: Callable[[Answer], Answer]) -> Change:
    """A list's `limit` 0 or 101 answered by ``answer`` (the fake's own refusal handed in)."""
    def change(method: str, path: str, params: dict[str, Any], given: Answer) -> Answer:
        limit = path.partition("limit=")[2].partition("&")[0]
        return answer(given) if method == "GET" and limit in ("0", "101") else given
    return change


def with_error(status: int, **error: Any) -> Callable[[Answer], Answer]:
    return lambda given: (status, "application/json", {"error": {"message": "limit out of bounds", **error}})


def test_a_limit_out_of_bounds_refused_with_any_code_of_the_documented_type_conforms():
    """The API reference documents `limit` 1-100, not the code a refusal carries: parameter_invalid_integer is the
    test fake's (the profile's loose codes), so another code breaks no rule."""
    change = out_of_bounds(with_error(400, type="invalid_request_error", code="parameter_out_of_range",
                                      param="limit"))
    with relay(change) as url:
        result = explored(url, 120)
    assert result.failures == [], [failure.message for failure in result.failures]


@pytest.mark.parametrize(("status", "error", "said"), [
    (400, {"type": "invalid_request_error"}, "no code"),
    (400, {"type": "api_error", "code": "parameter_invalid_integer"}, "api_error"),
    (500, {"type": "invalid_request_error", "code": "parameter_invalid_integer"}, "got 500"),
])
def test_a_limit_out_of_bounds_refused_without_a_code_or_of_another_type_or_status_is_still_found(
        status: int, error: dict[str, Any], said: str):
    with relay(out_of_bounds(with_error(status, **error))) as url:
        result = explored(url, 120, failures=1)
    assert rules(result) == ["invariant.list"] and said in result.failures[0].message, result.failures
