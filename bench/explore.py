"""What `conformance explore` costs against the project's test fake, beside what `run --suite` costs there.

    python bench/explore.py [--budget SECONDS] [--seed N] [--rounds R]

The fake runs as a process of its own, so the CPU time of this process (``time.process_time``) is the client's:
explore's (Hypothesis, the card model, the checks, HTTP) per request, `run --suite`'s (reading the cassettes
from the parse cache, binding ids, comparing, the registered checks, HTTP) per interaction, and the HTTP both
send with alone (run's TargetClient in a loop: the floor both share), run's and the floor's taken before and
after exploring (the load of a shared machine drifts). Goals (issue 38): >= 500 sequences in a 60 s budget,
explore's own cost per request <= 1.5x run's per interaction.

A measurement, not a test: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from conformance.cassette import count_interactions  # noqa: E402
from conformance.explore import explore  # noqa: E402
from conformance.replay.runner import target_process  # noqa: E402
from conformance.settings import RunChoices  # noqa: E402
from conformance.stripe import STRIPE  # noqa: E402
from conformance.suite.reference import reference_suite  # noqa: E402

FAKE = f"{shlex.quote(sys.executable)} {shlex.quote(str(HERE.parent / 'tests' / 'stripe_fake.py'))} --port {{port}}"


def bench_explore(url: str, budget: float, seed: int) -> dict[str, float]:
    """One exploration of ``budget`` seconds: sequences, requests, wall and CPU time of this process; with the
    options ``conformance explore`` builds (``RunSettings.explore_options``), so what is measured is what it
    explores."""
    options = RunChoices(STRIPE, STRIPE.default_api_key).settings().explore_options(url, seed=seed, budget=budget)
    wall, cpu = time.perf_counter(), time.process_time()
    result = explore(options)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"sequences": result.sequences, "requests": result.requests, "seconds": wall, "cpu": cpu,
            "failures": len(result.failures)}


def bench_suite(url: str, rounds: int) -> dict[str, float]:
    """``run --suite``'s replay (parse cache warm), repeated: interactions, wall and CPU time per round (median);
    with run's own settings (``RunChoices``: the profile's redactor, the body cap…), so what is measured is what
    ``run --suite`` replays."""
    cassettes = sorted(reference_suite().glob("*.yaml"))
    settings = RunChoices(STRIPE, STRIPE.default_api_key).settings()
    settings.run(cassettes, url)  # fills the parse cache
    interactions = sum(count_interactions(path) for path in cassettes)
    walls, cpus = [], []
    for _ in range(rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        settings.run(cassettes, url)
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
    return {"requests": interactions, "seconds": statistics.median(walls), "cpu": statistics.median(cpus)}


def bench_floor(url: str, count: int = 1000) -> dict[str, float]:
    """The HTTP both send with (run's TargetClient, httpx's transport) in a loop of card-sized requests (a
    customer made, then retrieved), nothing judged: the floor."""
    headers = {"Authorization": f"Bearer {STRIPE.default_api_key}"}
    form = {**headers, "Content-Type": "application/x-www-form-urlencoded"}
    with RunChoices(STRIPE, STRIPE.default_api_key).settings().client(url) as client:  # run's limits
        customer = json.loads(client.request("POST", "/v1/customers", form, b"description=bench").content)["id"]
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            client.request("GET", f"/v1/customers/{customer}", headers)
        return {"requests": count, "seconds": time.perf_counter() - wall, "cpu": time.process_time() - cpu}


def _middle(rows: list[dict[str, float]]) -> dict[str, float]:
    """The mean of the same measurement taken before and after exploring."""
    return {key: statistics.fmean(row[key] for row in rows) for key in rows[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budget", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=20, help="rounds of the suite's replay")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        os.environ["CONFORMANCE_CACHE_DIR"] = cache
        with target_process(FAKE) as url:
            # run's rounds and the floor before and after exploring: on a shared machine the load drifts over the
            # budget, and a ratio of figures taken at one end only follows the drift
            floors, suites = [bench_floor(url)], [bench_suite(url, args.rounds)]
            explored = bench_explore(url, args.budget, args.seed)
            floors.append(bench_floor(url))
            suites.append(bench_suite(url, args.rounds))
    floor, suite = _middle(floors), _middle(suites)
    per = {name: 1e6 * row["cpu"] / row["requests"] for name, row in
           (("floor", floor), ("suite", suite), ("explore", explored))}
    drift = " / ".join(f"{1e6 * row['cpu'] / row['requests']:.0f}" for row in suites)
    print(f"explore, {args.budget:g} s budget, seed {args.seed}: {explored['sequences']} sequences, "
          f"{explored['requests']} requests in {explored['seconds']:.1f} s "
          f"({explored['requests'] / explored['seconds']:.0f} requests/s, "
          f"{explored['sequences'] / explored['seconds']:.1f} sequences/s), {explored['failures']} rules broken")
    print(f"run --suite: {suite['requests']:.0f} interactions in {suite['seconds']:.3f} s "
          f"({suite['requests'] / suite['seconds']:.0f} requests/s), {args.rounds} rounds before exploring and "
          f"{args.rounds} after (CPU per interaction {drift} µs: their mean is used)")
    print("client CPU per request (µs):")
    print(f"  TargetClient loop (floor)     {per['floor']:8.0f}")
    print(f"  run --suite, per interaction  {per['suite']:8.0f}   own {per['suite'] - per['floor']:6.0f}")
    print(f"  explore, per request          {per['explore']:8.0f}   own {per['explore'] - per['floor']:6.0f}")
    print(f"  ratio explore / run: {per['explore'] / per['suite']:.2f}x (all), "
          f"{(per['explore'] - per['floor']) / max(per['suite'] - per['floor'], 1):.2f}x (own, above the floor)")


if __name__ == "__main__":
    main()
