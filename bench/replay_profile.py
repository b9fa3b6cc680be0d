"""Where a replay's time goes, and how this checkout's replay compares with another's, per interaction.

    python bench/replay_profile.py profile [--requests 3000]            # cProfile's top items
    python bench/replay_profile.py against DIR [--requests 3000] [--rounds 7]

``profile`` replays a cassette of card retrieves (GETs) against bench/upstream.py in this process under cProfile
and prints the functions that cost the most. ``against`` alternates this checkout with another one (``git worktree
add DIR COMMIT``): each round, each side in its own process times a plain httpx keep-alive loop of the same GETs
and then its own replay, back to back; the ratio replay / loop of each side is reported as medians, with the
milliseconds per interaction, in wall time and in the process's CPU time (what a shared machine's load leaves
alone: the sockets' system calls are the same on both sides), and the replay's own CPU per interaction with no
socket at all (through httpx.MockTransport, less a loop of bare requests through it). Measurements, not tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from run import API_KEY, upstream  # noqa: E402

# One side of a round, run in the checkout measured (its own `conformance` first on sys.path): the plain loop,
# then a replay whose parse cache is warm, both of the same cassette against the same upstream.
CHILD = r"""
import json, sys, time
import httpx
from conformance.settings import RunChoices
from conformance.stripe import STRIPE
cassette, target, key = sys.argv[1], sys.argv[2], sys.argv[3]
from pathlib import Path
from conformance.cassette import iter_interactions
sent = [(i.request.method, i.request.path) for i in iter_interactions(Path(cassette))]
settings = RunChoices(STRIPE, key).settings()
settings.run([Path(cassette)], target)  # the parse cache filled, the code warm
headers = {"Authorization": f"Bearer {key}", "Stripe-Version": "2023-08-16"}
with httpx.Client(base_url=target, timeout=10) as client:
    client.get("/v1/warmup")
    started, cpu = time.perf_counter(), time.process_time()
    for method, path in sent:
        client.request(method, path, headers=headers).json()
    plain, plain_cpu = time.perf_counter() - started, time.process_time() - cpu
cpu = time.process_time()
result = settings.run([Path(cassette)], target)
ours_cpu = time.process_time() - cpu
assert result.verdict.exit_code == 0, "the benchmark cassette must replay clean"
# No socket at all: the same replay through httpx.MockTransport, CPU time, less the same loop of bare requests
from conformance.replay import TargetClient, replay_cassette
answer = httpx.get(target + sent[0][1], headers=headers)
def fake(request):
    return httpx.Response(answer.status_code, headers=answer.headers, content=answer.content)
with TargetClient(target, transport=httpx.MockTransport(fake)) as client:
    cpu = time.process_time()
    for method, path in sent:
        client.request(method, path, headers=headers).json()
    bare = time.process_time() - cpu
    cpu = time.process_time()
    replay_cassette(Path(cassette), client, settings.options)
    mocked = time.process_time() - cpu
print(json.dumps({"plain": plain, "ours": result.seconds, "plain_cpu": plain_cpu, "ours_cpu": ours_cpu,
                  "bare": bare, "mocked": mocked, "count": len(sent)}))
