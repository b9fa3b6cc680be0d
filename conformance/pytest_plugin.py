"""A pytest plugin: each cassette is a test item, its interactions the steps.

    pytest --conformance-target http://127.0.0.1:8420 cassettes/
    pytest --conformance-target URL cassettes/ -n auto --dist loadfile --junitxml conformance.xml

Active only with ``--conformance-target``; then YAML files that are cassettes
are collected (one item each, so pytest-xdist's ``--dist loadfile`` keeps a
cassette's interactions in order on one worker), and pytest's own reporting —
``--junitxml`` included — applies.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conformance.api_profile import TOKEN_MODES
from conformance.cassette import foreign_recording, is_cassette, load
from conformance.errors import ConformanceError
from conformance.findings import CassetteResult
from conformance.report.common import finding_line
from conformance.rules import Outcome

if TYPE_CHECKING:
    from conformance.settings import RunSettings

__all__ = ["pytest_addoption", "pytest_configure", "pytest_collect_file"]


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("conformance", "card-conformance: replay cassettes against a target")
    group.addoption("--conformance-target", metavar="URL", help="Replay the collected cassettes against this server.")
    group.addoption("--conformance-api-key", metavar="KEY", default=os.environ.get("STRIPE_API_KEY"),
                    help="API key sent to the target (default: STRIPE_API_KEY, else the API profile's test key).")
    group.addoption("--conformance-api", metavar="NAME|MODULE:ATTR", default="stripe",
                    help="The API the cassettes speak: 'stripe', or module:attribute naming an ApiProfile.")
    group.addoption("--conformance-allow-live", action="store_true", help="Allow a live key (sk_live_/rk_live_).")
    group.addoption("--conformance-tokens", choices=list(TOKEN_MODES), default="magic",
                    help="magic: send the API's test tokens (tok_visa…) as recorded; create: first make a token at the "
                         "target from the test card each stands for (targets that do not know them, e.g. localstripe).")
    group.addoption("--conformance-baseline", metavar="FILE",
                    help="A JSON report of known deviations (conformance run --json-report): only findings not in it "
                         "fail.")
    group.addoption("--conformance-strict", action="store_true", help="Keys not in the recording are failures.")
    group.addoption("--conformance-max-age", type=days, default=None, metavar="DAYS",
                    help="Warn on a cassette holding answers recorded more than DAYS days ago, or of no known age "
                         "(--conformance-strict fails it): a stale answer is a test against an API that moved on.")
    group.addoption("--conformance-timeout", type=float, default=10.0, help="Seconds to wait for each answer.")
    group.addoption("--conformance-wait-for-target", type=seconds, default=0.0, metavar="SECONDS",
                    help="Wait up to this long for a target that is still starting (a container, a server a fixture "
                         "starts) before its cassettes fail; once it answers, no more waiting.")
    group.addoption("--conformance-openapi", metavar="SPEC",
                    help="Also judge every answer by this OpenAPI description (Stripe's spec3.json or spec3.yaml).")
    parser.addini("conformance_paths", type="paths", default=[],
                  help="Where cassettes are collected from (default: wherever pytest collects); "
                       "only files with a cassette header are.")


def seconds(text: str) -> float:
    """A bounded number of seconds: a wait that never ends is not a wait."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 <= value <= 3600:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds from 0 to 3600")
    return value


def days(text: str) -> float:
    """A positive number of days."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive number of days")
    return value


class StaleCassetteWarning(pytest.PytestWarning):
    """A cassette holding answers older than --conformance-max-age, or of no known age."""


def _judge_age(item: pytest.Item, path: Path) -> None:
    """Warn (fail with --conformance-strict) when the cassette's answers are older than --conformance-max-age."""
    max_age = item.config.getoption("conformance_max_age")
    if max_age is None:
        return
    from conformance.cassette.age import judge_ages

    ages = judge_ages(load(path).interactions, max_age)
    said = [line for line in (ages.older_message(), ages.undated_message()) if line]
    if not said:
        return
    message = f"{path}: " + f"\n{path}: ".join(said)
    if item.config.getoption("conformance_strict"):
        pytest.fail(message, pytrace=False)
    item.warn(StaleCassetteWarning(message))


_NAMED = pytest.StashKey[frozenset[Path]]()
_WAITED = pytest.StashKey[bool]()
_BASELINE = pytest.StashKey[Any]()
_SETTINGS = pytest.StashKey[Any]()  # conformance.settings.RunSettings, built once per session


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("conformance_target", None):
        try:
            config.stash[_SETTINGS] = _settings(config)
        except ConformanceError as error:
            raise pytest.UsageError(str(error)) from None
        baseline = config.getoption("conformance_baseline", None)
        if baseline:
            from conformance.report.baseline import read_report

            try:
                config.stash[_BASELINE] = read_report(Path(baseline))
            except ConformanceError as error:
                raise pytest.UsageError(str(error)) from None


