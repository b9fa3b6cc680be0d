"""The ``conformance`` command line: the only place that knows Click and exit codes.

Exit codes: 0 conforms / clean, 1 deviations or problems found, 2 usage or
input error. Every :class:`~conformance.errors.ConformanceError` the core
raises becomes ``Error: <one line>`` and exit 2, here and nowhere else.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
import threading
from collections.abc import Iterator, MutableMapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from conformance import __version__
from conformance.errors import ConformanceError

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


if TYPE_CHECKING:
    from conformance.api_profile import ApiProfile
    from conformance.contract import Contract


OPENAPI_HELP = ("Also judge every response by this OpenAPI description (Stripe's spec3.json or spec3.yaml, "
                "from github.com/stripe/openapi).")


# Options `run` and `matrix` share, declared once.
timeout_option = click.option("--timeout", type=click.FloatRange(min=0.1), default=10.0, show_default=True,
                              help="Seconds to wait for each answer (the whole exchange).")
wait_for_target_option = click.option(
    "--wait-for-target", type=click.FloatRange(min=0), default=0, metavar="SECONDS",
    help="Wait up to this long for a target URL that is still starting before giving up (exit 2).")


API_HELP = ("The API the cassettes speak: its routes, ids, test cards and documented rules. 'stripe', or "
            "module:attribute naming an ApiProfile (one extended with another resource family).")
api_option = click.option("--api", "api_name", default="stripe", show_default=True, metavar="NAME|MODULE:ATTR",
                          envvar="CONFORMANCE_API", help=API_HELP)


def api_profile(name: str) -> ApiProfile:
    """The API profile ``--api`` names: the one place the engine's profile is chosen."""
    from conformance.api_profile import load_api_profile

    return load_api_profile(name)


def contract_of(openapi: Path | None, api: ApiProfile | None = None) -> Contract | None:
    from conformance.contract import load_contract

    return load_contract(openapi, api) if openapi is not None else None


class InputError(click.ClickException):
    """Bad input or environment: ``Error: <one line>``, exit code 2, no traceback."""

    exit_code = 2

    def format_message(self) -> str:
        return self.message


class Command(click.Command):
    """A command that needs an extra of the install (``record``: mitmproxy) says which before it starts, once its
    options are read (``--help`` still works without it)."""

    def invoke(self, ctx: click.Context) -> object:
        from conformance.extras import COMMAND_EXTRAS, require_extra

        extra = COMMAND_EXTRAS.get(self.name or "")
        if extra is not None:
            require_extra(extra, f"conformance {self.name}")
        return super().invoke(ctx)


# Every command: the module:attribute that defines it, and the first sentence of its help (what `conformance
# --help` shows, cut to the terminal's width). A command's module is imported only when that command is looked up
# (run, its --help, completion), so a command line pays for the one command it runs, not for all of them; the
# sentences stay equal to the commands' own (tests/unit/test_cli_lazy.py).
COMMANDS: dict[str, tuple[str, str]] = {
    "addon-path": ("conformance.cli.docs:addon_path_command",
                   'Where an addon is, for a mitmproxy of your own: mitmdump -s "$(conformance addon-path recorder)".'),
    "capture": ("conformance.cli.capture:capture",
                "Re-record the reference suite: drive the stripe SDK through every scenario while recording."),
    "check": ("conformance.cli.check:check",
              "Lint cassettes: format, no secret, every request replayable; judge the recording by what the tool knows "
              "of the API (a weak reference: missing routes, refused test cards, documented rules broken, test cards "
              "answered as other cards), and with --openapi every recorded response as the published contract "
              "describes it."),
    "compare": ("conformance.cli.compare:compare_command",
                "Compare two JSON reports: regressions (new failures), fixes (gone) and unchanged ones."),
    "demo": ("conformance.cli.demo:demo",
             "Replay the reference suite against a local localstripe and write the reports (needs the 'demo' extra)."),
    "diff": ("conformance.cli.diff:diff",
             "Compare two recordings of the same traffic (files, or directories paired by cassette name) with run's "
             "comparison: ids bound between them, minted values by shape, lists as lists."),
    "docs": ("conformance.cli.docs:docs_command",
             "The manual that ships with the package: print one PAGE (below), or list them all without one."),
    "explore": ("conformance.cli.explore:explore_command",
                "Generate sequences of requests from the API profile and judge every answer by the documented rules."),
    "import": ("conformance.cli.importing:import_command",
               "Convert recordings of other tools into cassettes: VCR.py / pytest-recording (YAML or JSON), Ruby VCR, "
               "HAR 1.2 (browsers, mitmproxy's hardump, Schemathesis), mitmproxy flow files (mitmdump -w)."),
    "matrix": ("conformance.cli.matrix:matrix_command",
               "Replay the suite against several targets and judge each documented behaviour and route per target: "
               "holds, broken (its problems), known (its profile), not judged (why) or not covered."),
    "matrix-history": ("conformance.cli.matrix_history:matrix_history_command",
                       "Several matrices' JSON (`conformance matrix --json-report`), oldest first, as one history: "
                       "each target's score per run, the interop score, and each behaviour that broke or was fixed, "
                       "with when."),
    "record": ("conformance.cli.record:record", "Record the traffic of an application into a YAML cassette."),
    "run": ("conformance.cli.run:run_command", "Replay cassettes against a target and report every deviation."),
    "serve": ("conformance.cli.serve:serve", "Answer requests from cassettes, offline: never a request goes upstream."),
}


