"""A run's settings, built in one place from what a user chose, whichever door the choice came through.

``conformance run``, ``conformance matrix``, the pytest plugin, the demo and the benchmarks all replay cassettes;
each used to assemble the replay options (the comparison rules, the redactor with the profile's test cards, the
contract, the token mode…) and the transport's limits (timeout, body cap, certificate check) by hand, and a door
that forgot one replayed otherwise than ``run`` — the plugin redacted no test card names, the benchmarks
measured a replay no command makes. Here a door says what was chosen (:class:`RunChoices`) and gets the settings
(:class:`RunSettings`); a new choice is added once, and every door hands it over. ``conformance explore`` and
its benchmark get their exploration's options from the same settings (:meth:`RunSettings.explore_options`).

Imports stay light (the replay engine only when settings are built): ``run --help`` loads this module.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from conformance.errors import refuse_live_key

if TYPE_CHECKING:
    from conformance.api_profile import ApiProfile, TokenMode
    from conformance.contract import Contract
    from conformance.explore import ExploreOptions
    from conformance.findings import RunResult
    from conformance.replay import ReplayOptions, TargetClient

__all__ = ["RunChoices", "RunSettings", "api_key_of", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 10.0  # seconds for each answer (the whole exchange), as every door defaults it
_LIVE = "a run creates and deletes objects"


def api_key_of(api: ApiProfile, given: str | None, allow_live: bool, allow_option: str) -> str:
    """The key a run sends: the one given, else the profile's test key; a live key only when the door's
    ``allow_option`` (``--allow-live``, ``--conformance-allow-live``) says so (a run creates and deletes objects)."""
    return refuse_live_key(given or api.default_api_key, _LIVE, allow_live, allow_option)


@dataclass(frozen=True)
class RunChoices:
    """What a user chose for a run: the API and its key, how to compare and judge, how to reach the target.

    Every field has the default every door gives it, so a door names only what its user may change. ``contract``
    is an OpenAPI description already read (reading it is the door's: it fails with the door's own words);
    ``openapi`` names one to read when the settings are built, for doors that have only its path.
    """

    api: ApiProfile
    api_key: str
    strict: bool = False
    ignore: tuple[str, ...] = ()
    exact: tuple[str, ...] = ()
    tokens: TokenMode = "magic"
    contract: Contract | None = None
    openapi: Path | None = None
    stripe_version: str | None = None
    probes: tuple[str, ...] = ()
    timeout: float = DEFAULT_TIMEOUT
    max_body: int | None = None  # None: conformance.net.DEFAULT_MAX_BODY
    cacert: Path | None = None
    insecure: bool = False

    def settings(self) -> RunSettings:
        """The replay options and the transport's limits these choices make (the contract read once, here)."""
        from conformance.checks import CompareRules
        from conformance.net import DEFAULT_MAX_BODY
        from conformance.redaction import Redactor
        from conformance.replay import ReplayOptions

        contract = self.contract
        if contract is None and self.openapi is not None:
            from conformance.contract import load_contract  # jsonschema-rs only when asked for

            contract = load_contract(self.openapi, self.api)
        options = ReplayOptions(api_key=self.api_key, profile=self.api,
                                rules=CompareRules(strict=self.strict, ignore=self.ignore, exact=self.exact),
                                redactor=Redactor(cards=self.api.cards), tokens=self.tokens, contract=contract,
                                stripe_version=self.stripe_version, probes=tuple(dict.fromkeys(self.probes)))
        verify: bool | str = False if self.insecure else str(self.cacert) if self.cacert else True
        return RunSettings(options, self.timeout, DEFAULT_MAX_BODY if self.max_body is None else self.max_body,
                           verify)


@dataclass(frozen=True)
class RunSettings:
    """What a replay needs beyond the cassettes and the target: the options every cassette is replayed with, and
    the transport's timeout, body cap and certificate check (``verify``: True, a CA file, or False)."""

    options: ReplayOptions
    timeout: float
    max_body: int
    verify: bool | str

    def with_tokens(self, tokens: TokenMode) -> RunSettings:
        """The same settings with another token mode (a matrix's target that needs ``--tokens create``)."""
        return replace(self, options=replace(self.options, tokens=tokens))

    def run(self, cassettes: Sequence[Path], target: str, *, workers: int = 1,
            on_interaction: Callable[[], None] | None = None, stop: threading.Event | None = None) -> RunResult:
        """The cassettes replayed against ``target`` (``conformance.replay.run``) with these settings."""
        from conformance.replay import run

        return run(cassettes, target, self.options, timeout=self.timeout, workers=workers,
                   on_interaction=on_interaction, verify=self.verify, stop=stop, max_body=self.max_body)

    def run_targets(self, cassettes: Sequence[Path], urls: dict[str, str], tokens: Mapping[str, TokenMode], *,
                    workers: int = 1, on_interaction: Callable[[], None] | None = None,
                    stop: threading.Event | None = None) -> dict[str, RunResult]:
        """The suite against several targets (``conformance.replay.targets.run_targets``), each with its token
        mode and otherwise these settings."""
        from conformance.replay.targets import run_targets

        options = {name: self.with_tokens(tokens[name]).options for name in urls}
        return run_targets(cassettes, urls, options, timeout=self.timeout, workers=workers,
                           on_interaction=on_interaction, verify=self.verify, stop=stop, max_body=self.max_body)

    def explore_options(self, target: str, *, seed: int = 0, max_examples: int = 100_000, budget: float = 60.0,
                        max_failures: int = 0, reference: str = "", database: Path | None = None) -> ExploreOptions:
        """An exploration of ``target`` (``conformance.explore.explore``) judged as a replay with these settings
        judges: the profile's operations, key, version and retry headers, token mode and contract, the
        transport's limits (timeout, body cap, certificate check: the reference's too); with ``reference``,
        compared as ``run`` compares (``reference_rules``). ``database``: the folder of Hypothesis' example
        database (a failing sequence kept for the next exploration), None for none."""
        from conformance.explore import ExploreOptions
        from conformance.explore.reference import reference_rules
        from conformance.explore.session import TokenPlan

        api, options = self.options.profile, self.options
        return ExploreOptions(target.rstrip("/"), options.api_key, api.explorer(), seed=seed,
                              max_examples=max_examples, budget=budget, database=database,
                              database_key=f"conformance-explore:{api.name}".encode(), timeout=self.timeout,
                              version_header=api.headers.version, max_failures=max_failures,
                              reference=reference.rstrip("/"), rules=reference_rules(api),
                              idempotency_header=api.headers.idempotency, contract=options.contract,
                              tokens=TokenPlan(api.token_path, api.cards, api.token_parameters)
                              if options.tokens == "create" else None, verify=self.verify, max_body=self.max_body)

    def client(self, target: str) -> TargetClient:
        """A client of one target with these settings' limits (the pytest plugin replays a cassette per item)."""
        from conformance.replay import TargetClient

        return TargetClient(target, timeout=self.timeout, verify=self.verify, max_body=self.max_body)
