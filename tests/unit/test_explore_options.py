"""`conformance explore`'s run report options come from the one table of report formats, as run's do: a format
added to the table is a report explore writes too (its JSON excepted: explore's `--json-report` is its own)."""

from __future__ import annotations

import dataclasses

import click
from click.testing import CliRunner

from conformance.cli import explore as explore_cli
from conformance.cli import options
from conformance.cli.explore import explore_command
from conformance.report import formats
from conformance.report.formats import FORMATS


def test_a_format_added_to_the_table_is_an_option_explore_reads(monkeypatch, tmp_path):
    extra = dataclasses.replace(FORMATS[1], name="sarif", option="--sarif-report", file_name="report.sarif",
                                label="SARIF")
    monkeypatch.setattr(formats, "FORMATS", (*FORMATS, extra))
    monkeypatch.setattr(options, "FORMATS", formats.FORMATS)
    seen = []

    @click.command()
    @options.report_options(help_of=explore_cli._run_report_help)
    def command() -> None:
        seen.extend((fmt.name, path.name) for fmt, path in options.chosen_reports())

    result = CliRunner().invoke(command, ["--sarif-report", str(tmp_path / "x.sarif"),
                                          "--junit-xml", str(tmp_path / "x.xml")])
    assert result.exit_code == 0, result.output
    assert seen == [("junit", "x.xml"), ("sarif", "x.sarif")]  # the table's order, not the command line's
    assert "--json-report" not in CliRunner().invoke(command, ["--help"]).output
    assert "Write run's SARIF of the failing cassettes" in CliRunner().invoke(command, ["--help"]).output


def test_explore_shows_the_table_s_report_options_after_its_own_json():
    names = [param.opts[0] for param in explore_command.params if isinstance(param, click.Option)]
    shown = [name for name in names if name in {fmt.option for fmt in FORMATS}]
    assert shown == [fmt.option for fmt in FORMATS]
    (own,) = [param for param in explore_command.params if "--json-report" in param.opts]
    assert "explored and found" in str(getattr(own, "help", ""))
