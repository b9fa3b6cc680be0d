"""The long variant of tests/integration/test_graceful_stop.py: many rounds of 20 concurrent clients recording
through mitmdump, stopped by SIGINT or SIGTERM at a random moment; every answer a client received must be in
the cassette.

    python bench/graceful_stop.py --rounds 200 [--seed N] [--clients 20]
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from tests.graceful import Upstream, run_rounds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=100)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--dir", type=Path, default=None, help="Where the cassettes go (default: a temporary one).")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    chooser = random.Random(seed)
    answered = missing = cut = failed = 0
    with Upstream(max_delay=0.08) as url, tempfile.TemporaryDirectory() as scratch:
        directory = args.dir or Path(scratch)
        for number, result in enumerate(run_rounds(url, directory, args.rounds, chooser)):
            answered += result.answered
            missing += len(result.missing)
            cut += result.refused
            failed += result.code != 0
            print(f"round {number}: {result.signal} after {result.delay}s: {result.answered} answered, "
                  f"{result.recorded} recorded, {len(result.missing)} missing, {result.refused} cut off, "
                  f"exit {result.code}", flush=True)
    print(f"seed {seed}: {args.rounds} rounds, {answered} answered exchanges, {missing} answered exchanges missing "
          f"from the cassette, {cut} requests cut off unanswered, {failed} non-zero exits")
    return 1 if missing or failed else 0


if __name__ == "__main__":
    sys.exit(main())
