"""One builder of a run's settings: `run`, `matrix`, the pytest plugin and the demo replay with the same options
and transport limits when their users chose the same things. The replay itself is replaced by a recorder of what
each door hands it (the doors' own code runs: their options parsed, the builder called, the reports written)."""

from __future__ import annotations

import contextlib
import dataclasses
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

from conformance import replay
from conformance.cli import main
from conformance.errors import ConformanceError
from conformance.findings import RunResult
from conformance.replay import targets
from conformance.settings import RunChoices, api_key_of
from conformance.stripe import STRIPE

ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "cassettes" / "cards-list.yaml"
SPEC = ROOT / "tests" / "schemas" / "cards-openapi.yaml"
KEY = "sk_test_" + "settings" * 3


def what_a_replay_gets(options: Any, **limits: Any) -> dict[str, Any]:
    """What decides how a cassette is replayed and judged, comparable across doors (a redactor is compared by
    the test cards it keeps the names of, a contract by its name, the comparison rules by what a user sets)."""
    seen = {field.name: getattr(options, field.name) for field in dataclasses.fields(options)}
    seen["redactor"] = seen["redactor"].cards
    seen["rules"] = tuple(getattr(seen["rules"], name) for name in ("strict", "ignore", "exact", "loose", "nullable"))
    seen["contract"] = seen["contract"].name if seen["contract"] is not None else None
    return {**seen, **{name: limits[name] for name in ("timeout", "max_body", "verify")}}


@pytest.fixture
def replays(monkeypatch) -> list[dict[str, Any]]:
    """Every replay a door starts, as :func:`what_a_replay_gets` (one per target of a matrix)."""
    seen: list[dict[str, Any]] = []

    def run(cassettes, target, options, **limits):
        seen.append(what_a_replay_gets(options, **limits))
        return RunResult(target)

    def run_targets(cassettes, urls, options, **limits):
        seen.extend(what_a_replay_gets(options[name], **limits) for name in urls)
        return {name: RunResult(url) for name, url in urls.items()}

    @contextlib.contextmanager
    def started(chosen, *args) -> Iterator[dict[str, str]]:
        yield {target.name: target.url for target in chosen}

    monkeypatch.setattr(replay, "run", run)
    monkeypatch.setattr(replay, "check_target", lambda *args, **kwargs: None)
    monkeypatch.setattr(targets, "run_targets", run_targets)
    monkeypatch.setattr(targets, "started_targets", started)
    return seen


JUDGING = ["--api-key", KEY, "--strict", "--ignore", "data[*].fingerprint", "--exact", "created", "--stripe-version",
           "2024-06-20", "--timeout", "3.5", "--max-body", "1MB", "--openapi", str(SPEC), "--tokens"]


def test_run_and_matrix_replay_alike_from_the_same_choices(replays, tmp_path):
    ran = CliRunner().invoke(main, ["run", str(CASSETTE), "--target", "http://127.0.0.1:9", *JUDGING, "create",
                                    "--json-report", str(tmp_path / "r.json")])
    assert ran.exit_code == 0, ran.output
    matrix = CliRunner().invoke(main, ["matrix", str(CASSETTE), "--target", "a=http://127.0.0.1:9",
                                       "--target", "b=http://127.0.0.1:8", *JUDGING, "a=create"])
    assert matrix.exit_code == 0, matrix.output
    from_run, to_a, to_b = replays
    assert from_run == to_a == {**to_b, "tokens": "create"}
    assert from_run["max_body"] == 1_000_000 and from_run["timeout"] == 3.5 and from_run["contract"]
    assert from_run["rules"] == (True, ("data[*].fingerprint",), ("created",), (), ())
    assert from_run["redactor"] is STRIPE.cards and from_run["stripe_version"] == "2024-06-20"


def test_the_pytest_plugin_replays_as_run_does_from_the_same_choices(replays):
    from conformance import pytest_plugin

    options = {"conformance_api": "stripe", "conformance_api_key": KEY, "conformance_allow_live": False,
               "conformance_openapi": str(SPEC), "conformance_strict": True, "conformance_tokens": "create",
               "conformance_timeout": 3.5}

    class Config:  # what the plugin reads of pytest's configuration
        def getoption(self, name: str, default: Any = None) -> Any:
            return options.get(name, default)

    plugin = pytest_plugin._settings(Config())  # type: ignore[arg-type]
    ran = CliRunner().invoke(main, ["run", str(CASSETTE), "--target", "http://127.0.0.1:9", "--api-key", KEY,
                                    "--strict", "--openapi", str(SPEC), "--tokens", "create", "--timeout", "3.5"])
    assert ran.exit_code == 0, ran.output
    (from_run,) = replays
    assert what_a_replay_gets(plugin.options, timeout=plugin.timeout, max_body=plugin.max_body,
                              verify=plugin.verify) == from_run


def test_the_demo_replays_as_run_does_with_create_tokens(replays, monkeypatch, tmp_path):
    from conformance.suite import demo

    @contextlib.contextmanager
    def running() -> Iterator[str]:
        yield "http://127.0.0.1:9"

    monkeypatch.setattr(demo, "running", running)
    demo.run_demo(ROOT / "cassettes", tmp_path / "reports", Console(file=io.StringIO()))
    ran = CliRunner().invoke(main, ["run", str(CASSETTE), "--target", "http://127.0.0.1:9", "--api-key",
                                    "sk_test_" + "demo" * 6, "--tokens", "create"])
    assert ran.exit_code == 0, ran.output
    from_demo, from_run = replays
    assert from_demo == from_run
    assert sorted(path.name for path in (tmp_path / "reports").iterdir()) == [
        "junit.xml", "report.html", "report.json", "summary.md"]


def test_the_choices_that_become_more_than_one_setting():
    built = RunChoices(STRIPE, KEY, probes=("idempotency", "idempotency"), cacert=Path("ca.pem")).settings()
    assert built.options.probes == ("idempotency",) and built.verify == "ca.pem"
    assert RunChoices(STRIPE, KEY, insecure=True).settings().verify is False
    assert RunChoices(STRIPE, KEY).settings().verify is True
    assert RunChoices(STRIPE, KEY, openapi=SPEC).settings().options.contract is not None
    assert RunChoices(STRIPE, KEY).settings().with_tokens("create").options.tokens == "create"


def test_the_key_is_the_profiles_test_key_unless_given_and_never_a_live_one_unasked():
    assert api_key_of(STRIPE, None, False, "--allow-live") == STRIPE.default_api_key
    live = "sk_live_" + "x" * 24
    with pytest.raises(ConformanceError, match="--allow-live"):
        api_key_of(STRIPE, live, False, "--allow-live")
    assert api_key_of(STRIPE, live, True, "--allow-live") == live
