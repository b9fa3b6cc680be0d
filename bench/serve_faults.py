"""What fault injection costs an unfaulted request through `conformance serve`: the same requests with no
``--fault`` and with ``--fault 500@tokens.retrieve`` (a route no request hits), rounds alternated.

    python bench/serve_faults.py [--customers N] [--rounds R]

Each request is what an SDK sends: a customer created and a card attached (POSTs with an ``Idempotency-Key``,
so the session remembers each answer), the card retrieved and listed. A real `conformance serve` (mitmdump and
the addon), an httpx client on 127.0.0.1, the proxy started before the clock.

A measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from serving import serving  # noqa: E402

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response  # noqa: E402

FORM = "application/x-www-form-urlencoded"


def recorded(customers: int) -> list[Interaction]:
    """Per customer: created, a card attached, retrieved, listed."""
    form = {"Content-Type": FORM}
    json_type = {"Content-Type": "application/json"}
    interactions = []
    for number in range(customers):
        base = f"/v1/customers/cus_{number:014d}"
        card = {"id": f"card_{number:014d}", "object": "card", "last4": "4242"}
        interactions += [
            Interaction(Request("POST", "/v1/customers", {}, form, Body("form", {"email": f"c{number}@example.com"})),
                        Response(200, json_type, Body("json", {"id": f"cus_{number:014d}", "object": "customer"}))),
            Interaction(Request("POST", f"{base}/sources", {}, form, Body("form", {"source": "tok_visa"})),
                        Response(200, json_type, Body("json", card))),
            Interaction(Request("GET", f"{base}/sources/{card['id']}"), Response(200, json_type, Body("json", card))),
            Interaction(Request("GET", f"{base}/sources", query={"object": "card"}),
                        Response(200, json_type, Body("json", {"object": "list", "data": [card]}))),
        ]
    return interactions


def requests(customers: int) -> list[tuple[str, str, bytes]]:
    sent = []
    for number in range(customers):
        base = f"/v1/customers/cus_{number:014d}"
        sent += [("POST", "/v1/customers", f"email=c{number}%40example.com".encode()),
                 ("POST", f"{base}/sources", b"source=tok_visa"),
                 ("GET", f"{base}/sources/card_{number:014d}", b""),
                 ("GET", f"{base}/sources?object=card", b"")]
    return sent


def through_serve(cassette: Path, sent: list[tuple[str, str, bytes]], faults: list[str]) -> float:
    """Requests a second through one serve session."""
    arguments = [arg for fault in faults for arg in ("--fault", fault)]
    with serving(cassette, *arguments) as address, httpx.Client(base_url=address, timeout=60) as http:
        started = time.perf_counter()
        for method, path, body in sent:
            headers = {"Content-Type": FORM, "Idempotency-Key": str(uuid.uuid4())} if body else {}
            answer = http.request(method, path, content=body, headers=headers)
            assert answer.status_code == 200, (answer.status_code, answer.text[:200])
        elapsed = time.perf_counter() - started
    return len(sent) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--customers", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cassette = Path(scratch) / "cards.yaml"
        with CassetteWriter(cassette) as writer:
            for interaction in recorded(options.customers):
                writer.append(interaction)
        sent = requests(options.customers)
        plain: list[float] = []
        faulted: list[float] = []
        for _ in range(options.rounds):  # alternated: a drift of the machine falls on both
            plain.append(through_serve(cassette, sent, []))
            faulted.append(through_serve(cassette, sent, ["500@tokens.retrieve"]))
        for name, rates in (("no --fault", plain), ("--fault 500@tokens.retrieve", faulted)):
            print(f"{name}: {statistics.median(rates):.0f} req/s median of {len(rates)} "
                  f"({', '.join(f'{r:.0f}' for r in rates)}), {len(sent)} requests a round")
        print(f"ratio: {statistics.median(faulted) / statistics.median(plain):.2f}x")


if __name__ == "__main__":
    main()
