"""Options of `run`, `matrix` and `explore` beyond those every command shares: the size cap on a target's answers,
how an https:// target is trusted, where reports go (from the one table of report formats), the command that starts a
target."""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

import click

from conformance.net import DEFAULT_MAX_BODY, size_text
from conformance.report.formats import FORMATS, ReportFormat, chosen

__all__ = ["max_body_option", "trust_options", "check_trust", "Size", "check_outputs", "command_with_port",
           "report_options", "chosen_reports"]

F = TypeVar("F", bound=Callable[..., Any])
_REPORTS = "conformance.reports"  # where the report options leave their paths, in the context's meta

_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "kib": 2**10, "m": 10**6, "mb": 10**6, "mib": 2**20,
          "g": 10**9, "gb": 10**9, "gib": 2**30}
_SIZE = re.compile(r"\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*", re.IGNORECASE)


class Size(click.ParamType):
    """A number of bytes: ``10MB``, ``512KiB``, ``2000000``."""

    name = "size"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        found = _SIZE.fullmatch(str(value))
        unit = found.group(2).lower() if found else ""
        if found is None or unit not in _UNITS:
            self.fail(f"{value!r} is no size: give bytes, or a number with KB, MB, GB (KiB, MiB…), such as 10MB",
                      param, ctx)
        size = int(float(found.group(1)) * _UNITS[unit])
        if size < 1:
            self.fail(f"{value!r}: the cap must be at least 1 byte", param, ctx)
        return size


max_body_option = click.option(
    "--max-body", type=Size(), default=DEFAULT_MAX_BODY, metavar="SIZE",
    help=f"The most an answer's body may hold, as sent and as decoded (gzip, zstd, brotli); a larger one is a "
         f"finding of its exchange and the run goes on (default {size_text(DEFAULT_MAX_BODY)}; e.g. 50MB).")


def trust_options(targets: bool = False) -> Callable[[F], F]:
    """``--cacert FILE`` and ``--insecure``: how an https:// target's certificate is verified (``targets``: every
    target's, as the matrix says it). :func:`check_trust` refuses the two together."""
    cacert = click.option("--cacert", type=click.Path(dir_okay=False, exists=True, path_type=Path),
                          help="Trust this CA certificate (PEM) for https:// targets." if targets else
                          "Trust this CA certificate (PEM) for an https:// target with a certificate of its own.")
    insecure = click.option("--insecure", is_flag=True,
                            help="Do not verify https:// targets' certificates." if targets else
                            "Do not verify an https:// target's certificate at all.")

    def decorate(command: F) -> F:
        return cacert(insecure(command))

    return decorate


def check_trust(cacert: Path | None, insecure: bool) -> None:
    """Refuse ``--cacert`` with ``--insecure``: trusting one CA and trusting none cannot both be meant."""
    if cacert and insecure:
        raise click.UsageError("give --cacert FILE or --insecure, not both")


def _same(one: Path, other: Path) -> bool:
    """Whether two paths name one file (through symbolic or hard links too)."""
    try:
        if one.exists() and other.exists():
            return os.path.samefile(one, other)
    except OSError:
        pass
    return one.resolve() == other.resolve()


def check_outputs(outputs: Sequence[tuple[str, Path]], inputs: Sequence[Path]) -> None:
    """Before anything is read or written: no output on an input (``run input.yaml --json-report input.yaml``
    would overwrite the cassette) and no two outputs on one path (the second would replace the first)."""
    from conformance.cli.main import InputError

    for index, (option, path) in enumerate(outputs):
        for earlier, other in outputs[:index]:
            if _same(path, other):
                raise InputError(f"{option} and {earlier} both name {path}: give each report a path of its own")
        for given in inputs:
            if _same(path, given):
                raise InputError(f"{option} {path} is an input of this command: it would be overwritten; write the "
                                 "report elsewhere")


def command_with_port(command: str, option: str = "--target-cmd") -> str:
    """A target command must say where to listen: without ``{port}`` it would be waited for in vain."""
    from conformance.cli.main import InputError

    if "{port}" not in command:
        raise InputError(f"{option}: the command has no {{port}}, so the target cannot listen on the port the run "
                         "chooses and waits on; put {port} where the command takes its port, such as "
                         "\"./server --port {port}\"")
    return command


def report_options(matrix: bool = False,
                   help_of: Callable[[ReportFormat], str | None] | None = None) -> Callable[[F], F]:
    """The report options of the format table (``conformance.report.formats``): every format for ``run``, those a
    matrix is written in for ``matrix`` (with the matrix's help); ``help_of`` gives another command's help for a
    format, or None to leave it out (``explore`` writes its own JSON). Their paths are read with
    :func:`chosen_reports`, not passed to the command one parameter each."""

    def remember(ctx: click.Context, param: click.Parameter, value: Path | None) -> None:
        if value is not None:
            ctx.meta.setdefault(_REPORTS, {})[str(param.name)] = value

    def decorate(command: F) -> F:
        for fmt in reversed(FORMATS):  # the last decorator applied is the first option shown
            help_text = help_of(fmt) if help_of is not None else fmt.matrix_help if matrix else fmt.help
            if help_text is None:
                continue
            command = click.option(fmt.option, fmt.name, type=click.Path(dir_okay=False, path_type=Path),
                                   help=help_text, expose_value=False, callback=remember)(command)
        return command

    return decorate


def chosen_reports(matrix: bool = False) -> list[tuple[ReportFormat, Path]]:
    """The reports the current command was asked to write (format, path), in the table's order."""
    return chosen(click.get_current_context().meta.get(_REPORTS, {}), matrix=matrix)
