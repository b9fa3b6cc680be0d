"""What a miss costs `conformance serve` against a large cassette: 1,000 misses against 2,000 interactions.

    python bench/serve_misses.py [--interactions N] [--misses M] [--no-http]

Two measures: the matcher alone (``InteractionIndex.closest``, in this process), and the whole answer through
a real `conformance serve` (mitmdump and the addon) to an httpx client on 127.0.0.1, the proxy started before
the clock. The misses are what applications send: an id the cassette never saw, a body with another value, a
method the path was never asked with, a path nothing is recorded under.

A measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from serving import serving  # noqa: E402

from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response, iter_interactions  # noqa: E402
from conformance.redaction import Redactor  # noqa: E402
from conformance.serve.matching import InteractionIndex, LiveRequest  # noqa: E402
from conformance.stripe import STRIPE  # noqa: E402

FORM = "application/x-www-form-urlencoded"


def recorded(count: int) -> list[Interaction]:
    """A customer created, its card added, retrieved, updated, listed, deleted: six interactions per customer."""
    interactions: list[Interaction] = []
    for number in range(count // 6 + 1):
        customer, card = f"cus_{number:014d}", f"card_{number:014d}"
        base = f"/v1/customers/{customer}"
        form = {"Content-Type": FORM}
        interactions += [
            Interaction(Request("POST", "/v1/customers", {}, form, Body("form", {"email": f"c{number}@example.com"})),
                        Response(200)),
            Interaction(Request("POST", f"{base}/sources", {}, form, Body("form", {"source": "tok_visa"})), Response(200)),
            Interaction(Request("GET", f"{base}/cards/{card}"), Response(200)),
            Interaction(Request("POST", f"{base}/sources/{card}", {}, form, Body("form", {"name": f"N {number}"})),
                        Response(200)),
            Interaction(Request("GET", f"{base}/cards", query={"limit": "3"}), Response(200)),
            Interaction(Request("DELETE", f"{base}/sources/{card}"), Response(200)),
        ]
    return interactions[:count]


def misses(count: int) -> list[tuple[str, str, bytes]]:
    """Requests no recorded interaction matches, of four kinds in turn."""
    kinds = [
        lambda n: ("GET", f"/v1/customers/cus_unknown{n:08d}/cards/card_unknown{n:08d}", b""),
        lambda n: ("POST", "/v1/customers", f"email=other{n}@example.com".encode()),
        lambda n: ("PUT", f"/v1/customers/cus_{n:014d}/sources", b""),
        lambda n: ("GET", f"/v2/core/events/evt_{n}", b""),
    ]
    return [kinds[n % len(kinds)](n) for n in range(count)]


def matcher_alone(cassette: Path, requests: list[tuple[str, str, bytes]]) -> float:
    index = InteractionIndex(routes=STRIPE.routes)
    for interaction in iter_interactions(cassette, None, STRIPE):
        index.add(str(cassette), interaction)
    redactor = Redactor(cards=STRIPE.cards)
    lives = [LiveRequest.build(method, path, body, FORM if body else "", redactor) for method, path, body in requests]
    started = time.perf_counter()
    for live in lives:
        assert index.take(live) is None
        index.closest(live)
    return time.perf_counter() - started


def through_serve(cassette: Path, requests: list[tuple[str, str, bytes]]) -> float:
    with serving(cassette, "--allow-misses") as address, httpx.Client(base_url=address, timeout=60) as http:
        started = time.perf_counter()
        for method, path, body in requests:
            answer = http.request(method, path, content=body, headers={"Content-Type": FORM} if body else {})
            assert answer.status_code == 599, answer.status_code
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--interactions", type=int, default=2000)
    parser.add_argument("--misses", type=int, default=1000)
    parser.add_argument("--no-http", action="store_true", help="only the matcher, in this process")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        cassette = Path(scratch) / "large.yaml"
        with CassetteWriter(cassette) as writer:
            for interaction in recorded(options.interactions):
                writer.append(interaction)
        requests = misses(options.misses)
        alone = matcher_alone(cassette, requests)
        print(f"{options.misses} misses against {options.interactions} interactions: matcher alone {alone:.2f} s "
              f"({alone / options.misses * 1000:.2f} ms a miss)")
        if not options.no_http:
            served = through_serve(cassette, requests)
            print(f"{options.misses} misses against {options.interactions} interactions: through serve "
                  f"{served:.2f} s ({served / options.misses * 1000:.2f} ms a miss)")


if __name__ == "__main__":
    main()
