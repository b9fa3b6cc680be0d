"""Every command the README shows runs as shown: its `sh` blocks, in order, in a folder of their own.

What stands for the user's world is substituted, nothing else: Stripe (`https://api.stripe.com`) and the
user's target (`http://127.0.0.1:8420`) are test fakes on 127.0.0.1, `python -m my_fake` is the test fake,
`app.py` and `tests/` a small application of the stripe SDK and its test. The install lines are the wheel test's
(`test_installed.py`); every other line is run and must succeed.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
APP = '''"""A checkout that saves a card."""
import os

import stripe

stripe.api_key = os.environ.get("STRIPE_API_KEY", "sk_test_cardconformance")
stripe.api_base = os.environ.get("STRIPE_API_BASE", stripe.api_base)


def main():
    customer = stripe.Customer.create(email="jenny@example.com")
    card = stripe.Customer.create_source(customer.id, source="tok_visa")
    stripe.Customer.modify_source(customer.id, card.id, name="Jenny Rosen")
    return stripe.Customer.retrieve_source(customer.id, card.id).name


if __name__ == "__main__":
    print(main())
'''
APP_TEST = "import app\n\n\ndef test_the_card_is_saved_with_its_name():\n    assert app.main() == 'Jenny Rosen'\n"
INSTALLS = ("pip wheel ", "pipx install ", "pip install ")  # test_installed.py builds the wheel and installs it


def readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", readme, re.M | re.S):
        for line in block.splitlines():
            line = re.sub(r"\s+#(?![^\"]*\"\s*$).*$", "", line).strip()  # a trailing comment, not a quoted '#'
            if line:
                commands.append(line)
    return commands


def test_the_readme_shows_commands():
    commands = readme_commands()
    assert any(c.startswith("conformance record ") for c in commands)
    assert any(c.startswith("conformance matrix ") for c in commands)
    assert all(c.startswith(("conformance ", *INSTALLS)) for c in commands), commands


def test_every_command_of_the_readme_runs_as_shown(tmp_path):
    work = tmp_path / "project"
    (work / "tests").mkdir(parents=True)
    (work / "app.py").write_text(APP)
    (work / "tests" / "test_app.py").write_text(APP_TEST)
    python = shlex.quote(sys.executable)
    env = {k: v for k, v in os.environ.items() if k != "STRIPE_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)  # the test fake standing for `my_fake`
    with FakeStripe() as stripe_api, FakeStripe() as target:
        ran = []
        for command in readme_commands():
            if command.startswith(INSTALLS):
                continue
            line = (command.replace("https://api.stripe.com", stripe_api)
                    .replace("http://127.0.0.1:8420", target)
                    .replace("python -m my_fake", f"{python} -m tests.stripe_fake")
                    .replace("python -m conformance.suite.localstripe_target", f"{python} -m conformance.suite.localstripe_target")
                    .replace("python -m pytest", f"{python} -m pytest -p no:cacheprovider")
                    .replace("python app.py", f"{python} app.py"))
            line = re.sub(r"^conformance ", f"{python} -m conformance ", line)
            done = subprocess.run(["sh", "-c", line], cwd=work, env=env, capture_output=True, text=True, timeout=300)
            # the matrix shows localstripe's deviations: 1 is its verdict, not a failure of the command
            allowed = (0, 1) if command.startswith(("conformance matrix ", "conformance demo")) else (0,)
            assert done.returncode in allowed, f"{command}\n{done.stdout}\n{done.stderr}"
            ran.append(command.split()[1])
    assert {"demo", "record", "check", "serve", "run", "compare", "matrix"} <= set(ran)
    assert (work / "cassettes" / "checkout.yaml").is_file() and (work / "matrix.html").is_file()
    assert (work / "comparison.md").is_file() and (work / "reports" / "junit.xml").is_file()
