"""The ``conformance`` command line: the only place that knows Click and exit codes.

Exit codes: 0 conforms / clean, 1 deviations or problems found, 2 usage or
input error. Every :class:`~conformance.errors.ConformanceError` the core
raises becomes ``Error: <one line>`` and exit 2, here and nowhere else.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

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


class _Commands(click.Group):
    """Turns the core's errors into :class:`InputError` for every command, and an import of an extra's module that
    is not installed into the line that names the extra."""

    command_class = Command

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
