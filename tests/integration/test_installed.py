"""The tool as a user installs it: the built wheel in a fresh virtualenv, used from a folder outside the checkout.

The wheel is built once from a copy of the project's files. With every extra (``installed``), it is installed
with ``--no-deps`` into a new venv whose dependencies come from this test run's own environment (a ``.pth`` line:
the same packages PyPI would give, with no download); ``pip check`` then holds the wheel's declared requirements
to them. The core alone (``core``) is installed as ``pip install card-conformance`` would, its requirements from
the package index: it must replay, check and run the pytest plugin against a real target with neither mitmproxy
nor the stripe SDK, and name the extra a command lacks. Nothing of the checkout is on the path: the reference
suite, the documentation and the addons must come from the installed package.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
PROJECT_FILES = ("pyproject.toml", "README.md", "conformance", "proxy", "cassettes", "docs")


def fresh_venv(base: Path) -> Path:
    """A new virtualenv without a pip of its own (seeding one costs ~10 s on a loaded machine); the test run's pip
    manages it with ``--python``, as it manages an environment it was installed in."""
    venv = base / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=300)
    return venv


def pip(venv: Path) -> list[str]:
    """This test run's pip, acting on ``venv``."""
    return [sys.executable, "-m", "pip", "--disable-pip-version-check", "--python", str(venv / "bin" / "python")]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel, built from a copy of the project's files."""
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    source.mkdir()
    for name in PROJECT_FILES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(ROOT / name, source / name)
    wheels = base / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--disable-pip-version-check", "--no-deps",
                    str(source), "-w", str(wheels)], check=True, timeout=600, capture_output=True)
    return next(wheels.glob("card_conformance-*.whl"))


@pytest.fixture(scope="module")
def installed(tmp_path_factory, wheel):
    """(bin folder of the fresh venv, a working folder outside the checkout)."""
    base = tmp_path_factory.mktemp("installed")
    venv = fresh_venv(base)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([*pip(venv), "install", "--quiet", "--no-deps", str(wheel)], check=True, timeout=300,
                   capture_output=True)
    checked = subprocess.run([*pip(venv), "check"], capture_output=True, text=True, timeout=120)
    assert "card-conformance" not in checked.stdout, checked.stdout  # its requirements are met
    work = base / "work"
    work.mkdir()
    return venv / "bin", work


@pytest.fixture(scope="module")
def core(tmp_path_factory, wheel):
    """A venv with the core alone, as `pip install card-conformance` makes it: the wheel and its declared
    requirements from the package index (no extra, nothing of this test run's environment), and pytest for the
    plugin. (bin folder, a working folder outside the checkout)."""
    base = tmp_path_factory.mktemp("core")
    venv = fresh_venv(base)
    done = subprocess.run([*pip(venv), "install", "--quiet", str(wheel), "pytest"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    work = base / "work"
    work.mkdir()
    return venv / "bin", work


def use(installed, *args, timeout=180):
    bin_dir, work = installed
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "STRIPE_API_KEY")}
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    return subprocess.run([str(bin_dir / args[0]), *map(str, args[1:])], cwd=work, env=env, capture_output=True,
                          text=True, timeout=timeout)


def test_the_package_is_the_installed_one(installed):
    bin_dir, _ = installed
    where = use(installed, "python", "-c", "import conformance, conformance_proxy; print(conformance.__file__)")
    assert where.returncode == 0 and str(bin_dir.parent) in where.stdout and str(ROOT) not in where.stdout
    typed = use(installed, "python", "-c", "import conformance, pathlib; "
                "print((pathlib.Path(conformance.__file__).parent / 'py.typed').is_file())")
    assert typed.stdout.strip() == "True"  # type checkers read the package's annotations
    addon = use(installed, "conformance", "addon-path", "recorder")
    assert addon.returncode == 0 and addon.stdout.strip().startswith(str(bin_dir.parent))
    assert Path(addon.stdout.strip()).is_file()


def test_demo_runs_from_the_package_alone(installed):
    done = use(installed, "conformance", "demo")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "localstripe is listening" in done.stdout and "replaying 7 cassettes from " in done.stdout
    assert str(ROOT) not in done.stdout
    assert (installed[1] / "reports" / "demo" / "report.html").is_file()


def test_the_docs_the_cassettes_point_at_are_installed(installed):
    recorded = installed[1] / "probe.yaml"
    with FakeStripe() as upstream:
        done = use(installed, "conformance", "record", "--upstream", upstream, "--cassette", recorded, "--",
                   "python", "-c", "import httpx, os; httpx.post(os.environ['STRIPE_API_BASE'] + '/v1/customers', "
                   "headers={'Authorization': 'Bearer sk_test_installed'}, data={'email': 'a@example.com'}, "
                   "timeout=10).raise_for_status()")
    assert done.returncode == 0, done.stdout + done.stderr
    first = recorded.read_text().splitlines()[0]
    assert "conformance docs cassette-format" in first
    page = use(installed, "conformance", "docs", "cassette-format")
    assert page.returncode == 0 and page.stdout.startswith("# Cassette format")


