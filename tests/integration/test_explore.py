"""`conformance explore` against the test fake: each sequence rule broken one at a time is found, named, shrunk
to a cassette of at most 8 interactions that `run` reproduces on that target and passes on the faithful one.

The fake runs as a process of its own (``python -m tests.stripe_fake``), so it and the explorer each have a core;
each exploration stops once the rule is found (``--max-failures``) and is bounded by ``--max-examples``, never by
the clock (``--budget`` is only a safety net), so a slow machine makes a test slower, never fail."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from xml.etree import ElementTree

import pytest
import yaml
from click.testing import CliRunner

from conformance.cli import main
from conformance.replay import target_process

from ..stripe_fake import EXPLORE_DEVIATIONS, FakeStripe

pytestmark = pytest.mark.integration

# deviation of the fake -> the rule explore must name
BROKEN = {
    "metadata-replaced": "card.metadata",
    "has-more-when-full": "invariant.list",
    "order-by-update": "list.order",
    "default-follows-attach": "invariant.default_source",
    "deleted-listed": "card.deleted_gone",
    "deleted-updatable": "card.deleted_unchangeable",
    "cards-any-customer": "card.other_customer",
    "random-fingerprint": "card.fingerprint",
    "read-only-accepted": "request.read_only",
    "unknown-parameter-without-code": "request.unknown_parameter",
    "expiry-unchecked": "request.invalid_expiry",
    "default-oldest": "invariant.default_source",
    "update-ignores-name": "card.attributes",
    "executes-repeats": "idempotency.replay",
    "accepts-reused-key": "idempotency.mismatch",
    "relists-repeats": "idempotency.replay",
    "attach-answers-account": "object",
}


# the fake deviates in two rules at once: read-only attributes are unknown parameters to it too
FOUND_SECOND = {"unknown-parameter-without-code"}


@contextmanager
def fake_process(deviation: str | None = None) -> Iterator[str]:
    """The test fake as a process on 127.0.0.1 (its URL)."""
    command = f"{sys.executable} -m tests.stripe_fake --port {{port}}" + (f" --deviation {deviation}" if deviation
                                                                        else "")
    with target_process(command) as url:
        yield url


def interactions(cassette: Path) -> int:
    return len(list(yaml.safe_load_all(cassette.read_text()))) - 1  # the header, then one document each


def explore(target: str, tmp_path: Path, *extra: str) -> tuple[int, str, dict]:
    report = tmp_path / "explore.json"
    result = CliRunner().invoke(main, ["explore", "--target", target, "--seed", "1", "--out", str(tmp_path / "out"),
                                       "--json-report", str(report), *extra],
                                env={"CONFORMANCE_CACHE": "0"})
    data = json.loads(report.read_text()) if report.exists() else {}
    return result.exit_code, result.output, data


@pytest.fixture(scope="module")
def faithful() -> Iterator[str]:
    """One faithful fake for the module: each cassette replayed on it makes its own customers."""
    with fake_process() as url:
        yield url


def test_every_sequence_deviation_of_the_fake_has_a_rule():
    """expanded-sources-unpaged needs 11 cards, so its cassette holds 12 interactions: the test below."""
    assert set(EXPLORE_DEVIATIONS) - {"expanded-sources-unpaged", "forgets-customers"} <= set(BROKEN)


def test_a_wrong_has_more_of_a_customer_s_expanded_sources_takes_12_interactions(tmp_path, faithful):
    """The fewest that can show it: 11 cards, each request making at most one (the customer created with its
    first as `source`, 10 attaches), then the customer retrieved with `expand[]=sources` (it shows 10)."""
    with fake_process("expanded-sources-unpaged") as target:
        code, output, data = explore(target, tmp_path, "--budget", "120", "--max-examples", "2000",
                                     "--max-failures", "1")
        assert code == 1, output
        (found,) = data["failures"]
        assert found["rule"] == "invariant.list" and "has_more false, but more cards follow" in found["message"]
        cassette = Path(found["cassette"])
        assert interactions(cassette) == found["steps"] == 12, output
        replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", target])
        assert replayed.exit_code == 1, replayed.output
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", faithful])
    assert replayed.exit_code == 0, replayed.output


@pytest.mark.parametrize("deviation", sorted(BROKEN))
def test_a_broken_sequence_rule_is_found_shrunk_and_reproduced_by_run(deviation, tmp_path, faithful):
    with fake_process(deviation) as target:
        failures = "2" if deviation in FOUND_SECOND else "1"
        code, output, data = explore(target, tmp_path, "--budget", "60", "--max-examples", "2000",
                                     "--max-failures", failures)
        assert code == 1, output
        rules = [f["rule"] for f in data["failures"]]
        assert BROKEN[deviation] in rules, output
        assert f"[{BROKEN[deviation]}]" in output
        (found,) = [f for f in data["failures"] if f["rule"] == BROKEN[deviation]]
        cassette = Path(found["cassette"])
        # Hypothesis' shrink, then run --repro-dir's ddmin on the cassette: at most 8 interactions
        assert interactions(cassette) == found["steps"] <= 8, output
        replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", target])
        assert replayed.exit_code == 1, replayed.output
    replayed = CliRunner().invoke(main, ["run", str(cassette), "--target", faithful])
    assert replayed.exit_code == 0, replayed.output


def test_the_faithful_fake_breaks_no_rule_over_200_sequences(tmp_path, faithful):
    code, output, data = explore(faithful, tmp_path, "--budget", "120", "--max-examples", "200")
    assert code == 0, output
    assert data["sequences"] >= 200 and data["failures"] == [] and data["warnings"] == []


def test_max_failures_stops_once_that_many_rules_are_found(tmp_path):
    """The fake breaks two rules (read-only attributes and unknown parameters are answered without a code, and
    the parametrized test above finds both with --max-failures 2): stopping at one finds exactly one."""
    with fake_process("unknown-parameter-without-code") as target:
        code, output, data = explore(target, tmp_path, "--budget", "60", "--max-examples", "2000",
                                     "--max-failures", "1")
    assert code == 1 and len(data["failures"]) == 1, output


def test_the_same_seed_makes_the_same_sequences(tmp_path, faithful):
    """Twice on one fake: each sequence makes its own customers, so what the first run left changes nothing."""
    counts = []
    for run in range(2):
        (tmp_path / str(run)).mkdir()
        _, _, data = explore(faithful, tmp_path / str(run), "--max-examples", "40")
        counts.append(data["requests"])
    assert counts[0] == counts[1]


@pytest.mark.parametrize(("args", "says"), [
    (["--budget", "0"], "--budget"),
    (["--seed", "-1"], "--seed"),
    (["--api", "nosuch"], "nosuch"),
    (["--max-failures", "-1"], "--max-failures"),
    (["--budget", "0.001"], "explored nothing"),  # nothing checked is never a pass
])
def test_bad_input_is_one_line_and_exit_2(args, says, tmp_path):
    with FakeStripe() as target:
        result = CliRunner().invoke(main, ["explore", "--target", target, *args])
    assert result.exit_code == 2 and says in result.output and "Traceback" not in result.output, result.output


def test_a_target_that_forgets_its_customer_is_refused_in_one_line():
    with FakeStripe(deviation="forgets-customers") as target:
        result = CliRunner().invoke(main, ["explore", "--target", target, "--budget", "5"])
    assert result.exit_code == 2, result.output
    assert "not stateful enough" in result.output and len(result.output.strip().splitlines()) == 1, result.output


def test_the_run_reports_are_run_s_reports_of_the_failing_cassettes_replayed(tmp_path):
    junit, html, markdown = tmp_path / "explore.xml", tmp_path / "explore.html", tmp_path / "explore.md"
    with fake_process("update-ignores-name") as target:
        code, output, data = explore(target, tmp_path, "--budget", "60", "--max-examples", "500", "--max-failures",
                                     "1", "--junit-xml", str(junit), "--html-report", str(html),
                                     "--markdown-report", str(markdown))
    assert code == 1, output
    name = Path(data["failures"][0]["cassette"]).stem
    suites = ElementTree.parse(junit).getroot()
    assert int(suites.get("failures")) >= 1 and suites.find("testsuite").get("name") == name
    assert name in html.read_text() and name in markdown.read_text()
