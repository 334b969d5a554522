"""Live chat latency: how long a practitioner's message takes to reach the client's open stream, with N live chats
at once (default 20), each with its stream open, on one running stack (supervisor, Rasa, action server, web app,
SQLite). The time runs from the practitioner's `service.send` call (it writes the message into Rasa's tracker) to
the message arriving on the client's stream (the web app polls the database every 0.3 s).

    .venv/bin/python bench/live_latency.py                 # 20 chats: 5 paced rounds, then 5 bursts to all at once
    .venv/bin/python bench/live_latency.py --chats 5 --rounds 3

Prints p50/p95/max in milliseconds: one chat alone; 20 chats with a message every 0.5 s to each in turn (a
practitioner's pace across many chats); and a burst of one message to every chat at the same instant (Rasa appends
them one conversation lock at a time); the ratio to one chat alone, in one run.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, List

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.script import STANDARD  # noqa: E402
from tests.e2e.stack import Stack  # noqa: E402
from tests.live.client import LiveClient, message, open_all_day_clinic  # noqa: E402


def percentile(values: List[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(share * (len(ordered) - 1)))))]


def open_chat(stack: Stack) -> LiveClient:
    client = LiveClient(stack.web_url).start()
    for step, text, _ in STANDARD:
        if step == "concerns":
            break
        client.say(text)
    client.say("can I speak to a person please")
    assert client.live == "waiting", "the chat did not go live"
    return client.open_stream()


def round_trip(clients: List[LiveClient], practitioner: Any, label: str) -> List[float]:
    from bot.live import service

    times: List[float] = []
    lock = threading.Lock()

    def one(client: LiveClient) -> None:
        text = f"{label} {uuid.uuid4().hex[:8]}"
        mark = client.mark()
        began = time.monotonic()
        service.send(client.sender, practitioner, text)
        got = client.wait_for(message("staff", text), timeout=60, since=mark)
        with lock:
            times.append((got.received - began) * 1000)

    threads = [threading.Thread(target=one, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return times


def paced(clients: List[LiveClient], practitioner: Any, rounds: int, gap: float) -> List[float]:
    """One message every `gap` seconds, to each chat in turn (a practitioner's pace, many chats at once)."""
    from bot.live import service

    times: List[float] = []
    waiters: List[threading.Thread] = []
    lock = threading.Lock()

    def wait(client: LiveClient, text: str, mark: int, began: float) -> None:
        got = client.wait_for(message("staff", text), timeout=60, since=mark)
        with lock:
            times.append((got.received - began) * 1000)

    for n in range(rounds):
        for client in clients:
            text = f"paced {n} {uuid.uuid4().hex[:8]}"
            mark = client.mark()
            began = time.monotonic()
            service.send(client.sender, practitioner, text)
            waiter = threading.Thread(target=wait, args=(client, text, mark, began))
            waiter.start()
            waiters.append(waiter)
            time.sleep(max(0.0, gap - (time.monotonic() - began)))
    for waiter in waiters:
        waiter.join()
    return times


def line(name: str, times: List[float]) -> str:
    return (
        f"{name}: n={len(times)} p50={statistics.median(times):.0f} ms p95={percentile(times, 0.95):.0f} ms "
        f"max={max(times):.0f} ms"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chats", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gap", type=float, default=0.5, help="seconds between messages in the paced run")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="live-bench-"))
    clinic = open_all_day_clinic(workdir / "clinic.yml")
    stack = Stack(workdir, with_web=True, extra_env={"CLINIC_FILE": str(clinic)})
    print("[live] starting the stack ...", flush=True)
    stack.start()
    try:
        for name in ("DATABASE_URL", "RASA_PORT", "RASA_TOKEN", "CLINIC_FILE"):
            os.environ[name] = stack.env[name]
        from bot.live import service
        from bot.store import db
        from bot.store import staff as staff_store

        db.clear_engine_cache()
        member = staff_store.add(
            f"sam.{uuid.uuid4().hex[:6]}@clinic.example", "a long enough password 123", "practitioner"
        )
        practitioner = staff_store.SignedIn(staff=member, csrf_token="t")
        print(f"[live] opening {args.chats} live chats ...", flush=True)
        clients = [open_chat(stack) for _ in range(args.chats)]
        for client in clients:
            service.take(client.sender, practitioner)
        alone = []
        for n in range(args.rounds):
            alone += round_trip(clients[:1], practitioner, f"alone {n}")
        steady = paced(clients, practitioner, args.rounds, args.gap)
        together: List[float] = []
        for n in range(args.rounds):
            together += round_trip(clients, practitioner, f"round {n}")
        for client in clients:
            client.close()
        began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        print(f"\nPractitioner-to-client latency, {began}, one stack on SQLite, {os.cpu_count()} cores:")
        print(line("1 chat", alone))
        print(line(f"{args.chats} chats, each stream open, a message every {args.gap:g} s in turn", steady))
        print(line(f"{args.chats} chats, a message to every one at the same instant", together))
        base = statistics.median(alone)
        print(
            f"ratio p50 to one chat alone: paced {statistics.median(steady) / base:.2f}, "
            f"burst {statistics.median(together) / base:.2f}"
        )
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
