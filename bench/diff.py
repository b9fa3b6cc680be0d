"""`conformance diff` of two 10,000-interaction recordings against `conformance run` replaying one of them.

    python bench/diff.py [--interactions N] [--rounds R]

The new recording is the old one with every id and fingerprint changed (as a re-recording changes them), so the
diff binds ids all along. Each command runs as its own process, parse cache warm (a first round fills it); the
replay is against bench/upstream.py on 127.0.0.1. The issue's goal: diff within 2x the replay. Benchmarks are
measurements, not tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from run import API_KEY, _measured, upstream, write_replay_cassette  # noqa: E402


def write_pair(directory: Path, count: int) -> tuple[Path, Path]:
    """The old recording, and the new: the same traffic with other ids and fingerprints."""
    from upstream import CARD

    old, new = directory / "old" / "replay.yaml", directory / "new" / "replay.yaml"
    old.parent.mkdir(parents=True)
    new.parent.mkdir(parents=True)
    write_replay_cassette(old, count)
    card = json.loads(CARD)
    text = old.read_text()
    for key in ("id", "customer", "fingerprint"):
        value = card[key]
        text = text.replace(value, value[:-4] + "beef")
    new.write_text(text)
    return old, new


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interactions", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "conformance"]
    with upstream() as up, tempfile.TemporaryDirectory() as out:
        old, new = write_pair(Path(out), args.interactions)
        env = {**os.environ, "CONFORMANCE_CACHE_DIR": str(Path(out) / "cache")}
        commands = {
            "diff OLD NEW": [*cli, "diff", str(old), str(new), "--fail-on", "additive"],
            "run OLD --target (local)": [*cli, "run", str(old), "--target", up, "--api-key", API_KEY],
        }
        for command in commands.values():
            _measured(command, env)  # fills the parse cache, checks it exits 0 (no change: the diff is clean)
        times = {name: [_measured(command, env)[0] for _ in range(args.rounds)] for name, command in commands.items()}
    print(f"{args.interactions} interactions, median of {args.rounds} rounds (parse cache warm)")
    for name, seconds in times.items():
        print(f"  {name:28} {statistics.median(seconds):6.2f} s   ({', '.join(f'{s:.2f}' for s in seconds)})")
    ratio = statistics.median(times["diff OLD NEW"]) / statistics.median(times["run OLD --target (local)"])
    print(f"  diff / run: {ratio:.2f} (goal: <= 2)")


if __name__ == "__main__":
    main()
