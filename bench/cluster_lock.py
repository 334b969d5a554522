"""What the cluster's lock store prevents: tests/cluster/test_one_conversation.py's rounds, against a 2-replica
cluster with the PostgreSQL lock store and against one with Rasa's per-process InMemoryLockStore.

    .venv/bin/python bench/cluster_lock.py                      # both, 10 conversations each
    .venv/bin/python bench/cluster_lock.py --lock in_memory --conversations 20

For each: how many conversations ended with a user event lost or doubled or a turn cut in two (the test's checks),
and the HTTP statuses the clients saw (with Rasa's own lock every request is still answered 200: the loss is silent).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Dict

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.cluster import LOCK_STORE, Cluster  # noqa: E402
from tests.cluster.conftest import cluster_env, free_base_port, open_chat, say, stored_events  # noqa: E402
from tests.cluster.test_one_conversation import ROUNDS, at_once, turns_problems  # noqa: E402


def run(lock: str, conversations: int) -> None:
    work = Path(tempfile.mkdtemp(prefix="clinic-cluster-"))
    cluster = Cluster(2, base_port=free_base_port(), workdir=work, env=cluster_env(), lock_store=lock)
    try:
        started = time.monotonic()
        cluster.start(timeout=600)
        print(f"[{lock}] cluster up in {time.monotonic() - started:.0f} s", flush=True)
        web = [cluster.web_url(0), cluster.web_url(1)]
        broken = 0
        statuses: Dict[int, int] = {}
        for _ in range(conversations):
            chat = open_chat(web[0])
            ids = [uuid.uuid4().hex]
            say(web[1], chat, "hi", ids[0])
            for left, right in ROUNDS:
                pair = [uuid.uuid4().hex, uuid.uuid4().hex]
                for status, _replies in at_once(
                    [partial(say, web[0], chat, left, pair[0]), partial(say, web[1], chat, right, pair[1])]
                ):
                    statuses[status] = statuses.get(status, 0) + 1
                ids += pair
            problems = turns_problems(stored_events(cluster.database_url, chat[0]), ids)
            broken += bool(problems)
            if problems:
                print(f"[{lock}]   {problems[:2]}", flush=True)
        print(
            f"[{lock}] {broken} of {conversations} conversations with a user event lost or doubled or a turn cut "
            f"in two; {len(ROUNDS) * 2 * conversations} simultaneous messages, HTTP statuses {statuses}",
            flush=True,
        )
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lock", choices=("both", LOCK_STORE, "in_memory"), default="both")
    parser.add_argument("--conversations", type=int, default=10)
    args = parser.parse_args()
    for lock in (LOCK_STORE, "in_memory") if args.lock == "both" else (args.lock,):
        run(lock, args.conversations)
    return 0


if __name__ == "__main__":
    sys.exit(main())