class LazyCommands(MutableMapping[str, click.Command]):
    """A group's commands by name (Click's ``Group.commands``), each imported from its ``module:attribute`` when it
    is first looked up. Its names are known without importing anything, so listing them, ``No such command`` and
    its "Did you mean" stay what they were when every command was imported at start-up."""

    def __init__(self, table: dict[str, tuple[str, str]]) -> None:
        self._where = {name: where for name, (where, _) in table.items()}
        self._loaded: dict[str, click.Command] = {}

    def __getitem__(self, name: str) -> click.Command:
        if name not in self._loaded:
            module, _, attribute = self._where[name].partition(":")  # KeyError: no such command
            command = getattr(importlib.import_module(module), attribute)  # its decorator registers it here too
            if not isinstance(command, click.Command):
                raise TypeError(f"{self._where[name]} is no click command")
            self._loaded[name] = command
        return self._loaded[name]

    def __setitem__(self, name: str, command: click.Command) -> None:
        self._loaded[name] = command

    def __delitem__(self, name: str) -> None:
        if name not in self._loaded and name not in self._where:
            raise KeyError(name)
        self._loaded.pop(name, None)
        self._where.pop(name, None)

    def __iter__(self) -> Iterator[str]:
        return iter(dict.fromkeys([*self._where, *self._loaded]))

    def __len__(self) -> int:
        return len(self._where.keys() | self._loaded.keys())


def _short_help(name: str, limit: int) -> str:
    """A command's line in the group's help, from its table sentence: a stand-in command with that help cuts it to
    ``limit`` with Click's own rule, so the line is the one the command itself would give."""
    return click.Command(name, help=COMMANDS[name][1]).get_short_help_str(limit)


class _Commands(click.Group):
    """Turns the core's errors into :class:`InputError` for every command, and an import of an extra's module that
    is not installed into the line that names the extra. Its commands are lazy (:class:`LazyCommands`, Click's
    lazy-group pattern): the group's help lists them from :data:`COMMANDS` without importing one."""

    command_class = Command

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands = LazyCommands(COMMANDS)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The commands and their short help, cut as Click cuts it, from the table: ``--help`` imports none."""
        names = self.list_commands(ctx)
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, _short_help(name, limit) if name in COMMANDS else self.commands[name].get_short_help_str(limit))
                for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def format_epilog(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        from conformance.extras import COMMAND_EXTRAS

        with formatter.section("Extras (the core runs every other command)"):
            formatter.write_dl([(command, f"pip install 'card-conformance[{extra}]'")
                                for command, extra in COMMAND_EXTRAS.items()])
        super().format_epilog(ctx, formatter)

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except ConformanceError as error:
            raise InputError(str(error)) from None
        except ModuleNotFoundError as error:
            from conformance.extras import MissingExtra, extra_of_module

            extra = extra_of_module(error.name)
            if extra is None:
                raise
            name = ctx.invoked_subcommand or "this"
            raise InputError(str(MissingExtra(extra, f"conformance {name}", [str(error.name)]))) from None
        except KeyboardInterrupt:
            click.echo("interrupted", err=True)
            raise SystemExit(130) from None


class WrappingCommand(Command):
    """A command that can run another one: everything after ``--`` is that command, untouched."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if "--" in args:
            at = args.index("--")
            args, ctx.meta["wrapped"] = args[:at], tuple(args[at + 1:])
            if not ctx.meta["wrapped"]:
                raise click.UsageError("nothing to run after --")
        return super().parse_args(ctx, args)


@click.group(cls=_Commands, context_settings=CONTEXT)
@click.version_option(__version__, prog_name="card-conformance")
def main() -> None:
    """Record, serve and conformance-test Stripe's card endpoints."""


def suite_paths(paths: tuple[Path, ...], with_suite: bool) -> tuple[Path, ...]:
    """PATHS, and the reference suite with --suite; neither is a usage error."""
    if with_suite:
        from conformance.suite.reference import reference_suite

        paths = (*paths, reference_suite())
    if not paths:
        raise click.UsageError("give the cassettes to replay (files or directories), or --suite for the reference "
                               "suite")
    return paths


def cassette_files(paths: tuple[Path, ...]) -> list[Path]:
    """The cassette files of the arguments, or one clear InputError."""
    from conformance.cassette import find_cassettes

    cassettes = find_cassettes(list(paths))
    if not cassettes:
        raise InputError(f"no cassettes (*.yaml, *.yml) in {', '.join(map(str, paths))}")
    return cassettes


def interactions_to_check(cassettes: list[Path], paths: tuple[Path, ...], verb: str) -> int:
    """How many interactions the cassettes hold; none at all is an input error, never a pass."""
    from conformance.cassette import count_interactions, iter_interactions

    total = sum(count_interactions(path) for path in cassettes)
    if total:
        return total
    for path in cassettes:
        for _ in iter_interactions(path):  # an unreadable cassette raises its own error, which says more
            pass
    raise InputError(f"no interactions to {verb} in {', '.join(map(str, paths))}: every cassette is empty")


@contextlib.contextmanager
def interruptible() -> Iterator[tuple[threading.Event, list[int]]]:
    """Ctrl-C and SIGTERM set the event (and say which signal came) instead of raising, from the moment this is
    entered, so what runs stops cleanly: a run after the requests in flight, a proxy even while it starts. A
    second Ctrl-C stops at once."""
    stop = threading.Event()
    received: list[int] = []

    def on_signal(signum: int, frame: object) -> None:
        if received:  # a second Ctrl-C: the user means it
            raise KeyboardInterrupt
        received.append(signum)
        stop.set()
        click.echo(f"{signal.Signals(signum).name}: stopping (again to stop at once)", err=True)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, received
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
