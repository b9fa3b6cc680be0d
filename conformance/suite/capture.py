"""``conformance capture``: re-record the reference suite by driving the stripe SDK through the recorder.

One recorder (mitmdump with the recording addon) per scenario, in front of the
upstream — ``https://api.stripe.com`` with a test key, or any Stripe-compatible
server — so each scenario lands in its own cassette under the same file name
as before: a re-recording is a clean diff in review.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance.api_profile import TokenMode
from conformance.mitm import MitmProcess, addon_path
from conformance.net import free_port
from conformance.redaction import Redactor
from conformance.stripe.testcards import CARDS
from conformance.suite.scenarios import SUITE, SUITE_API_VERSION, Scenario, Session, captured_from

__all__ = ["CapturedScenario", "capture_suite"]


@dataclass
class CapturedScenario:
    name: str
    path: Path
    steps: list[str]
    error: str | None = None


def capture_suite(
    upstream: str, out_dir: Path, api_key: str, *, tokens: TokenMode = "magic", only: tuple[str, ...] = (),
    mitm_options: tuple[str, ...] = (), echo: Callable[[str], None] = print, source: str | None = None,
    api_version: str = SUITE_API_VERSION, scenarios: Mapping[str, Scenario] = SUITE,
) -> Iterator[CapturedScenario]:
    """Each scenario into its own cassette; ``source`` says where the answers come from (default: the upstream's
    URL), and each header adds what public sources disagree on. The SDK is pinned to ``api_version``, which
    each header states."""
    out_dir.mkdir(parents=True, exist_ok=True)
    redactor = Redactor(cards=CARDS)
    for name, scenario in scenarios.items():
        if only and name not in only:
            continue
        path = out_dir / f"{name}.yaml"
        port = free_port()
        with tempfile.TemporaryDirectory(prefix="conformance-capture-") as confdir:
            args = ["--mode", f"reverse:{upstream}", "-s", addon_path("recorder"), "--set", f"confdir={confdir}",
                    "--set", f"cassette={path}", "--set", "cassette_mode=overwrite", "--set", f"cassette_name={name}",
                    "--set", "flow_detail=0", "--set", "record_echo=false",
                    "--set", f"cassette_api_version={api_version}"]
            for fixture in scenario.fixtures:
                args += ["--set", f"cassette_fixtures={fixture}"]
            for mode in ("ignore", "loose", "nullable"):
                for pattern in scenario.compare.get(mode, ()):
                    args += ["--set", f"cassette_{mode}={pattern}"]
            args += ["--set", f"cassette_source={source or captured_from(upstream)} {scenario.disputed}"]
            for option in mitm_options:
                args += ["--set", option]
            mitm = MitmProcess(args, "127.0.0.1", port, redactor=redactor, echo=echo, ready_line="recording into ")
            mitm.start()
            session = Session(f"http://127.0.0.1:{port}", api_key, tokens=tokens, api_version=api_version)
            error = None
            try:
                scenario.run(session)
            except RuntimeError as failure:
                error = redactor.text(str(failure))
            finally:
                mitm.stop()
        yield CapturedScenario(name, path, session.steps, error)
