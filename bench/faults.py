"""Faults under load: while clients hold consultations over the chat channel, one fault at a time, then the count
of what was lost (must be 0), the turns that failed (the client saw an error other than "one moment, send again"),
and how long until every process answered again.

    .venv/bin/python bench/faults.py                       # 2 replicas (bot/cluster.py), then 1 SQLite instance
    .venv/bin/python bench/faults.py --on cluster --clients 20
    .venv/bin/python bench/faults.py --on sqlite           # 1 instance on SQLite: kills, a locked file, SMTP down
    .venv/bin/python bench/faults.py --on postgres         # 1 instance on PostgreSQL: kills, PostgreSQL restarted

On the cluster: kill -9 one Rasa replica, one action server, one web app, then restart PostgreSQL. On one SQLite
instance (the supervisor restarts its children): kill -9 each process, hold an exclusive lock on the SQLite file
for 10 s, and take the SMTP server away for 15 s (a real aiosmtpd server, stopped and started on the same port):
every referral's notice must then arrive exactly once. Exit status 1 when anything was lost or doubled, a
consultation played to the end is not complete as expected, a notice is missing or doubled, or service did not
come back.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _load_common import (  # noqa: E402
    ClusterTarget,
    FaultRun,
    MailSink,
    SingleInstance,
    details,
    fault_table,
    mail_line,
    problems,
    report,
    run_faults,
)

NOTICES = {"NOTIFY_TO": "practitioners@example.com", "NOTIFY_DIGEST_SECONDS": "0"}


def on(kind: str, replicas: int, clients: int, settle: float) -> FaultRun:
    mail = None
    if kind == "cluster":
        target = ClusterTarget(replicas)
        names = list(target.faults)
    else:
        mail = MailSink().start()
        target = SingleInstance(kind, env={"SMTP_URL": mail.url, **NOTICES})
        names = list(target.faults) + ["smtp down"]
    print(f"[faults] starting {target.name} ...", flush=True)
    try:
        with target:
            print(f"[faults] {target.name} up at {target.url}; {clients} clients", flush=True)
            return run_faults(target, names, clients, mail=mail, settle=settle)
    finally:
        if mail is not None:
            mail.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--on", default="cluster,sqlite", help="comma-separated: cluster, sqlite, postgres (default: cluster,sqlite)"
    )
    parser.add_argument("--replicas", type=int, default=2)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--settle", type=float, default=15.0, help="seconds of load after each fault's recovery")
    parser.add_argument("--details", type=Path, help="write every conversation that went wrong here (JSON)")
    args = parser.parse_args()
    began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    runs = [on(kind.strip(), args.replicas, args.clients, args.settle) for kind in args.on.split(",") if kind.strip()]

    print(f"\nFaults under load, {began}: {' '.join(sys.argv[1:]) or '(defaults)'}")
    print(fault_table(runs))
    for run in runs:
        if run.mail is not None:
            print(f"{run.target}: {mail_line(run.mail)}")
    print("\nThe whole runs:")
    print(report([run.summary for run in runs]))
    if args.details:
        args.details.write_text(
            json.dumps(
                {run.target: details(run.load, run.summary.audit) for run in runs if run.load is not None}, indent=1
            )
        )
        print(f"conversations that went wrong, turn by turn: {args.details}")
    failed = [run for run in runs if not run.ok]
    for run in failed:
        print(
            f"\n{run.target}: "
            + "\n  ".join(problems(run.summary) + [r.name + ": " + r.error for r in run.results if r.error]),
            file=sys.stderr,
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
