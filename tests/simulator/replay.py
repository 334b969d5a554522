"""Replay simulated clients by seed against a fresh running assistant and print their whole transcripts.

.venv/bin/python -m tests.simulator.replay 17 203        # the seeds a failing run printed
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from tests.e2e.stack import Stack
from tests.simulator import run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("seeds", nargs="+", type=int)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="simulator-replay-") as tmp:
        stack = Stack(Path(tmp)).start()
        try:
            for seed in args.seeds:
                print(run.transcript(run.play(stack, seed)))
                print()
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
