"""The matrix's columns follow the command line, --target and --target-cmd mixed."""

from __future__ import annotations

from conformance.cli.matrix import _targets_in_order, matrix_command


def _columns(*args: str) -> list[tuple[str, str | None, str | None]]:
    ctx = matrix_command.make_context("matrix", list(args))
    with ctx:
        chosen = _targets_in_order(ctx.params["targets"], ctx.params["target_cmds"])
    return [(target.name, target.url, target.command) for target in chosen]


def test_mixed_targets_keep_the_command_line_order():
    columns = _columns("--suite", "--target", "b=http://127.0.0.1:1", "--target-cmd", "a=./fake --port {port}",
                       "--target=c=http://127.0.0.1:2", "--timeout", "5")
    assert [name for name, _, _ in columns] == ["b", "a", "c"]
    assert columns[1][2] == "./fake --port {port}" and columns[2][1] == "http://127.0.0.1:2"


def test_a_value_that_reads_like_an_option_is_a_value():
    columns = _columns("--target-cmd", "z=./fake --port {port}", "--api-key", "--target", "--target", "y=http://h:1")
    assert [name for name, _, _ in columns] == ["z", "y"]
