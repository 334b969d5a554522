"""Hundreds of simulated clients against one real running assistant: no invariant may be broken, ever.

    .venv/bin/python -m pytest tests/simulator/test_simulator.py          # seeds 0..299
    SIMULATOR_CONVERSATIONS=1000 .venv/bin/python -m pytest tests/simulator/test_simulator.py

Each invariant is its own test, so a failure names it; its message holds the table of counts by invariant and the
first 3 failing transcripts (seed, every client and bot line, the question asked at each turn, the violations).
A seed replays the same client: `python -m tests.simulator.replay SEED` (against a fresh stack).
"""

from __future__ import annotations

import os
import time

import pytest

from tests.simulator import invariants, run

CONVERSATIONS = max(300, int(os.environ.get("SIMULATOR_CONVERSATIONS", "300")))
SEED_START = int(os.environ.get("SIMULATOR_SEED_START", "0"))
WORKERS = int(os.environ.get("SIMULATOR_WORKERS", "4"))


@pytest.fixture(scope="module")
def simulated(simulator_stack):
    started = time.monotonic()
    results = run.play_many(simulator_stack, range(SEED_START, SEED_START + CONVERSATIONS), workers=WORKERS)
    return results, time.monotonic() - started


def _message(results, seconds, name=None) -> str:
    failing = (
        [r for r in results if any(v.invariant == name for v in r.violations)]
        if name
        else [r for r in results if r.violations]
    )
    header = f"{len(results)} conversations in {seconds:.0f} s ({WORKERS} workers)\n" + run.report(results, 0)
    return header + "\n\n" + "\n\n".join(run.transcript(r) for r in failing[:3])


def test_every_conversation_was_played(simulated):
    results, seconds = simulated
    assert len(results) == CONVERSATIONS
    assert all(r.turns for r in results)
    print(f"\n{_message(results, seconds)}")


# Every invariant holds on every conversation. (The residual classes still known on the morning of 2026-12-01, a
# read-back after a slip read as a yes, "probably yes" to a cold sore now noted as not sure, a nickname before the
# surname, someone else's condition followed by "and I don't", "spot on" at the summary taken for a spot, are fixed.)
# A failure here is a new class of bug: fix the class, never the sentence.
@pytest.mark.parametrize("name", invariants.NAMES)
def test_no_violations_of(simulated, name):
    results, seconds = simulated
    count = sum(1 for r in results for v in r.violations if v.invariant == name)
    assert count == 0, f"{count} violations of {name}\n" + _message(results, seconds, name)
