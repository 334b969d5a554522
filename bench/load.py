"""Load and soak: C clients hold whole consultations over the chat channel for a set time, then everything they were
told is counted against the database (nothing lost, nothing doubled, order kept, every flagged consultation with
exactly one referral), with turn latency and throughput.

    .venv/bin/python bench/load.py --single --clients 10 --minutes 2          # one instance (SQLite), started here
    .venv/bin/python bench/load.py --single --postgres --clients 10 --minutes 2
    .venv/bin/python bench/load.py --cluster 2 --clients 50 --minutes 10     # bot/cluster.py, started here
    .venv/bin/python bench/load.py --compare --clients 20 --minutes 3        # one instance, then 2 replicas
    .venv/bin/python bench/load.py --url http://localhost:8000 --database-url sqlite:///var/clinic.db

Each client sends its next message only after the reply to the last; a 503 ("one moment") or any failed attempt is
sent again with the same message_id, as the widget does. Exit status 1 when a message was lost or duplicated, a
conversation's order changed, a consultation played to the end is not complete with the expected outcome, or a
flagged one has not exactly one referral. The clients, the servers and (with --cluster) PostgreSQL and the load
balancer share this machine's CPU: compare figures of one run, as ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _load_common import (  # noqa: E402
    ClusterTarget,
    Load,
    SingleInstance,
    Summary,
    Target,
    UrlTarget,
    audit,
    details,
    problems,
    report,
    summarise,
)


def run_load(
    target: Target, clients: int, seconds: float, label: str, warmup: bool = True, details_path: Optional[Path] = None
) -> Summary:
    if warmup:  # the first parses load lazily: one consultation's worth of turns, not counted
        asyncio.run(Load(target.url, 2, origin=target.origin, seed=99).run(20))
    print(f"[load] {label}: {clients} clients for {seconds:.0f} s against {target.url} ...", flush=True)
    load = asyncio.run(Load(target.url, clients, origin=target.origin).run(seconds))
    time.sleep(1.0)  # the last turns' consultation rows are written by the action server after the reply
    found = audit(target.database_url, load.conversations)
    summary = summarise(label, load, found)
    if details_path is not None:
        path = details_path.with_name(f"{details_path.stem}-{label.replace(' ', '-')}{details_path.suffix}")
        path.write_text(json.dumps(details(load, found), indent=1))
        print(f"[load] conversations that went wrong, turn by turn: {path}", flush=True)
    print(f"[load] {label}: {summary.acknowledged} turns in {summary.seconds:.0f} s", flush=True)
    return summary


def single(args: argparse.Namespace) -> Target:
    return SingleInstance("postgres" if args.postgres else "sqlite")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--url", help="a running web app or load balancer (with --database-url)")
    where.add_argument("--single", action="store_true", help="start one instance here (SQLite; --postgres)")
    where.add_argument("--cluster", type=int, metavar="N", help="start N replicas here (bot/cluster.py)")
    where.add_argument("--compare", action="store_true", help="one instance on PostgreSQL, then 2 replicas")
    parser.add_argument("--database-url", help="the database the --url target writes to")
    parser.add_argument("--postgres", action="store_true", help="--single on PostgreSQL instead of SQLite")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--details", type=Path, help="write every conversation that went wrong (JSON), per target")
    args = parser.parse_args()
    if args.url and not args.database_url:
        parser.error("--url needs --database-url (the count is made against the database)")
    seconds = args.minutes * 60

    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    summaries = []
    if args.compare:
        plans = [("1 instance", lambda: SingleInstance("postgres")), ("2 replicas", lambda: ClusterTarget(2))]
    elif args.url:
        plans = [("target", lambda: UrlTarget(args.url, args.database_url))]
    elif args.single:
        plans = [("1 instance", lambda: single(args))]
    else:
        plans = [(f"{args.cluster} replicas", lambda: ClusterTarget(args.cluster))]
    for label, make in plans:
        print(f"[load] starting {label} ...", flush=True)
        with make() as target:
            print(f"[load] {target.name} up at {target.url}", flush=True)
            summaries.append(run_load(target, args.clients, seconds, label, details_path=args.details))

    print(f"\nLoad, {began}: {' '.join(sys.argv[1:])}")
    print(report(summaries))
    if args.compare and len(summaries) == 2:
        one, two = summaries
        print(
            f"\n2 replicas / 1 instance: turns/s {two.turns_per_second / one.turns_per_second:.2f}, "
            f"p95 {two.p95 / one.p95:.2f} (turns/s above 1.00 and p95 below 1.00 are better)"
        )
    failed = [s for s in summaries if not s.ok]
    for summary in failed:
        print(f"\n{summary.label}: " + "\n  ".join(problems(summary)), file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