"""


def write_gets(path: Path, count: int) -> None:
    """A cassette of ``count`` retrieves of the card bench/upstream.py answers with."""
    from upstream import CARD

    from conformance.cassette import Body, CassetteWriter, Interaction, Request, Response

    card = json.loads(CARD)
    url = f"/v1/customers/{card['customer']}/cards/{card['id']}"
    headers = {"Authorization": "Bearer [REDACTED:sk_test]", "Stripe-Version": "2023-08-16"}
    with CassetteWriter(path, "replay-profile", {"fixtures": [card["customer"], card["id"]]}) as writer:
        for _ in range(count):
            writer.append(Interaction(Request("GET", url, {}, dict(headers)),
                                      Response(200, {"Content-Type": "application/json"}, Body("json", card))))


def profile(count: int, top: int, dump: Path | None = None) -> None:
    """cProfile of one replay (the parse cache warm), sorted by own time and by cumulative time."""
    sys.path.insert(0, str(HERE.parent))
    from conformance.settings import RunChoices
    from conformance.stripe import STRIPE

    with upstream() as target, tempfile.TemporaryDirectory() as out:
        os.environ["CONFORMANCE_CACHE_DIR"] = str(Path(out) / "cache")
        cassette = Path(out) / "gets.yaml"
        write_gets(cassette, count)
        settings = RunChoices(STRIPE, API_KEY).settings()
        settings.run([cassette], target)
        profiler = cProfile.Profile()
        profiler.enable()
        result = settings.run([cassette], target)
        profiler.disable()
        print(f"{count} interactions in {result.seconds:.3f} s: {result.seconds / count * 1e3:.3f} ms each "
              f"(under the profiler)")
        stats = pstats.Stats(profiler)
        if dump is not None:
            stats.dump_stats(dump)
        stats.sort_stats("tottime").print_stats(top)
        stats.sort_stats("cumulative").print_stats(top)
        stats.sort_stats("cumulative").print_stats("conformance/", top)  # our own code only


def against(other: Path, count: int, rounds: int) -> None:
    """Alternate this checkout and ``other``, each going first in turn; medians of each side's ratio."""
    sides = {"this checkout": HERE.parent, other.name: other}
    figures: dict[str, list[dict[str, float]]] = {name: [] for name in sides}
    with upstream() as target, tempfile.TemporaryDirectory() as out:
        cassette = Path(out) / "gets.yaml"
        write_gets(cassette, count)
        env = {**os.environ, "CONFORMANCE_CACHE_DIR": str(Path(out) / "cache"), "PYTHONPATH": ""}
        order = list(sides.items())
        for number in range(rounds):
            for name, checkout in order[number % 2:] + order[:number % 2]:
                done = subprocess.run([sys.executable, "-c", CHILD, str(cassette), target, API_KEY], cwd=checkout,
                                      env=env, check=True, capture_output=True, text=True, timeout=600)
                figures[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
    for name, runs in figures.items():
        own = [(r["mocked"] - r["bare"]) / r["count"] * 1e6 for r in runs]
        print(f"mock {name:<16} the replay's own CPU {statistics.median(own):.0f} µs/interaction over bare requests "
              f"through httpx.MockTransport (of {len(runs)}: {', '.join(format(x, '.0f') for x in own)})")
    for what, ours, plain in (("wall", "ours", "plain"), ("CPU", "ours_cpu", "plain_cpu")):
        for name, runs in figures.items():
            ratios = [r[ours] / r[plain] for r in runs]
            print(f"{what:<4} {name:<16} replay {statistics.median(r[ours] / r['count'] * 1e3 for r in runs):.3f} "
                  f"ms/interaction, plain loop {statistics.median(r[plain] / r['count'] * 1e3 for r in runs):.3f} ms: "
                  f"ratio {statistics.median(ratios):.3f} (of {len(runs)}: {', '.join(format(x, '.2f') for x in ratios)})")
        mine, theirs = figures["this checkout"], figures[other.name]
        paired = statistics.median((m[ours] / m[plain]) / (t[ours] / t[plain]) for m, t in zip(mine, theirs))
        print(f"{what:<4} this checkout / {other.name}, round by round: {paired:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=("profile", "against"))
    parser.add_argument("other", nargs="?", type=Path, help="the other checkout (against)")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--dump", type=Path, help="profile: also write the raw statistics here (pstats)")
    args = parser.parse_args()
    if args.mode == "profile":
        profile(args.requests, args.top, args.dump)
    elif args.other is None:
        parser.error("against needs the other checkout's directory")
    else:
        against(args.other.resolve(), args.requests, args.rounds)


if __name__ == "__main__":
    main()
