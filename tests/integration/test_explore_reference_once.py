"""`conformance explore --reference`: one problem of the candidate, one finding (issue 38). The comparison with the
reference and the documented rules (the model) see the same answer; where a documented rule explains a difference
from the reference (the answer it expects differs from the candidate's there too), the rule is the finding and the
difference its evidence, never a second finding under the comparison's rule. Two problems in one answer stay two.

The reference and the candidate are the test fake's handler in threads (test_explore_reference.py's fixtures), the
candidate changed the way a public fake answers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ..stripe_fake import Answer
from .test_explore_reference import Logged, explore_urls, serving

pytestmark = pytest.mark.integration


# Each exploration is seed 1, derandomized: the same sequences every run. Its max_examples is at least 3 times the
# sequences (shrinking counted) after which the finding the test asserts, or the second finding of the problem it
# guards against (measured on the code before issue 38's one-problem-one-finding fix), had been told.
def rules(tmp_path: Path, candidate: type[Logged], deviation: str | None, examples: int) -> tuple[list[str], str]:
    with serving(Logged) as (reference, _), serving(candidate, deviation) as (url, _):
        code, output, data = explore_urls(tmp_path, url, reference, examples)
    assert code == 1, output
    return [failure["rule"] for failure in data["failures"]], output


class DeleteAnswersCustomer(Logged):
    """As localstripe deletes a card: the answer is the customer, not the deleted card."""

    def answer(self, method: str, path: str, status: int, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "DELETE" and payload.get("deleted") is True:
            return self.store.customer(path.split("/")[3])  # type: ignore[no-any-return]
        return payload


class ExpiryAsText(Logged):
    """As localstripe keeps an update's exp_month: the text it was sent ("12"), answered as text."""

    def _execute(self, path: str, params: dict[str, Any]) -> Answer:
        answer = super()._execute(path, params)
        if self.command != "POST" or "exp_month" not in params or answer.status != 200:
            return answer
        payload = json.loads(answer.body)
        return Answer(answer.status, answer.headers, json.dumps({**payload, "exp_month": params["exp_month"]}).encode())


def test_a_refused_test_card_is_one_status_never_the_comparisons_and_the_models(tmp_path):
    """localstripe refuses tok_amex: `status` once, not the comparison's `status` and then the model's."""
    found, output = rules(tmp_path, Logged, "refuse-amex", 210)  # the second `status` came by sequence 68
    assert found == ["status"], output
    assert "the reference answered 200" in output, output  # the difference is the finding's evidence


def test_a_delete_answering_another_object_is_invariant_deleted_alone(tmp_path):
    found, output = rules(tmp_path, DeleteAnswersCustomer, None, 300)
    assert found.count("invariant.deleted") == 1 and "object" not in found, output


def test_an_expiry_kept_as_text_is_invariant_card_alone(tmp_path):
    """The card's exp_month of another JSON type is invariant.card, as run names it on every card answer: not
    also card.attributes (the value the update set), nor the comparison's `type`."""
    found, output = rules(tmp_path, ExpiryAsText, None, 300)
    assert found == ["invariant.card"], output


@pytest.fixture(scope="module")
def relisted(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, dict]:
    """The fake's relists-repeats (localstripe re-attaches a retried attach's card) explored once against the
    faithful fake, 400 sequences: the two tests below assert different things of the same exploration."""
    with serving(Logged) as (reference, _), serving(Logged, "relists-repeats") as (candidate, _):
        return explore_urls(tmp_path_factory.mktemp("relisted"), candidate, reference, 400)


def test_a_card_listed_twice_after_a_retry_is_idempotency_replay_alone(relisted: tuple[int, str, dict]):
    code, output, data = relisted
    assert code == 1, output
    found = [failure["rule"] for failure in data["failures"]]
    assert "idempotency.replay" in found and "list.length" not in found, output


def test_a_card_listed_twice_is_one_difference_of_the_list_never_one_per_item_compared_with_another(
        relisted: tuple[int, str, dict]):
    """As localstripe re-attaches a retried attach's card (the fake's relists-repeats): its list holds one card
    twice, so it is compared position by position; each item after the repeat then meets another card's values
    (`data[0].name`), which is the list's length told again, not a difference of names."""
    code, output, data = relisted
    assert code == 1, output
    beneath = [failure["message"] for failure in data["failures"] if re.search(r"data\[\d+\]\.", failure["message"])]
    assert beneath == [], output


class UpdateWithoutBrand(Logged):
    """An update's answer without the card's `brand` (a second problem, at the step where `update-ignores-name`
    shows the first)."""

    def answer(self, method: str, path: str, status: int, payload: dict[str, Any]) -> dict[str, Any]:
        if method == "POST" and path.count("/") == 5 and payload.get("object") == "card":
            return {key: value for key, value in payload.items() if key != "brand"}
        return payload


def test_two_problems_in_one_answer_stay_two(tmp_path):
    """The name an update ignores is card.attributes; the brand its answer lacks is no part of it (the answer the
    rule expects lacks it too): keys.missing, told as well."""
    found, output = rules(tmp_path, UpdateWithoutBrand, "update-ignores-name", 300)  # keys.missing: by 100
    assert sorted(found) == ["card.attributes", "keys.missing"], output


def test_a_difference_told_at_an_earlier_step_is_not_told_again_by_a_documented_rule(tmp_path):
    """Every exp_month answered as text: `type` where the first card is attached; after an expiry update
    card.attributes meets the same text, which is that problem again, not a second one."""
    found, output = rules(tmp_path, Logged, "integer-as-string", 240)  # card.attributes came by sequence 77
    assert found == ["type"], output
