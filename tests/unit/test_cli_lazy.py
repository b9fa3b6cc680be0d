"""A command line pays for the one command it runs: `conformance` imports a command's module when that command is
looked up, `--help` lists every command from a table without importing one, and what a run without an option
needs does not bring that option's libraries (email.policy, jsonschema-rs, PyYAML for a cached cassette, the
JUnit and HTML writers). These are guards against an import creeping back into the start-up, not timings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.cli.main import COMMANDS

COMMAND_MODULES = sorted({where.partition(":")[0] for where, _ in COMMANDS.values()})


def imported_by(code: str, tmp_path: Path, env: dict[str, str] | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running ``code`` (which must not print)."""
    done = subprocess.run([sys.executable, "-c", f"{code}\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "CONFORMANCE_CACHE_DIR": str(tmp_path / "cache"), **(env or {})})
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def among(modules: set[str], *names: str) -> set[str]:
    """Which of ``names`` (a module or any of its submodules) were imported."""
    return {name for name in modules for wanted in names if name == wanted or name.startswith(wanted + ".")}


def test_the_start_up_imports_no_command_and_none_of_their_libraries(tmp_path):
    modules = imported_by("import conformance.cli", tmp_path)
    assert among(modules, *COMMAND_MODULES, "conformance.cli.options", "conformance.replay", "conformance.report",
                 "conformance.cassette", "conformance.contract", "conformance.stripe", "conformance.api_profile",
                 "httpx", "rich", "yaml", "jinja2", "jsonschema_rs", "deepdiff", "hypothesis", "mitmproxy",
                 "email", "xml") == set()


def test_a_command_imports_its_own_module_and_no_other_command(tmp_path):
    modules = imported_by("from click.testing import CliRunner\nfrom conformance.cli import main\n"
                          "assert CliRunner().invoke(main, ['run', '--help']).exit_code == 0", tmp_path)
    assert "conformance.cli.run" in modules
    assert among(modules, *COMMAND_MODULES) == {"conformance.cli.run"}
    assert among(modules, "jinja2", "yaml", "mitmproxy", "xml", "email.policy", "conformance.serve",
                 "conformance.record") == set()


def test_a_cached_cassette_is_read_without_yaml_and_a_plain_one_without_email(tmp_path):
    """The parse cache holds a cassette read once: the next process reads it as JSON, never importing PyYAML; no
    reader imports the email package before a multipart body is met."""
    cassette = tmp_path / "one.yaml"
    cassette.write_text("version: 1\nname: one\n---\nrequest:\n  method: GET\n  path: /v1/customers/cus_1\n"
                        "response:\n  status: 200\n  json:\n    id: cus_1\n", encoding="utf-8")
    read = f"from conformance.cassette import load\nassert len(load({str(cassette)!r}).interactions) == 1"
    first = imported_by(read, tmp_path)
    assert "yaml" in first  # parsed, and the cache filled
    assert among(first, "email", "jsonschema_rs", "conformance.cassette.guard", "conformance.cassette.emitter") \
        == set()  # the writer's modules: a reader needs none
    again = imported_by(read, tmp_path)
    assert among(again, "yaml", "email", "jsonschema_rs", "conformance.cassette.reader",
                 "conformance.cassette.emitter") == set()


def test_the_contract_names_import_no_validator_until_a_contract_is_read(tmp_path):
    """The engine names ``Contract`` and ``expanded_paths`` in every run; jsonschema-rs and the spec's reader come
    with a contract (``--openapi``), not with the names."""
    modules = imported_by("from conformance.contract import Contract, expanded_paths, load_contract\n"
                          "assert expanded_paths({'expand': ['customer.default_source']}) == "
                          "{'customer', 'customer.default_source'}", tmp_path)
    assert among(modules, "jsonschema_rs", "yaml", "conformance.contract.spec", "conformance.contract.explain") \
        == set()


def test_the_report_package_imports_a_writer_when_asked_for_it(tmp_path):
    modules = imported_by("import conformance.report", tmp_path)
    assert among(modules, "xml", "jinja2", "conformance.report.junit", "conformance.report.html",
                 "conformance.report.json_report") == set()
    modules = imported_by("from conformance.report import write_junit, to_json", tmp_path)
    assert {"conformance.report.junit", "conformance.report.json_report"} <= modules
    assert among(modules, "jinja2", "conformance.report.html") == set()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_the_table_names_each_command_where_it_is_and_with_its_own_short_help(name):
    where, sentence = COMMANDS[name]
    module, _, attribute = where.partition(":")
    command = getattr(__import__(module, fromlist=[attribute]), attribute)
    assert isinstance(command, click.Command) and command.name == name
    assert main.commands[name] is command
    for limit in range(10, 120):  # any terminal width cuts the table's sentence as Click cuts the command's help
        assert click.Command(name, help=sentence).get_short_help_str(limit) == command.get_short_help_str(limit)


def test_the_group_help_is_what_click_writes_from_the_commands_themselves():
    ours = CliRunner().invoke(main, ["--help"], terminal_width=100)
    assert ours.exit_code == 0
    with click.Context(main, info_name="main", terminal_width=100, max_content_width=100) as ctx:
        formatter = ctx.make_formatter()
        click.Group.format_commands(main, ctx, formatter)  # Click's own: every command imported and asked
        assert formatter.getvalue() in ours.output
    assert set(main.commands) == set(COMMANDS) and len(main.commands) == len(COMMANDS)


def test_an_unknown_command_is_refused_with_the_nearest_name_as_before():
    done = CliRunner().invoke(main, ["rn"])
    assert done.exit_code == 2
    assert "Error: No such command 'rn'. Did you mean 'run'?" in done.output


def test_a_command_imported_on_demand_still_has_its_errors_made_one_line_by_the_group(tmp_path):
    done = CliRunner().invoke(main, ["run", "--target", "http://127.0.0.1:9", str(tmp_path / "missing.yaml")])
    assert done.exit_code == 2
    assert done.output == f"Error: {tmp_path / 'missing.yaml'}: no such file or directory\n"
