"""`conformance explore --reference`: the same generated sequences sent to a faithful reference and to the
candidate; the candidate's answers compared by run's comparison, the failing cassette recorded from the
reference, so `run` reproduces the difference on the candidate and passes on a faithful target."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main

from ..stripe_fake import Answer, Handler, Store

pytestmark = pytest.mark.integration

FAKE = f"{sys.executable} -m tests.stripe_fake --port {{port}}"


def explore(tmp_path: Path, candidate: str, *extra: str) -> tuple[int, str, dict]:
    report = tmp_path / "explore.json"
    result = CliRunner().invoke(main, ["explore", "--target-cmd", candidate, "--reference-cmd", FAKE, "--seed", "1",
                                       "--out", str(tmp_path / "out"), "--json-report", str(report),
                                       "--budget", "60", *extra], env={"CONFORMANCE_CACHE": "0"})
    return result.exit_code, result.output, json.loads(report.read_text()) if report.exists() else {}


def test_a_candidate_that_differs_from_the_reference_is_found_and_recorded_from_the_reference(tmp_path):
    broken = FAKE + " --deviation update-ignores-name"  # an update's name is not kept
    code, output, data = explore(tmp_path, broken, "--max-examples", "500", "--max-failures", "1")
    assert code == 1, output
    (failure,) = data["failures"]
    assert failure["steps"] <= 8, output
    cassette = Path(failure["cassette"])
    header = next(yaml.safe_load_all(cassette.read_text()))
    assert header["meta"]["reference"] and "reference" in header["source"]
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target-cmd", broken])
    assert replayed.exit_code == 1, replayed.output
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target-cmd", FAKE])
    assert replayed.exit_code == 0, replayed.output


def test_a_candidate_alike_to_the_reference_differs_in_nothing(tmp_path):
    code, output, data = explore(tmp_path, FAKE, "--max-examples", "100")
    assert code == 0, output
    assert data["sequences"] >= 100 and data["failures"] == [] and data["reference"], output


def test_two_references_are_refused_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["explore", "--target-cmd", FAKE, "--reference", "http://127.0.0.1:9",
                                       "--reference-cmd", FAKE])
    assert result.exit_code == 2 and "--reference" in result.output and "Traceback" not in result.output


# --- a candidate minting ids of another kind (issue 38's F5), what sources disagree on (F4) -----------------------
# The reference and the candidate run in this process, each a thread of the test fake's own server, so the test
# sees every request each was sent.

class Logged(Handler):
    """The test fake's handler, noting every request (method, path with query, parameters) it is sent, and its
    answers changed by ``answer`` (the fake's otherwise)."""

    sent: list[str]

    def _execute(self, path: str, params: dict[str, Any]) -> Answer:
        self.sent.append(f"{self.command} {self.path} {json.dumps(params)}")
        answer = super()._execute(self.request_path(path), params)
        if not answer.body.startswith(b"{"):
            return answer
        payload = self.answer(self.command, path, answer.status, json.loads(answer.body))
        return Answer(answer.status, answer.headers, json.dumps(payload).encode())

    def request_path(self, path: str) -> str:
        return path

    def answer(self, method: str, path: str, status: int, payload: dict[str, Any]) -> dict[str, Any]:
        return payload


@contextlib.contextmanager
def serving(handler: type[Logged], deviation: str | None = None) -> Iterator[tuple[str, list[str]]]:
    """The fake with ``handler`` on a free loopback port, in a thread: its URL, and the requests it was sent."""
    store = Store()
    store.deviation = deviation
    sent: list[str] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), type("Bound", (handler,), {"store": store, "sent": sent}))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", sent
    finally:
        server.shutdown()
        server.server_close()


# Each exploration is seed 1, derandomized: the same sequences every run. A max_examples with a comment beside it is
# at least 3 times the sequences (shrinking counted) after which the finding the test asserts, or the first finding
# of the bug it guards against (measured on the code before that bug's fix), had been told.
def explore_urls(tmp_path: Path, candidate: str, reference: str, examples: int) -> tuple[int, str, dict]:
    report = tmp_path / "explore.json"
    result = CliRunner().invoke(main, ["explore", "--target", candidate, "--reference", reference, "--seed", "1",
                                       "--out", str(tmp_path / "out"), "--json-report", str(report), "--budget", "60",
                                       "--max-examples", str(examples)], env={"CONFORMANCE_CACHE": "0"})
    return result.exit_code, result.output, json.loads(report.read_text()) if report.exists() else {}