def test_record_serve_run_check_import_and_the_plugin(installed):
    work = installed[1]
    cassette = work / "app.yaml"
    app = ("import httpx, os; base = os.environ['STRIPE_API_BASE']; auth = {'Authorization': 'Bearer sk_test_app'}; "
           "c = httpx.post(base + '/v1/customers', headers=auth, data={'email': 'a@example.com'}, timeout=10).json(); "
           "print(httpx.get(base + '/v1/customers/' + c['id'], headers=auth, timeout=10).json()['email'])")
    with FakeStripe() as upstream:
        recorded = use(installed, "conformance", "record", "--upstream", upstream, "--cassette", cassette, "--",
                       "python", "-c", app)
        assert recorded.returncode == 0 and "a@example.com" in recorded.stdout, recorded.stdout + recorded.stderr
        served = use(installed, "conformance", "serve", cassette, "--", "python", "-c", app)
        assert served.returncode == 0 and "a@example.com" in served.stdout, served.stdout + served.stderr
        assert "0 misses" in served.stdout
        for args in (["run", cassette], ["run", "--suite"]):
            ran = use(installed, "conformance", *args, "--target", upstream)
            assert ran.returncode == 0 and "conforms" in ran.stdout, ran.stdout + ran.stderr
        matrix = use(installed, "conformance", "matrix", "--suite", "--target", f"fake={upstream}")
        assert matrix.returncode == 0 and "no broken behaviour" in matrix.stdout, matrix.stdout + matrix.stderr
        plugin = use(installed, "python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--conformance-target",
                     upstream, cassette)
        assert plugin.returncode == 0 and "passed" in plugin.stdout, plugin.stdout + plugin.stderr
    checked = use(installed, "conformance", "check", cassette)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    har = work / "browser.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "creator": {"name": "test", "version": "1"}, "entries": [{
        "startedDateTime": "2026-01-01T00:00:00Z", "time": 1,
        "request": {"method": "GET", "url": "https://api.stripe.com/v1/customers/cus_1", "httpVersion": "HTTP/1.1",
                    "headers": [], "queryString": [], "cookies": [], "headersSize": -1, "bodySize": 0},
        "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1", "cookies": [],
                     "headers": [{"name": "Content-Type", "value": "application/json"}],
                     "content": {"size": 2, "mimeType": "application/json", "text": "{\"id\": \"cus_1\"}"},
                     "redirectURL": "", "headersSize": -1, "bodySize": 2},
        "cache": {}, "timings": {"send": 0, "wait": 1, "receive": 0}}]}}))
    imported = use(installed, "conformance", "import", har, "--out", work / "imported")
    assert imported.returncode == 0 and (work / "imported" / "browser.yaml").is_file(), imported.stdout + imported.stderr


def test_the_core_has_neither_mitmproxy_nor_the_stripe_sdk(core):
    for module in ("mitmproxy", "stripe", "localstripe"):
        probe = use(core, "python", "-c", f"import {module}")
        assert probe.returncode == 1 and "ModuleNotFoundError" in probe.stderr, module
    listing = subprocess.run([*pip(core[0].parent), "list", "--format=freeze"], capture_output=True, text=True,
                             timeout=120)
    listed = listing.stdout.lower()
    assert listing.returncode == 0 and "card-conformance==" in listed, listing.stdout + listing.stderr
    assert "mitmproxy" not in listed and "\nstripe==" not in listed and "cryptography" not in listed


def test_the_core_runs_the_suite_the_matrix_check_and_the_plugin_against_a_real_target(core):
    work = core[1]
    cassette = work / "cards-list.yaml"
    shutil.copy2(ROOT / "cassettes" / "cards-list.yaml", cassette)
    with FakeStripe() as target:
        ran = use(core, "conformance", "run", "--suite", "--target", target, "--json-report", work / "run.json")
        assert ran.returncode == 0 and "conforms" in ran.stdout, ran.stdout + ran.stderr
        assert json.loads((work / "run.json").read_text())["summary"]["passed"] > 0
        matrix = use(core, "conformance", "matrix", "--suite", "--target", f"fake={target}")
        assert matrix.returncode == 0, matrix.stdout + matrix.stderr
        plugin = use(core, "python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--conformance-target", target,
                     cassette)
        assert plugin.returncode == 0 and "1 passed" in plugin.stdout, plugin.stdout + plugin.stderr
    deleting = shutil.copy2(ROOT / "cassettes" / "cards-delete.yaml", work)
    with FakeStripe(deviation="deleted-false") as target:  # and the plugin fails what deviates
        plugin = use(core, "python", "-m", "pytest", "-p", "no:cacheprovider", "-q", "--conformance-target", target,
                     deleting)
        assert plugin.returncode == 1 and "invariant.deleted" in plugin.stdout, plugin.stdout + plugin.stderr
    checked = use(core, "conformance", "check", cassette)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert use(core, "conformance", "docs", "cli").stdout.startswith("# The command line")


@pytest.mark.parametrize(("args", "extra"), [
    (["record", "--upstream", "http://127.0.0.1:9", "--cassette", "c.yaml", "--", "python", "-c", "pass"], "proxy"),
    (["serve", "cards-list.yaml"], "proxy"),
    (["capture", "--api-key", "sk_test_core"], "suite"),
    (["demo"], "demo"),
])
def test_the_core_names_the_extra_a_command_needs(core, args, extra):
    before = sorted(p.name for p in core[1].iterdir())
    done = use(core, "conformance", *args)
    assert done.returncode == 2, done.stdout + done.stderr
    assert done.stdout == "" and done.stderr.count("\n") == 1, done.stderr  # one line, no traceback
    assert done.stderr.startswith(f"Error: conformance {args[0]} needs ")
    assert f"pip install 'card-conformance[{extra}]'" in done.stderr
    assert sorted(p.name for p in core[1].iterdir()) == before  # nothing written
