"""``conformance serve`` answers an application's retries as Stripe would, and injects the faults that make it
retry: the official stripe SDK (``max_network_retries=2``) as a real process, through a real mitmdump."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from ..stripe_fake import FakeStripe

pytestmark = pytest.mark.integration

# One card attached to a new customer, then the customer's cards read back: what a retry must not double.
APP = """
import os, sys, stripe
client = stripe.StripeClient("sk_test_" + "a" * 24, base_addresses={"api": os.environ["STRIPE_API_BASE"]},
                             max_network_retries=int(sys.argv[1]) if len(sys.argv) > 1 else 2)
customer = client.v1.customers.create(params={"email": "jenny.rosen@example.com"})
card = client.v1.customers.payment_sources.create(customer.id, params={"source": "tok_visa"})
cards = client.v1.customers.payment_sources.list(customer.id, params={"object": "card"})
# one write (an unbuffered print writes each argument apart, and the proxy's lines share this stdout)
sys.stdout.write(f"customer {customer.id} card {card.id} {card.last4} cards {[c.id for c in cards.data]}\\n")
"""

# An application that retries a dropped attach itself, under a new key each time: the bug faults find.
NEW_KEY_APP = """
import os, stripe, sys, uuid
client = stripe.StripeClient("sk_test_" + "a" * 24, base_addresses={"api": os.environ["STRIPE_API_BASE"]},
                             max_network_retries=0)
customer = client.v1.customers.create(params={"email": "jenny.rosen@example.com"})
for attempt in range(2):
    try:
        card = client.v1.customers.payment_sources.create(customer.id, params={"source": "tok_visa"},
                                                       options={"idempotency_key": str(uuid.uuid4())})
        break
    except stripe.APIConnectionError:
        continue
sys.stdout.write(f"card {card.id}\\n")
"""


def conformance(*args: object, cwd: Path, timeout: float = 90) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "conformance", *map(str, args)], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


def printed(done: subprocess.CompletedProcess[str], prefix: str) -> list[str]:
    """The application's lines starting with ``prefix``: the proxy's own lines share the same stdout, and under
    load one of them can land in front of the application's on the same line."""
    return [line[line.index(prefix):] for line in done.stdout.splitlines() if prefix in line]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[Path, str]:
    """The application recorded once against the fake: its cassette and what it printed."""
    folder = tmp_path_factory.mktemp("retries")
    (folder / "app.py").write_text(APP)
    (folder / "new_key_app.py").write_text(NEW_KEY_APP)
    cassette = folder / "cards.yaml"
    with FakeStripe() as upstream:
        done = conformance("record", "--upstream", upstream, "--cassette", cassette, "--", sys.executable, "app.py",
                           cwd=folder)
    assert done.returncode == 0, done.stdout + done.stderr
    found = printed(done, "customer ")
    assert len(found) == 1, done.stdout + done.stderr
    [output] = found
    return cassette, output


def serve(recorded: tuple[Path, str], *args: object, app: str = "app.py") -> subprocess.CompletedProcess[str]:
    cassette, _ = recorded
    # --exhausted miss: a second execution of the attach would be a miss, not the recorded card again
    return conformance("serve", cassette, "--exhausted", "miss", *args, "--", sys.executable, app,
                       cwd=cassette.parent)


def test_a_connection_dropped_after_the_attach_is_retried_into_the_replay_not_a_second_card(recorded):
    done = serve(recorded, "--fault", "drop-after@sources.create")
    assert done.returncode == 0, done.stdout + done.stderr
    assert printed(done, "customer ") == [recorded[1]]  # the same output as without the fault
    assert "FAULT drop-after@sources.create on POST /v1/customers/" in done.stdout
    # one attach consumed: three recorded answers given, the retry answered by the replay
    assert ("Session: 3 requests answered (and 1 replayed for a repeated idempotency key), 0 misses, "
            "0 recorded interactions never asked for") in done.stdout, done.stdout
    assert "sources: retried with the same idempotency key" in done.stdout


def test_a_429_on_the_first_request_is_retried_and_succeeds(recorded):
    done = serve(recorded, "--fault", "429@*:1")
    assert done.returncode == 0, done.stdout + done.stderr
    assert printed(done, "customer ") == [recorded[1]]
    assert "FAULT 429@* on POST /v1/customers: retried with the same idempotency key" in done.stdout, done.stdout
    assert "Session: 3 requests answered, 0 misses" in done.stdout


@pytest.mark.parametrize("kind", ["500", "503", "drop"])
def test_each_fault_before_an_answer_is_retried_into_the_recorded_answer(recorded, kind):
    done = serve(recorded, "--fault", f"{kind}@sources.create")
    assert done.returncode == 0, done.stdout + done.stderr
    assert printed(done, "customer ") == [recorded[1]]
    assert f"FAULT {kind}@sources.create on POST /v1/customers/" in done.stdout
    assert "Session: 3 requests answered, 0 misses, 0 recorded interactions never asked for" in done.stdout


def test_an_application_that_gives_up_is_said_to(recorded):
    cassette, _ = recorded
    done = conformance("serve", cassette, "--fault", "drop@customers.create", "--allow-misses", "--",
                       sys.executable, "app.py", "0", cwd=cassette.parent)
    assert done.returncode == 1  # the application's own failure, passed through
    assert "FAULT drop@customers.create on POST /v1/customers: gave up" in done.stdout, done.stdout


def test_a_retry_under_a_new_key_is_named_the_applications_bug_and_fails_the_session(recorded):
    done = serve(recorded, "--fault", "drop-after@sources.create", "--allow-misses", app="new_key_app.py")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "retried with a new idempotency key: the application's bug" in done.stdout, done.stdout
    assert "MISS POST /v1/customers/" in done.stdout  # the second execution: no second attach was recorded


def test_bad_faults_are_one_line_and_exit_2(recorded):
    cassette, _ = recorded
    for fault, said in [("418@*", "unknown kind '418'"), ("429@sorces.create", "did you mean sources.create?"),
                        ("500@*%150", "%150 is no probability"), ("drop@*:0", ":0 is no request number")]:
        done = conformance("serve", cassette, "--fault", fault, "--", sys.executable, "-c", "", cwd=cassette.parent)
        assert done.returncode == 2, (fault, done.stdout, done.stderr)
        assert said in done.stderr and len(done.stderr.strip().splitlines()) == 1, (fault, done.stderr)
        assert "Traceback" not in done.stderr + done.stdout and "Serving" not in done.stdout
