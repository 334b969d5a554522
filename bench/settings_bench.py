"""settings.get() per call, before (built from the environment and the kept secret files every call, as
settings.from_env() still does) and after (built once, checked against a snapshot): prints calls/s and the ratio.

    .venv/bin/python bench/settings_bench.py [--seconds 1.0]

get() is called for every database session (bot.store.db.database_url) and most web requests. Uses a temporary
VAR_DIR with the secret files made (RASA_TOKEN, WEB_SECRET and CHAT_KEY unset: the files are read, as in `make run`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second of `call`, over batches for about `seconds`."""
    batch, done, spent = 100, 0, 0.0
    while spent < seconds:
        start = time.perf_counter()
        for _ in range(batch):
            call()
        spent += time.perf_counter() - start
        done += batch
    return done / spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="time spent on each of the two (default 1.0)")
    args = parser.parse_args()
    for name in ("RASA_TOKEN", "WEB_SECRET", "CHAT_KEY"):
        os.environ.pop(name, None)
    from bot import settings

    with tempfile.TemporaryDirectory() as folder:
        settings.VAR_DIR = Path(folder)
        settings.reset()
        assert settings.get() == settings.from_env()  # makes the kept secret files
        before = rate(settings.from_env, args.seconds)
        after = rate(settings.get, args.seconds)
    print(
        f"settings.get(): before {before:,.0f} calls/s (built every call), after {after:,.0f} calls/s "
        f"(built once): x{after / before:.1f}"
    )


if __name__ == "__main__":
    main()