class Accounts(Logged):
    """As stripe-mock answers an attach: an account (``acct_…``) for the card; the candidate knows the card by that
    id afterwards (so nothing it answers later is a 404 of its own)."""

    def request_path(self, path: str) -> str:
        return path.replace("/acct_", "/card_")

    def answer(self, method: str, path: str, status: int, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "POST" and path.endswith("/sources") and payload.get("object") == "card":
            return {"id": "acct_" + payload["id"].split("_", 1)[1], "object": "account", "type": "standard"}
        return payload


def minted_elsewhere(sent: list[str], prefix: str) -> list[str]:
    return [line for line in sent if re.search(rf"(?<![A-Za-z]){prefix}_\w{{8,}}", line)]


def test_a_candidate_answering_an_attach_with_another_kind_of_object_is_one_finding_never_a_cascade(tmp_path):
    with serving(Logged) as (reference, to_reference), serving(Accounts) as (candidate, _):
        code, output, data = explore_urls(tmp_path, candidate, reference, 50)  # the cascade began by sequence 3
    assert code == 1, output
    assert [failure["rule"] for failure in data["failures"]] == ["object"], output
    assert "acct_" in data["failures"][0]["message"], output  # the id the sequence cannot go on with, named
    assert minted_elsewhere(to_reference, "acct") == [], "the reference was sent the candidate's account ids"


def test_a_candidate_minting_card_ids_of_another_kind_is_one_finding_never_a_cascade(tmp_path):
    """The fake's wrong-id-prefix: its cards are src_…; each is id.prefix where it was minted, and the sequence ends
    there: the reference is never sent a src_ id it would answer 404 (a status, a missing code, a list lacking a
    card: each a consequence)."""
    with serving(Logged) as (reference, to_reference), serving(Logged, "wrong-id-prefix") as (candidate, to_candidate):
        code, output, data = explore_urls(tmp_path, candidate, reference, 50)  # the cascade: list.items by 15
    assert code == 1, output
    (failure,) = data["failures"]
    assert failure["rule"] == "id.prefix" and re.search(r"src_\w+", failure["message"]), output
    assert minted_elsewhere(to_reference, "src") == [], "the reference was sent the candidate's src_ ids"
    assert minted_elsewhere(to_candidate, "card") == [], "the candidate was sent the reference's card_ ids"


class Fixture(Logged):
    """A reference answering as Stripe's own fixture does: a new customer's currency "usd", a card's wallet null."""

    def answer(self, method: str, path: str, status: int, payload: dict[str, Any]) -> dict[str, Any]:
        return walked(payload, {"customer": {"currency": "usd"}, "card": {"wallet": None}})


class Nulls(Logged):
    """A candidate answering a customer's preferred_locales null (nullable by the OpenAPI description), its
    currency null (the fake's) and a card's wallet as an object."""

    def answer(self, method: str, path: str, status: int, payload: dict[str, Any]) -> dict[str, Any]:
        return walked(payload, {"customer": {"preferred_locales": None}, "card": {"wallet": {"type": "apple_pay"}}})


def walked(payload: Any, changes: dict[str, dict[str, Any]]) -> Any:
    """``payload`` with every object of a kind in ``changes`` given those keys, at any depth."""
    if isinstance(payload, list):
        return [walked(item, changes) for item in payload]
    if not isinstance(payload, dict):
        return payload
    changed = {key: walked(value, changes) for key, value in payload.items()}
    if payload.get("deleted") is not True:
        changed.update(changes.get(str(payload.get("object")), {}))
    return changed


def test_what_public_sources_disagree_on_is_compared_with_the_reference_as_run_compares_it(tmp_path):
    """currency and preferred_locales null or not, wallet whatever it is: the profile's, as the suite's cassettes
    say; explore --reference compared them exactly before."""
    with serving(Fixture) as (reference, _), serving(Nulls) as (candidate, _):
        code, output, data = explore_urls(tmp_path, candidate, reference, 60)
    assert code == 0, output
    assert data["failures"] == [] and data["sequences"] >= 60, output


def test_a_route_the_candidate_lacks_is_route_missing_once_per_route_never_a_status_per_request(tmp_path):
    """As stripe-stateful-mock lacks POST /cards/:card: the model says route.missing once for the route; the
    comparison no longer says `status` (404 where the reference answered) for the requests that meet it."""
    with serving(Logged) as (reference, _), serving(Logged, "no-cards-routes") as (candidate, _):
        code, output, data = explore_urls(tmp_path, candidate, reference, 130)  # route.missing, or `status`: by 42
    assert code == 1, output
    messages = [failure["message"] for failure in data["failures"]]
    assert {failure["rule"] for failure in data["failures"]} == {"route.missing"}, output
    assert all("/cards" in message for message in messages), output


CONSTANT = "card_1FKCxrBCvBiGc7Sdp8LvNQKQ"  # what stripe-stateful-mock answers every card delete with


class ConstantDeletes(Logged):
    """As stripe-stateful-mock deletes a card: the card is gone, the answer names one constant id."""

    def answer(self, method: str, path: str, status: int, payload: dict[str, Any]) -> dict[str, Any]:
        return {**payload, "id": CONSTANT} if method == "DELETE" and payload.get("deleted") is True else payload


def test_the_model_is_shown_the_id_the_candidate_answered_never_another_objects_through_a_binding(tmp_path):
    """The constant id binds to the first deleted card's; bound back, the second delete's answer read as the first
    card's id: the message named an id the candidate never answered (and took a second delete to show). One problem,
    one finding: the id the reference answered otherwise is invariant.deleted's evidence, no id.binding besides."""
    with serving(Logged) as (reference, _), serving(ConstantDeletes) as (candidate, _):
        code, output, data = explore_urls(tmp_path, candidate, reference, 300)
    assert code == 1, output
    (deleted,) = data["failures"]
    assert deleted["rule"] == "invariant.deleted" and CONSTANT in deleted["message"], output
    assert "the reference answered otherwise" in deleted["message"], output
