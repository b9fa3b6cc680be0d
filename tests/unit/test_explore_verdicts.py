"""What explore names is what `run` of its cassette names (issue 38: a recorded cassette is one more sequence),
and one problem is one finding: cases measured on localstripe.

Each test explores the project's fake in this process (a thread on 127.0.0.1), changed the way localstripe answers
(a relay in front of it), bounded by ``max_examples``, never by the clock.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from conformance.explore import ExploreOptions, ExploreResult, explore, write_failure
from conformance.explore.session import TokenPlan
from conformance.redaction import Redactor
from conformance.replay import ReplayOptions
from conformance.replay.runner import run
from conformance.report.causes import root_causes
from conformance.stripe import STRIPE

from .test_explore_judging import relay as relay_answers

Answer = tuple[int, Any]  # status, JSON body
Change = Callable[[str, str, dict[str, Any], Answer], Answer]


@contextmanager
def relay(change: Change, deviation: str | None = None) -> Iterator[str]:
    """The fake (with ``deviation``) with its JSON answers changed by ``change`` (method, path, parameters, answer),
    on 127.0.0.1: test_explore_judging's relay, its answers' kind left JSON."""

    def json_change(method: str, path: str, params: dict[str, Any], answer: tuple[int, str, Any]) -> Any:
        status, _, body = answer
        status, body = change(method, path, params, (status, body))
        return status, "application/json", body

    with relay_answers(json_change, deviation) as url:
        yield url


def explored(url: str, examples: int, tokens: bool = False, failures: int = 0) -> ExploreResult:
    plan = TokenPlan(STRIPE.token_path, STRIPE.cards, STRIPE.token_parameters) if tokens else None
    return explore(ExploreOptions(url, STRIPE.default_api_key, STRIPE.explorer(), seed=1, max_examples=examples,
                                  budget=300, max_failures=failures, version_header=STRIPE.headers.version,
                                  idempotency_header=STRIPE.headers.idempotency, tokens=plan))


def _error(message: str, status: int = 400) -> Answer:
    return status, {"error": {"type": "invalid_request_error", "message": message}}  # no code, as localstripe


def refuses_limit(method: str, path: str, params: dict[str, Any], answer: Answer) -> Answer:
    """localstripe on a customer's sources: any ``limit`` refused, without a code."""
    if method == "GET" and "limit" in parse_qs(urlsplit(path).query):
        return _error("Unexpected limit")
    return answer


def test_a_limit_refused_outright_is_one_finding_the_route_s_status_not_also_invariant_list():
    with relay(refuses_limit) as url:
        result = explored(url, 200)  # before, invariant.list was found too within as many
    found = [failure.rule for failure in result.failures]
    assert "status" in found and "invariant.list" not in found, found


def no_amex(method: str, path: str, params: dict[str, Any], answer: Answer) -> Answer:
    """localstripe: no token made from the Amex test card, and the magic token unknown."""
    card = params.get("card")
    number = card.get("number") if isinstance(card, dict) else None
    if method == "POST" and path.startswith("/v1/tokens") and number == STRIPE.cards.by_token["tok_amex"].number:
        return _error("Invalid card number", 402)
    if method == "POST" and params.get("source") == "tok_amex":
        return 404, {"error": {"type": "invalid_request_error", "message": "Not Found"}}
    return answer


def test_a_token_the_target_did_not_make_is_setup_token_as_run_names_it(tmp_path: Path):
    with relay(no_amex) as url:
        result = explored(url, 100, tokens=True, failures=1)
        (failure,) = [f for f in result.failures if "tok_amex" in f.message]
        assert failure.rule == "setup.token", result.failures
        cassette = write_failure(failure, tmp_path, target=url, api_key=STRIPE.default_api_key, profile=STRIPE,
                                 redactor=Redactor(), recorded=STRIPE.explorer().recorded)
        replayed = run([cassette], url, ReplayOptions(api_key=STRIPE.default_api_key, profile=STRIPE,
                                                      tokens="create"))
    causes = [cause.rule for cause in root_causes(replayed) if cause.severity == "failure"]
    assert causes[:1] == ["setup.token"], causes


def as_is(method: str, path: str, params: dict[str, Any], answer: Answer) -> Answer:
    return answer


def test_an_attribute_of_another_type_is_invariant_card_as_run_names_it_not_also_card_attributes(tmp_path: Path):
    """localstripe answers an updated expiry as text ("12"): the card object's type, which run judges on every
    card answer, not a value the update failed to set."""
    with relay(as_is, "integer-as-string") as url:
        result = explored(url, 60)
        found = [failure.rule for failure in result.failures]
        assert "invariant.card" in found and "card.attributes" not in found, found
        (failure,) = [f for f in result.failures if f.rule == "invariant.card"]
        cassette = write_failure(failure, tmp_path, target=url, api_key=STRIPE.default_api_key, profile=STRIPE,
                                 redactor=Redactor(), recorded=STRIPE.explorer().recorded)
        replayed = run([cassette], url, ReplayOptions(api_key=STRIPE.default_api_key, profile=STRIPE))
    assert [c.rule for c in root_causes(replayed) if c.severity == "failure"] == ["invariant.card"]


def test_a_token_refused_once_then_made_explains_no_later_answer():
    """A transient refusal of a test card's token is forgotten once the target makes one: a later answer to a
    request carrying that card's magic token is judged by its own rule, never as setup.token."""
    import httpx

    from conformance.explore.session import Session, Wire
    from conformance.replay.transport import TargetClient

    answers = iter([(402, {"error": {"type": "card_error", "message": "try again"}}),
                    (200, {"id": "tok_made", "object": "token"})])

    def tokens(request: httpx.Request) -> httpx.Response:
        status, body = next(answers)
        return httpx.Response(status, json=body)

    plan = TokenPlan(STRIPE.token_path, STRIPE.cards, STRIPE.token_parameters)
    with TargetClient("http://127.0.0.1:9", transport=httpx.MockTransport(tokens)) as client:
        session = Session(client, Wire(STRIPE.default_api_key, tokens=plan))
        form = {"source": "tok_amex"}
        assert session.with_tokens(client, form) == form and session.unmade(client, form) is not None
        assert session.with_tokens(client, form) == {"source": "tok_made"}
        assert session.unmade(client, form) is None
