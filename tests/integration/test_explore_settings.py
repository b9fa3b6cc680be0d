"""`conformance explore` replays and reports its failing cassettes with run's own settings (``RunChoices``) and
run's report formats: what its reports say of a finding is what `run CASSETTE --target URL` says, a test card's
number named as run names it; its reports are checked as run checks them, before anything is explored.

The targets are processes of their own on 127.0.0.1 (the test fake, or the fake naming each card by its number);
each exploration stops at its first rule broken and is bounded by ``--max-examples``, never by the clock."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from conformance.cli import main
from conformance.replay import target_process

from .test_explore import explore

pytestmark = pytest.mark.integration

NUMBER_AS_NAME = f"{sys.executable} -m tests.card_name_fake --port {{port}} --deviation update-ignores-name"
MARKER = re.compile(r"\[REDACTED:card-number[^\]]*\]")


def markers(path: Path) -> set[str]:
    """The card-number markers a report holds."""
    return set(MARKER.findall(path.read_text().replace("\\]", "]").replace("\\[", "[")))


def test_explore_s_reports_name_a_test_card_as_run_s_reports_do(tmp_path):
    """The fake names each card by its number and an update keeps it: explore finds card.attributes, and its run
    reports of the cassette say `[REDACTED:card-number:visa-4242]` where `run` does — built by hand, explore's
    replay had a redactor without the profile's test cards and said `[REDACTED:card-number]`."""
    ours = {kind: tmp_path / f"explore.{kind}" for kind in ("xml", "html", "md")}
    with target_process(NUMBER_AS_NAME) as target:
        code, output, data = explore(target, tmp_path, "--max-examples", "300", "--max-failures", "1",
                                     "--junit-xml", str(ours["xml"]), "--html-report", str(ours["html"]),
                                     "--markdown-report", str(ours["md"]))
        assert code == 1 and data["failures"][0]["rule"] == "card.attributes", output
        cassette = data["failures"][0]["cassette"]
        run_xml, run_md = tmp_path / "run.xml", tmp_path / "run.md"
        replayed = CliRunner().invoke(main, ["run", cassette, "--target", target, "--junit-xml", str(run_xml),
                                             "--markdown-report", str(run_md)])
        assert replayed.exit_code == 1, replayed.output
    assert markers(run_xml) == {"[REDACTED:card-number:visa-4242]"}, run_xml.read_text()
    for report in ours.values():
        text = report.read_text()
        assert markers(report) == markers(run_xml), text
        assert "4242424242424242" not in text and "4242 4242" not in text
    assert markers(ours["md"]) == markers(run_md)


@pytest.mark.parametrize("second", ["--junit-xml", "--html-report", "--markdown-report"])
def test_two_reports_on_one_path_are_refused_in_one_line_before_exploring(second, tmp_path):
    """As run refuses them: the second report would replace the first. Nothing is explored (no target needed)."""
    same = tmp_path / "report"
    result = CliRunner().invoke(main, ["explore", "--target", "http://127.0.0.1:9", "--json-report", str(same),
                                       second, str(same), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "both name" in line and second in line and "--json-report" in line, line
    assert not same.exists() and not (tmp_path / "out").exists()


def test_a_report_on_the_openapi_description_is_refused_in_one_line(tmp_path):
    """The description is read, then would be overwritten by the report: refused before anything starts."""
    spec = Path(__file__).parent.parent / "schemas" / "cards-openapi.yaml"
    copy = tmp_path / "cards-openapi.yaml"
    copy.write_bytes(spec.read_bytes())
    result = CliRunner().invoke(main, ["explore", "--target", "http://127.0.0.1:9", "--openapi", str(copy),
                                       "--markdown-report", str(copy)])
    assert result.exit_code == 2, result.output
    (line,) = result.output.strip().splitlines()
    assert "--markdown-report" in line and "input" in line, line
    assert copy.read_bytes() == spec.read_bytes()