def _settings(config: pytest.Config) -> RunSettings:
    """The run's settings from the plugin's options, as ``conformance run`` builds them from its own: the
    profile, the key (a live one refused), and the contract read and converted once per process."""
    from conformance.api_profile import load_api_profile
    from conformance.settings import RunChoices, api_key_of

    api = load_api_profile(config.getoption("conformance_api"))
    api_key = api_key_of(api, config.getoption("conformance_api_key"), config.getoption("conformance_allow_live"),
                         "--conformance-allow-live")
    spec = config.getoption("conformance_openapi", None)
    return RunChoices(api, api_key, strict=config.getoption("conformance_strict"),
                      tokens=config.getoption("conformance_tokens"), openapi=Path(spec) if spec else None,
                      timeout=config.getoption("conformance_timeout")).settings()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    config = parent.config
    if not config.getoption("conformance_target"):
        return None
    roots: list[Path] = config.getini("conformance_paths")
    if roots and not any(file_path == root or root in file_path.parents for root in roots):
        return None
    if is_cassette(file_path):  # by its header: a docker-compose.yaml is not collected
        return CassetteFile.from_parent(parent, path=file_path)
    if file_path.suffix in (".yaml", ".yml") and file_path.resolve() in _named_on_command_line(config):
        # named on purpose yet not a cassette (empty, say): fails with the reader's reason, not pytest's "not found"
        return CassetteFile.from_parent(parent, path=file_path)
    if file_path.suffix in (".yaml", ".yml", ".json", ".har") and foreign_recording(file_path):
        # collected to fail, as reading it says what it is and how to convert it: never silently skipped
        return CassetteFile.from_parent(parent, path=file_path)
    return None


def _named_on_command_line(config: pytest.Config) -> frozenset[Path]:
    """The files the command line names (``cassettes/c.yaml``, ``c.yaml::c``), resolved once per session."""
    named = config.stash.get(_NAMED, None)
    if named is None:
        here = config.invocation_params.dir
        named = config.stash[_NAMED] = frozenset((here / arg.partition("::")[0]).resolve() for arg in config.args)
    return named


def _wait_for_target(config: pytest.Config, target: str) -> None:
    """The target reachable, waiting up to ``--conformance-wait-for-target`` before the first cassette only."""
    from conformance.replay import check_target

    wait = 0.0 if config.stash.get(_WAITED, False) else config.getoption("conformance_wait_for_target")
    config.stash[_WAITED] = True  # once: a target that never came is not waited for again by every cassette
    try:
        check_target(target, wait=wait)
    except ConformanceError as error:
        # the core's hint names the command line's option; under pytest it is this plugin's
        raise ConformanceError(str(error).replace("(--wait-for-target ", "(--conformance-wait-for-target ")) from None


class CassetteFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        yield CassetteItem.from_parent(self, name=self.path.stem)


class ConformanceFailure(Exception):
    def __init__(self, result: CassetteResult) -> None:
        self.result = result


class CassetteItem(pytest.Item):
    def runtest(self) -> None:
        # Imported here: deepdiff and httpx cost every pytest start that does not replay.
        from conformance.replay import replay_cassette

        config = self.config
        target = config.getoption("conformance_target").rstrip("/")
        settings: RunSettings = config.stash[_SETTINGS]
        try:
            if not is_cassette(self.path):  # named on the command line yet no cassette: the reader says why
                load(self.path)
            _judge_age(self, self.path)
            _wait_for_target(config, target)
            with settings.client(target) as client:
                result = replay_cassette(self.path, client, settings.options)
        except ConformanceError as error:
            pytest.fail(str(error), pytrace=False)
        known = config.stash.get(_BASELINE, None)
        if known is not None:
            from conformance.findings import RunResult
            from conformance.report.baseline import accept_baseline

            accept_baseline(RunResult(target, [result]), known)
        self.user_properties.append(("interactions", len(result.interactions)))
        if not result.error and not result.interactions:
            pytest.fail(f"no interactions to replay in {self.path}: nothing was checked", pytrace=False)
        if result.error or result.failed:
            raise ConformanceFailure(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:
        if isinstance(excinfo.value, ConformanceFailure):
            result = excinfo.value.result
            failing = next((i for i in result.interactions if i.outcome == Outcome.FAILED), None)
            first = next((f for f in failing.findings if f.is_failure), None) if failing else None
            # The first line is what pytest's short summary quotes: the first failing step and its rule.
            lines = [f"cannot read the cassette: {result.error}"] if result.error else []
            if failing is not None and first is not None:
                lines.append(f"#{failing.index} {failing.endpoint} {finding_line(first, 80)} "
                             f"({failing.method} {failing.path})")
                if failing.curl:
                    lines.append(f"reproduce: {failing.curl}")
            for interaction in result.interactions:
                mark = {Outcome.PASSED: "ok  ", Outcome.WARNING: "warn", Outcome.FAILED: "FAIL",
                        Outcome.BLOCKED: "blkd"}[interaction.outcome]
                lines.append(f"{mark} #{interaction.index} {interaction.endpoint} {interaction.method} {interaction.path}")
                if interaction.outcome != Outcome.PASSED:
                    lines += [f"       {finding_line(f, 120)}" for f in interaction.findings]
            return "\n".join(lines)
        if isinstance(excinfo.value, pytest.fail.Exception):  # our own one-line reasons: no traceback
            return str(excinfo.value.msg)
        return str(excinfo.getrepr(style=style or "short"))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, 0, f"cassette {self.name}"
