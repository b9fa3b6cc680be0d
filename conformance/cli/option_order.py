"""Values of several repeatable options in the order the command line gave them.

Click collects each repeatable option's values on their own: ``--target a=…
--target-cmd b=… --target c=…`` reaches the command as two lists, and which
came first is lost. A matrix's columns follow the command line, so the command
keeps its arguments (:class:`RecordsArguments`) and reads them back in order
(:func:`in_command_line_order`).
"""

from __future__ import annotations

from collections.abc import Sequence

import click

from conformance.cli.main import Command

__all__ = ["RecordsArguments", "in_command_line_order"]


class RecordsArguments(Command):
    """A command that keeps its arguments as given (``ctx.meta["arguments"]``), before Click sorts them by option."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        ctx.meta["arguments"] = tuple(args)
        return super().parse_args(ctx, args)


def in_command_line_order(ctx: click.Context, options: Sequence[str]) -> list[tuple[str, str]]:
    """(option, value) of each of ``options`` (``--target``, ``--target-cmd``) as the command line gave them,
    ``--option VALUE`` or ``--option=VALUE``; nothing after ``--``."""
    arguments = list(ctx.meta.get("arguments", ()))
    # every option that takes a value: what follows it is its value, even when it reads like an option
    valued = {name for param in ctx.command.params if isinstance(param, click.Option) and not param.is_flag
              and not param.count for name in (*param.opts, *param.secondary_opts)}
    found: list[tuple[str, str]] = []
    at = 0
    while at < len(arguments):
        argument = arguments[at]
        if argument == "--":
            break
        name, equals, value = argument.partition("=")
        if name in options and equals:
            found.append((name, value))
        elif argument in valued and at + 1 < len(arguments):
            if argument in options:
                found.append((argument, arguments[at + 1]))
            at += 1
        at += 1
    return found
