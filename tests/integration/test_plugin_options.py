"""The pytest plugin keeps the promises its help and the manual make: a target still starting is waited for with
``--conformance-wait-for-target`` (the option its own hint names), and a YAML file named on the command line that
is no cassette fails with the reader's reason instead of pytest's "not found". Real pytest processes, a real
target on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.net import free_port

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "cassettes" / "cards-list.yaml"


def pytest_argv(tmp_path: Path, *args: object) -> list[str]:
    return [sys.executable, "-u", "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist", "--rootdir",
            str(tmp_path), *map(str, args)]


def plugin(tmp_path: Path, *args: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(pytest_argv(tmp_path, *args), capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env={**os.environ, "COLUMNS": "300"})


def test_a_target_still_starting_is_waited_for(tmp_path):
    port = free_port()
    target = f"http://127.0.0.1:{port}"
    cassette = shutil.copy2(CASSETTE, tmp_path / "cards-list.yaml")
    runner = subprocess.Popen(pytest_argv(tmp_path, "-v", "--conformance-target", target,
                                          "--conformance-wait-for-target", "60", cassette),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    fake = None
    try:
        seen = ""
        while "cards-list.yaml::cards-list " not in seen:  # -v names the item as it starts: it is waiting now
            char = runner.stdout.read(1)
            if not char:
                break
            seen += char
        fake = subprocess.Popen([sys.executable, "-m", "tests.stripe_fake", "--port", str(port)], cwd=ROOT,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out, _ = runner.communicate(timeout=90)
    finally:
        runner.kill()
        if fake is not None:
            fake.kill()
            fake.wait(timeout=10)
        runner.wait(timeout=10)
    output = seen + out
    assert runner.returncode == 0, output
    assert "1 passed" in output


def test_an_unreachable_target_names_the_plugins_own_wait_option(tmp_path):
    done = plugin(tmp_path, "-q", "--conformance-target", f"http://127.0.0.1:{free_port()}", CASSETTE)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "(--conformance-wait-for-target SECONDS waits for one that is starting)" in done.stdout
    assert "(--wait-for-target " not in done.stdout  # the command line's option does not exist here


@pytest.mark.parametrize("value", ["-1", "x", "1e9"])
def test_a_wait_that_is_not_a_bounded_number_of_seconds_is_a_usage_error(tmp_path, value):
    done = plugin(tmp_path, "-q", "--conformance-target", "http://127.0.0.1:9", "--conformance-wait-for-target",
                  value, CASSETTE)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "is not a number of seconds from 0 to 3600" in done.stderr


@pytest.mark.parametrize(("content", "reason"), [
    ("", "empty file: not a cassette"),
    ("foo: 1\n", "not a cassette: the first document must be a header"),
])
def test_a_file_named_on_the_command_line_that_is_no_cassette_says_why(tmp_path, content, reason):
    named = tmp_path / "suite.yaml"
    named.write_text(content)
    shutil.copy2(CASSETTE, tmp_path / "cards-list.yaml")
    (tmp_path / "docker-compose.yaml").write_text("services: {}\n")  # not named: never collected
    with FakeStripe() as target:
        done = plugin(tmp_path, "-q", "-rA", "--conformance-target", target, named, tmp_path / "cards-list.yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "not found" not in done.stdout + done.stderr
    assert f"FAILED suite.yaml::suite - {named}" in done.stdout and reason in done.stdout
    assert "1 failed, 1 passed" in done.stdout
    with FakeStripe() as target:  # a folder's YAML files that are no cassettes stay uncollected
        folder = plugin(tmp_path, "-q", "--conformance-target", target, tmp_path)
    assert folder.returncode == 0 and "1 passed" in folder.stdout, folder.stdout + folder.stderr
