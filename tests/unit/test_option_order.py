"""Several repeatable options read back in the order the command line gave them (a matrix's columns)."""

from __future__ import annotations

import click
from click.testing import CliRunner

from conformance.cli.option_order import RecordsArguments, in_command_line_order


@click.command(cls=RecordsArguments)
@click.option("--target", multiple=True)
@click.option("--target-cmd", multiple=True)
@click.option("--api-key")
def columns(target: tuple[str, ...], target_cmd: tuple[str, ...], api_key: str | None) -> None:
    order = in_command_line_order(click.get_current_context(), ("--target", "--target-cmd"))
    assert sorted(value for _, value in order) == sorted(target + target_cmd)  # the values Click read, each once
    click.echo(" ".join(f"{option}:{value}" for option, value in order))


def test_the_order_of_the_command_line_across_options():
    result = CliRunner().invoke(columns, ["--target-cmd", "b=./b {port}", "--api-key", "--target", "--target",
                                          "a=http://127.0.0.1:1", "--target-cmd=c=./c", "--target=d=http://x"])
    assert result.exit_code == 0, result.output
    # "--target" given as the value of --api-key is a value, not an option; "--target-cmd=c=./c" keeps its "="
    assert result.output.strip() == (
        "--target-cmd:b=./b {port} --target:a=http://127.0.0.1:1 --target-cmd:c=./c --target:d=http://x")
