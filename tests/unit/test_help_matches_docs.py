"""Help and the manual say the same: every option a command's ``--help`` shows is in its line of docs/cli.md and
every option that line names exists; the same for the pytest plugin's options; ``docs --help`` lists every page;
the extras the command line asks for are the ones pyproject.toml declares."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.extras import COMMAND_EXTRAS, EXTRAS

ROOT = Path(__file__).resolve().parents[2]
CLI_MD = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def documented_commands() -> dict[str, set[str]]:
    """Each command's synopsis in cli.md's table (what its first cell puts in backticks) as the options it names."""
    rows = {}
    for line in CLI_MD.splitlines():
        if line.startswith("| `conformance "):
            synopsis = re.split(r"(?<!\\)\|", line)[1]
            words = " ".join(re.findall(r"`([^`]*)`", synopsis))
            rows[words.split()[1]] = set(OPTION.findall(words))
    return rows


def shown_options(command: click.Command) -> set[str]:
    return {name for param in command.params if isinstance(param, click.Option) and not param.hidden
            for name in (*param.opts, *param.secondary_opts)} - {"-h", "--help"}


@pytest.mark.parametrize("name", sorted(main.commands))
def test_every_option_of_the_help_is_in_cli_md_and_nothing_more(name):
    documented = documented_commands()
    assert name in documented, f"docs/cli.md has no line for `conformance {name}`"
    shown = shown_options(main.commands[name])
    assert shown - documented[name] == set(), f"{name}: in --help, not in docs/cli.md"
    assert documented[name] - shown == set(), f"{name}: in docs/cli.md, not an option of the command"


def test_every_documented_command_exists():
    assert set(documented_commands()) <= set(main.commands)


def test_every_option_of_the_pytest_plugin_is_in_cli_md_and_nothing_more():
    from conformance import pytest_plugin

    shown: set[str] = set()

    class Recorder:  # what the plugin declares, without pytest's private parser
        def getgroup(self, *args, **kwargs):
            return self

        def addoption(self, *names, **kwargs):
            shown.update(names)

        def addini(self, *args, **kwargs):
            pass

    pytest_plugin.pytest_addoption(Recorder())
    section = CLI_MD.split("## The pytest plugin", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `(--conformance-[\w-]+)", section, re.M))
    assert shown == documented


def test_docs_help_lists_every_page_of_the_manual():
    shown = CliRunner().invoke(main, ["docs", "--help"], terminal_width=200).output
    listed = set(re.findall(r"^  ([a-z-]+)  ", shown.split("Pages:", 1)[1], re.M))
    assert listed == {page.stem for page in (ROOT / "docs").glob("*.md")}


def test_the_extras_asked_for_are_declared_with_the_modules_they_bring():
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert set(COMMAND_EXTRAS.values()) <= set(EXTRAS) <= set(declared)
    distribution = {"mitmproxy": "mitmproxy", "stripe": "stripe", "localstripe": "localstripe",
                    "aiohttp": "localstripe"}  # aiohttp comes with localstripe
    for extra, (_, modules) in EXTRAS.items():
        names = {re.split(r"[<>=\[; ]", requirement, maxsplit=1)[0] for requirement in declared[extra]}
        assert {distribution[module] for module in modules} <= names, extra
        assert {distribution[module] for module in modules} <= {
            re.split(r"[<>=\[; ]", r, maxsplit=1)[0] for r in declared["all"]}
    core = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert not {re.split(r"[<>=\[; ]", r, maxsplit=1)[0] for r in core} & set(distribution.values())
