"""A command whose extra is not installed stops before it starts, with one line naming the extra, exit 2; a core
command never needs one. (tests/integration/test_installed.py holds the same in a real core-only install.)"""

from __future__ import annotations

import importlib.util

import pytest
from click.testing import CliRunner

from conformance import extras
from conformance.cli import main


@pytest.fixture
def without(monkeypatch):
    """Hide top-level modules from the finder, as an install without their extra would."""
    hidden: set[str] = set()
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name.partition(".")[0] in hidden else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    return hidden.update


@pytest.mark.parametrize(("args", "extra", "module"), [
    (["record", "--upstream", "http://127.0.0.1:9", "--cassette", "c.yaml"], "proxy", "mitmproxy"),
    (["serve", "c.yaml"], "proxy", "mitmproxy"),
    (["capture", "--api-key", "sk_test_x", "--out", "suite"], "suite", "stripe"),
    (["demo", "--out", "reports"], "demo", "localstripe"),
])
def test_a_command_names_the_extra_it_lacks_before_it_starts(tmp_path, monkeypatch, without, args, extra, module):
    monkeypatch.chdir(tmp_path)
    without({module})
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 2, done.output
    assert done.output.count("\n") == 1 and done.output.startswith(f"Error: conformance {args[0]} needs {module}")
    assert f"pip install 'card-conformance[{extra}]'" in done.output
    assert list(tmp_path.iterdir()) == []  # nothing started, nothing written


def test_help_needs_no_extra_and_the_group_lists_them(without):
    without({"mitmproxy", "stripe", "localstripe", "aiohttp"})
    for command in ("record", "serve", "capture", "demo"):
        assert CliRunner().invoke(main, [command, "--help"]).exit_code == 0
    shown = CliRunner().invoke(main, ["--help"], terminal_width=120).output
    assert "record   pip install 'card-conformance[proxy]'" in shown


def test_an_import_of_an_extra_deep_in_a_core_command_is_one_line(tmp_path, monkeypatch):
    def reading(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'mitmproxy'", name="mitmproxy")

    import conformance.record.importing as importing

    monkeypatch.setattr(importing, "import_recording", reading)
    monkeypatch.setattr(importing, "cassette_names", lambda paths, *args, **kwargs: {p: p.stem for p in paths})
    flows = tmp_path / "app.flows"
    flows.write_bytes(b"x")
    done = CliRunner().invoke(main, ["import", str(flows), "--out", str(tmp_path / "out")])
    assert done.exit_code == 2, done.output
    assert done.output == ("Error: conformance import needs mitmproxy, which the 'proxy' extra installs (record and "
                           "serve): pip install 'card-conformance[proxy]'\n")


def test_a_missing_module_of_no_extra_keeps_its_traceback(monkeypatch):
    def broken(*args, **kwargs):
        raise ModuleNotFoundError("No module named 'yaml'", name="yaml")

    import conformance.suite.reference as reference

    monkeypatch.setattr(reference, "doc_pages", broken)
    done = CliRunner().invoke(main, ["docs"])
    assert isinstance(done.exception, ModuleNotFoundError)  # a broken core install is a bug to see, not an extra


def test_every_extra_is_found_here():
    assert all(extras.missing_modules(extra) == [] for extra in extras.EXTRAS)  # the test venv has every extra


def test_no_core_door_imports_an_extra_at_import_time():
    import subprocess
    import sys

    probe = ("import sys, conformance.cli, conformance.pytest_plugin, conformance.replay, conformance.checks, "
             "conformance.report, conformance.record.importing; "
             "print(sorted({m.split('.')[0] for m in sys.modules} & {'mitmproxy', 'stripe', 'localstripe', 'aiohttp'}))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
