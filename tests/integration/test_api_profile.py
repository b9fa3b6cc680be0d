"""A resource family is one API profile change plus its scenario: payment methods, recorded from localstripe with
the official SDK, checked, replayed against a fresh localstripe and served offline — every stage handed the
profile by ``--api``, and nothing of the engine written for them."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from conformance.suite.localstripe_target import running
from tests.client_lines import client_json

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
# A user's module beside their cassettes, as the command line and mitmdump find it: the current directory.
API = "payment_methods:PAYMENT_METHODS"

# The scenario: what an application does with payment methods, through the official SDK.
SESSION = '''
import json, os, stripe, sys

client = stripe.StripeClient("sk_test_paymentmethods", base_addresses={"api": os.environ["STRIPE_API_BASE"]},
                             stripe_version="2023-08-16", max_network_retries=0)
v1 = client.v1
customer = v1.customers.create({"email": "jenny.rosen@example.com"})
card = {"number": "4242424242424242", "exp_month": "8", "exp_year": "2031", "cvc": "314"}
pm = v1.payment_methods.create({"type": "card", "card": card})
other = v1.payment_methods.create({"type": "card", "card": dict(card, number="5555555555554444")})
attached = v1.payment_methods.attach(pm.id, {"customer": customer.id})
v1.payment_methods.attach(other.id, {"customer": customer.id})
v1.payment_methods.update(pm.id, {"metadata": {"order_id": "6735"}})
fetched = v1.payment_methods.retrieve(pm.id)
first = v1.payment_methods.list({"customer": customer.id, "type": "card", "limit": 1})
after = v1.payment_methods.list({"customer": customer.id, "type": "card", "limit": 1,
                                 "starting_after": first.data[0].id})
detached = v1.payment_methods.detach(pm.id)
sys.stdout.write(json.dumps({"session": [attached.customer == customer.id, fetched.metadata.to_dict(),
                                         len(first.data) + len(after.data), detached.customer,
                                         fetched.card.last4]}) + "\\n")
'''
ENDPOINTS = ["customers.create", "payment_methods.create", "payment_methods.create", "payment_methods.attach",
             "payment_methods.attach", "payment_methods.update", "payment_methods.retrieve", "payment_methods.list",
             "payment_methods.list", "payment_methods.detach"]


def conformance(*args, cwd: Path, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def session_output(done: subprocess.CompletedProcess[str]) -> list:
    return client_json(done.stdout, '{"session"')["session"]


def interactions(report: Path) -> list[dict]:
    return [i for c in json.loads(report.read_text())["cassettes"] for i in c["interactions"]]


def test_payment_methods_are_one_profile_change_through_every_stage(tmp_path):
    (tmp_path / "session.py").write_text(SESSION)
    shutil.copy(ROOT / "tests" / "profiles" / "payment_methods.py", tmp_path)  # the one profile change
    cassette = tmp_path / "payment_methods.yaml"
    with running() as upstream:
        recorded = conformance("record", "--api", API, "--upstream", upstream, "--cassette", cassette, "--",
                               sys.executable, "session.py", cwd=tmp_path)
    assert recorded.returncode == 0, recorded.stdout + recorded.stderr
    assert session_output(recorded) == [True, {"order_id": "6735"}, 2, None, "4242"]
    documents = [doc for doc in yaml.safe_load_all(cassette.read_text()) if doc and "request" in doc]
    assert [doc["endpoint"] for doc in documents] == ENDPOINTS  # the profile named every route as recorded
    created = documents[1]["request"]["form"]
    assert created["card"]["number"] == "[REDACTED:card-number:visa-4242]"  # its test card, by name

    checked = conformance("check", "--api", API, cassette, cwd=tmp_path)
    assert checked.returncode == 0 and "0 problems" in checked.stdout, checked.stdout

    with running() as fresh:  # every id minted anew: customers and payment methods bound
        replayed = conformance("run", "--api", API, cassette, "--target", fresh, "--json-report",
                               tmp_path / "profile.json", cwd=tmp_path)
        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        # the same cassette under the plain Stripe profile: the family's routes are unknown to it
        plain = conformance("run", cassette, "--target", fresh, "--json-report", tmp_path / "plain.json",
                            cwd=tmp_path)
        assert plain.returncode == 0, plain.stdout + plain.stderr
    judged = interactions(tmp_path / "profile.json")
    assert [i["endpoint"] for i in judged] == ENDPOINTS and all(i["outcome"] == "passed" for i in judged)
    # the documented list rules judge the family's lists by their action, page after page
    assert [i["index"] for i in judged if "invariant.list" in (i.get("judged") or [])] == [8, 9]
    assert not [i for i in interactions(tmp_path / "plain.json") if "invariant.list" in (i.get("judged") or [])]

    served = conformance("serve", "--api", API, cassette, "--", sys.executable, "session.py", cwd=tmp_path)
    assert served.returncode == 0 and "0 misses" in served.stdout, served.stdout + served.stderr
    assert session_output(served) == session_output(recorded)


def test_a_profile_that_cannot_be_found_is_one_line_and_exit_2(tmp_path):
    cassette = ROOT / "cassettes" / "cards-list.yaml"
    shutil.copy(ROOT / "tests" / "profiles" / "payment_methods.py", tmp_path)
    for api, said in (("nosuch", "unknown API profile 'nosuch'"),
                      ("nosuch:PROFILE", "cannot import nosuch"),
                      ("payment_methods:NOPE", "has no ApiProfile named NOPE")):
        done = conformance("check", "--api", api, cassette, cwd=tmp_path)
        assert done.returncode == 2, done.stdout + done.stderr
        (line,) = done.stderr.strip().splitlines()
        assert line.startswith("Error: ") and said in line
