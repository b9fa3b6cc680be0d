"""The reference suite as a yardstick: each scenario catches a target broken its own way, each documented rule is
judged on a target that accepts only the common 16-digit test cards, and the recorded API version is sent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main

from ..stripe_fake import SUITE_DEVIATIONS, FakeStripe

pytestmark = pytest.mark.integration
SUITE = Path(__file__).resolve().parents[2] / "cassettes"

# deviation -> (the cassette that catches it, a finding it must show: endpoint, rule, path)
CAUGHT = {
    "ending-before-ignored": ("cards-list", ("cards.list", "list.items", "data")),
    "default-limit-ignored": ("cards-list", ("cards.list", "invariant.list", "data")),
    "limit-bounds-unchecked": ("cards-list", ("cards.list", "status", "")),
    "expand-ignored": ("cards-retrieve", ("sources.retrieve", "type", "customer")),
    "sources-404-without-code": ("card-errors", ("sources.retrieve", "keys.missing", "error.code")),
    "metadata-unset-all-ignored": ("cards-update", ("cards.update", "value", "metadata.order_id")),
    "retrieve-stale-after-update": ("cards-update", ("cards.retrieve", "type", "address_city")),
    "refuse-amex": ("cards-amex", ("sources.create", "status", "")),
    "no-update-route": ("cards-update", ("cards.update", "route.missing", "")),
    "no-cards-delete-route": ("cards-delete", ("cards.delete", "route.missing", "")),
}


def run(deviation: str, tmp_path: Path) -> dict:
    report = tmp_path / "report.json"
    with FakeStripe(deviation=deviation) as target:
        result = CliRunner().invoke(main, ["run", str(SUITE), "--target", target, "--json-report", str(report)])
    assert result.exit_code == 1, result.output
    return json.loads(report.read_text())


def test_every_suite_deviation_has_a_scenario_that_catches_it():
    assert set(SUITE_DEVIATIONS) <= set(CAUGHT)


@pytest.mark.parametrize("deviation", sorted(CAUGHT))
def test_each_scenario_catches_a_target_broken_its_own_way(deviation, tmp_path):
    data = run(deviation, tmp_path)
    cassette, expected = CAUGHT[deviation]
    found = {(i["endpoint"], f["rule"], f["path"]) for c in data["cassettes"] for i in c["interactions"]
             for f in i["findings"] if f["severity"] == "failure"}
    assert expected in found, sorted(found)
    failing = {Path(c["path"]).stem for c in data["cassettes"]
               if any(i["outcome"] in ("failed", "blocked") for i in c["interactions"])}
    assert cassette in failing
    also = {"sources-404-without-code": {"cards-delete"},  # a deleted card is a missing card there
            "no-update-route": {"card-errors", "cards-retries"}}.get(deviation, set())  # updating an unknown card
    assert failing - also == {cassette}, failing  # the other scenarios do not depend on it


def test_what_a_failed_update_would_have_set_follows_from_it(tmp_path):
    """No update route (as stripe-stateful-mock): the retrieves after the updates show the old values, which is
    the missing route's consequence, not a second problem."""
    data = run("no-update-route", tmp_path)
    (cause,) = [c for c in data["root_causes"] if c["severity"] == "failure"]
    assert cause["rule"] == "route.missing" and cause["endpoints"] == ["cards.update"]
    retrieves = [i for c in data["cassettes"] for i in c["interactions"] if i["endpoint"] == "cards.retrieve"
                 and Path(c["path"]).stem == "cards-update"]
    assert retrieves and all(f.get("consequence_of") for i in retrieves for f in i["findings"])
    assert all(i["outcome"] == "blocked" for i in retrieves)


def test_a_card_a_failed_delete_left_in_place_is_no_second_problem(tmp_path):
    data = run("no-cards-delete-route", tmp_path)
    (cause,) = [c for c in data["root_causes"] if c["severity"] == "failure"]
    assert cause["rule"] == "route.missing" and cause["blocked"] == 1
    gone = [i for c in data["cassettes"] for i in c["interactions"] if Path(c["path"]).stem == "cards-delete"][-1]
    assert gone["outcome"] == "blocked" and gone["blocked_by"] == gone["index"] - 1


def test_every_rule_is_judged_on_a_target_that_refuses_the_amex_card(tmp_path):
    """Only the Amex scenario fails: no documented rule hinges on the 15-digit card, none is left unjudged."""
    data = run("refuse-amex", tmp_path)
    failing = {Path(c["path"]).stem for c in data["cassettes"]
               if any(i["outcome"] != "passed" for i in c["interactions"])}
    assert failing == {"cards-amex"} and data["not_judged"] == []
    rules = {f["rule"] for c in data["cassettes"] for i in c["interactions"] for f in i["findings"]}
    assert rules == {"status"}


def test_the_new_scenarios_are_quiet_on_a_faithful_target(tmp_path):
    report = tmp_path / "report.json"
    with FakeStripe() as target:
        result = CliRunner().invoke(main, ["run", str(SUITE), "--target", target, "--json-report", str(report)])
    assert result.exit_code == 0, result.output
    data = json.loads(report.read_text())
    assert data["summary"]["warnings"] == 0 and data["not_judged"] == []
