"""One builder of an exploration's options (``RunSettings.explore_options``): `conformance explore` and its
benchmark explore with the same options when their users chose the same things, and each choice of the command
reaches them. ``explore`` itself is replaced by a recorder of the options each door hands it (the doors' own code
runs: options parsed, settings built)."""

from __future__ import annotations

import dataclasses
import importlib.util
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import conformance.explore
import conformance.replay
from conformance.cli import main
from conformance.explore import ExploreOptions, ExploreResult
from conformance.stripe import STRIPE

ROOT = Path(__file__).resolve().parents[2]
REACHED: list[tuple[str, float]] = []  # (url, seconds waited for it): each target checked before exploring


@pytest.fixture
def handed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[ExploreOptions]:
    """The options each exploration is started with; each explores one sequence and finds nothing."""
    seen: list[ExploreOptions] = []

    def recorded(options: ExploreOptions) -> ExploreResult:
        seen.append(options)
        return ExploreResult(options.target, options.seed, sequences=1, requests=1, seconds=0.1)

    monkeypatch.setattr(conformance.explore, "explore", recorded)
    monkeypatch.setattr(conformance.replay, "check_target", lambda url, wait=0.0: REACHED.append((url, wait)))
    monkeypatch.setenv("CONFORMANCE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("CONFORMANCE_CACHE", raising=False)
    monkeypatch.delenv("STRIPE_API_KEY", raising=False)
    return seen


def explored(*args: str) -> None:
    result = CliRunner().invoke(main, ["explore", "--target", "http://127.0.0.1:9/", *args])
    assert result.exit_code == 0, result.output


def test_each_choice_of_the_command_reaches_the_exploration(handed: list[ExploreOptions], tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    explored("--seed", "5", "--budget", "7", "--max-examples", "9", "--max-failures", "2", "--timeout", "3",
             "--tokens", "create", "--reference", "http://127.0.0.1:10/", "--out", str(tmp_path / "out"),
             "--max-body", "5MB", "--cacert", str(ca))
    explored("--insecure", "--out", str(tmp_path / "out"))
    options, insecure = handed
    assert REACHED[-1] == ("http://127.0.0.1:9/", 0.0)
    assert (options.verify, options.max_body, insecure.verify) == (str(ca), 5_000_000, False)
    assert (options.target, options.reference) == ("http://127.0.0.1:9", "http://127.0.0.1:10")
    assert (options.seed, options.budget, options.max_examples, options.max_failures, options.timeout) == \
        (5, 7.0, 9, 2, 3.0)
    assert options.api_key == STRIPE.default_api_key and options.machines is STRIPE.explorer()
    assert options.tokens is not None and options.tokens.path == STRIPE.token_path
    assert (options.version_header, options.idempotency_header) == (STRIPE.headers.version,
                                                                    STRIPE.headers.idempotency)
    assert options.database == tmp_path / "cache" / "explore"
    assert options.database_key == b"conformance-explore:stripe"
    assert options.rules.ids is STRIPE.ids and {"error.message", "error.param"} <= set(options.rules.loose)
    assert options.contract is None


def test_wait_for_target_waits_for_the_target_and_the_reference(handed: list[ExploreOptions], tmp_path: Path):
    REACHED.clear()
    explored("--wait-for-target", "4", "--reference", "http://127.0.0.1:10", "--out", str(tmp_path / "out"))
    assert REACHED == [("http://127.0.0.1:9/", 4.0), ("http://127.0.0.1:10", 4.0)]


def test_cacert_with_insecure_and_a_report_on_the_ca_file_are_refused_in_one_line(handed: list[ExploreOptions],
                                                                                 tmp_path: Path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    for extra, said in ((("--insecure",), "--cacert FILE or --insecure, not both"),
                        (("--markdown-report", str(ca)), "input of this command")):
        result = CliRunner().invoke(main, ["explore", "--target", "http://127.0.0.1:9", "--cacert", str(ca), *extra])
        assert result.exit_code == 2 and said in result.output, result.output
    assert handed == [] and ca.read_text() == "-----BEGIN CERTIFICATE-----\n"


def test_the_reproduce_line_reaches_the_target_as_explore_reached_it():
    """A failing cassette's `conformance run CASSETTE --target URL` line carries how explore reached the target:
    without them, run of an https:// target with a CA of its own fails on the certificate, not the rule."""
    from conformance.cli.explore import _reproduce_options
    from conformance.settings import RunChoices

    def line(**chosen: Any) -> str:
        return _reproduce_options("magic", None, RunChoices(STRIPE, STRIPE.default_api_key, **chosen).settings())

    assert line() == ""
    assert line(cacert=Path("ca.pem"), max_body=100) == " --max-body 100 --cacert ca.pem"
    assert line(insecure=True) == " --insecure"


def test_the_benchmark_explores_with_the_command_s_options(handed: list[ExploreOptions], tmp_path: Path):
    """Built by hand, the benchmark's exploration had no comparison rules, no database key of the profile: it
    measured an exploration no command makes. Only the example database differs (the benchmark keeps none)."""
    spec = importlib.util.spec_from_file_location("bench_explore", ROOT / "bench" / "explore.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.explore = conformance.explore.explore  # the recorder: the module took its own name for it
    bench.bench_explore("http://127.0.0.1:9", 7.0, 5)
    explored("--seed", "5", "--budget", "7", "--out", str(tmp_path / "out"))
    benched, command = (as_fields(options) for options in handed)
    assert benched.pop("database") is None and command.pop("database") is not None
    assert benched == command


def as_fields(options: ExploreOptions) -> dict[str, Any]:
    return {field.name: getattr(options, field.name) for field in dataclasses.fields(options)}
