"""Simulated clients against the assistant: invariant failures, summary reached, turns, wall time.

Starts its own stack (Rasa server + action server on a fresh SQLite file), plays the seeded clients of
tests/simulator (whole conversations over REST, with digressions, corrections, read-backs, people who leave), then
checks every invariant (tests/simulator/invariants.py) and prints the figures.

    .venv/bin/python bench/simulate.py --conversations 2000 --seed-start 1000
    .venv/bin/python bench/simulate.py --conversations 100 --transcripts 3 --workers 4
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.stack import Stack  # noqa: E402
from tests.simulator import invariants, run  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="simulated clients: invariant failures and figures")
    parser.add_argument("--conversations", type=int, default=2000)
    parser.add_argument("--seed-start", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--transcripts", type=int, default=0, help="print this many failing transcripts")
    parser.add_argument("--chunk", type=int, default=250, help="conversations per round (progress is printed)")
    args = parser.parse_args(argv)

    seeds = list(range(args.seed_start, args.seed_start + args.conversations))
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as tmp:
        t0 = time.monotonic()
        stack = Stack(Path(tmp)).start()
        startup = time.monotonic() - t0
        print(
            f"stack started in {startup:.0f} s; playing {len(seeds)} conversations (seeds {seeds[0]}..{seeds[-1]}, "
            f"{args.workers} workers)",
            flush=True,
        )
        results = []
        t1 = time.monotonic()
        try:
            for i in range(0, len(seeds), args.chunk):
                results += run.play_many(stack, seeds[i : i + args.chunk], workers=args.workers)
                print(f"  {len(results)} played, {time.monotonic() - t1:.0f} s", flush=True)
        finally:
            stack.stop()
        wall = time.monotonic() - t1

    n = len(results)
    table = invariants.counts(results)
    f = run.figures(results)
    turns = sum(len(r.turns) for r in results)
    print()
    print(f"== Simulated clients: {n} conversations, seeds {seeds[0]}..{seeds[-1]} ==")
    print(f"{'invariant':<28}{'conversations failing':>22}{'violations':>12}")
    for name, (conversations, violations) in table.items():
        print(f"{name:<28}{conversations:>22}{violations:>12}")
    print(f"conversations with any violation:             {f['failing']} ({f['failing'] / n:.1%})")
    print(f"reached the summary (all conversations):      {f['reached_summary_all']:.1%}")
    print(f"reached the summary (consented, did not leave): {f['reached_summary_straight']:.1%}")
    print(f"completed (summary confirmed, judged):        {f['completed']} ({f['completed'] / n:.1%})")
    print(f"mean client messages per conversation:        {f['mean_turns']:.1f}")
    print(
        f"noted_unsure (clear answer stored 'unsure'):  {f['noted_unsure']} answers in "
        f"{sum(1 for r in results if r.soft.get('noted_unsure'))} conversations"
    )
    print(f"endings:                                      {dict(sorted(Counter(r.ending() for r in results).items()))}")
    print(
        f"wall time: {wall:.0f} s playing + checking ({turns / wall:.1f} client messages/s), "
        f"{startup:.0f} s stack start-up"
    )
    failing = [r for r in results if r.violations]
    for result in failing[: args.transcripts]:
        print()
        print(run.transcript(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
