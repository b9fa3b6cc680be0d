"""What `run --probe idempotency` costs: requests and wall time against a plain `run`, on the reference suite.

    python bench/probe.py [--rounds R] [PATHS...]

Each run is its own process (`python -m conformance run`) against tests/stripe_fake.py (it keeps Stripe's retry
contract) on 127.0.0.1, which counts the requests it is sent; plain and probed runs alternate, R rounds each, and
the median wall time is given. The issue's bound: at most 3 extra requests per probed POST. Benchmarks are
measurements, not tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.stripe_fake import FakeStripe, Handler  # noqa: E402

KEY = "sk_test_" + "bench0000000000000000000000"


def _counted(fake: FakeStripe) -> list[tuple[str, str]]:
    """(method, idempotency key or "") of the requests the running fake is sent, as they come."""
    seen: list[tuple[str, str]] = []
    handler, serve = fake.server.RequestHandlerClass, Handler._serve

    def counted(this: Any) -> None:
        seen.append((this.command, this.headers.get("Idempotency-Key", "")))
        serve(this)

    handler.do_GET = handler.do_POST = handler.do_DELETE = counted  # type: ignore[attr-defined]
    return seen


def measure(paths: list[str], probe: bool) -> tuple[int, int, float]:
    """(requests, distinct idempotency keys sent, seconds) of one run."""
    with (fake := FakeStripe()) as target:
        seen = _counted(fake)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "conformance", "run", *paths, "--target", target,
                               "--api-key", KEY, *(("--probe", "idempotency") if probe else ())],
                              capture_output=True, text=True, timeout=600, check=False)
        seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"the run failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return len(seen), len({key for method, key in seen if method == "POST" and key}), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("paths", nargs="*", default=[str(HERE.parent / "cassettes")])
    args = parser.parse_args()
    plain: list[tuple[int, int, float]] = []
    probed: list[tuple[int, int, float]] = []
    for _ in range(args.rounds):
        plain.append(measure(args.paths, probe=False))
        probed.append(measure(args.paths, probe=True))
    requests, keys, _ = plain[0]
    extra = probed[0][0] - requests
    plain_s, probed_s = statistics.median(r[2] for r in plain), statistics.median(r[2] for r in probed)
    print(f"plain run: {requests} requests ({keys} POSTs with an idempotency key), median {plain_s:.2f} s over "
          f"{args.rounds} rounds")
    print(f"--probe idempotency: {probed[0][0]} requests (+{extra}: {extra / max(keys, 1):.2f} per keyed POST), "
          f"median {probed_s:.2f} s")
    print(f"ratio: {probed[0][0] / requests:.2f}x requests, {probed_s / plain_s:.2f}x wall time")


if __name__ == "__main__":
    main()
