"""Staff dashboard at 100,000 consultations: list, filter, search and export times (prints figures, not a test).

    .venv/bin/python bench/dashboard_bench.py [--rows 100000] [--repeat 20] [--http]

Builds a fresh SQLite database under a temporary folder with the real migrations, fills it in bulk, then times the
queries the reception list and the practitioners' queue run (bot.store.search / bot.store.referrals), and with
--http the same pages through the real web app (uvicorn on a free port, a signed-in reception user).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Dict, List

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FIRST = ["Jane", "Priya", "Tom", "Aisha", "Liam", "Sofia", "Wei", "Olu", "Maria", "Sam", "Ella", "Noah", "Zara"]
LAST = ["Doe", "Patel", "Smith", "Khan", "Jones", "Garcia", "Chen", "Okafor", "Rossi", "Brown", "Novak", "Evans"]


def fill(url: str, rows: int, seed: int = 7) -> Dict[str, str]:
    """Bulk-insert `rows` consultations (about a third flagged, with referrals and reasons); returns probes."""
    import sqlalchemy as sa

    from bot.store import db
    from bot.store.models import Answer, Consultation, Reason, Referral

    rng = random.Random(seed)
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    probes: Dict[str, str] = {}
    engine = db.get_engine(url)
    batch_c: List[dict] = []
    batch_r: List[dict] = []
    batch_reason: List[dict] = []
    batch_answer: List[dict] = []
    referral_id = 0

    def flush() -> None:
        with engine.begin() as connection:
            if batch_c:
                connection.execute(sa.insert(Consultation), batch_c)
            if batch_r:
                connection.execute(sa.insert(Referral), batch_r)
            if batch_reason:
                connection.execute(sa.insert(Reason), batch_reason)
            if batch_answer:
                connection.execute(sa.insert(Answer), batch_answer)
        for batch in (batch_c, batch_r, batch_reason, batch_answer):
            batch.clear()

    for i in range(rows):
        cid = uuid.UUID(int=rng.getrandbits(128)).hex
        created = start + timedelta(minutes=7 * i + rng.randint(0, 6))
        first, last = rng.choice(FIRST), rng.choice(LAST)
        name = f"{first} {last}"
        email = f"{first}.{last}{i}@example.org".lower()
        phone = f"07700{i:06d}"
        outcome = rng.choices(["clear", "review", "defer", None], [55, 25, 10, 10])[0]
        status = "in_progress" if outcome is None else rng.choices(["complete", "handed_off"], [9, 1])[0]
        if i == rows // 2:
            name, email, phone = "Rarely Seen-Name", "rare.person@example.net", "07999123456"
            probes.update(id=cid, name="seen-name", email="rare.person@", phone="07999 123456")
        batch_c.append(
            dict(
                id=cid,
                conversation_id=f"chat-{cid[:12]}",
                sequence=1,
                status=status,
                outcome=outcome,
                rules_version="bench",
                requested_human=status == "handed_off",
                name=name,
                contact_email=email,
                contact_phone=phone,
                created_at=created,
                updated_at=created,
                last_activity_at=created,
                completed_at=created if outcome else None,
                ended_at=None,
            )
        )
        batch_answer.append(dict(consultation_id=cid, key="name", value=json.dumps(name), updated_at=created))
        if outcome in ("review", "defer"):
            referral_id += 1
            batch_r.append(
                dict(
                    id=referral_id,
                    consultation_id=cid,
                    status=rng.choices(["new", "claimed", "contacted", "closed"], [1, 1, 1, 20])[0],
                    severity=outcome,
                    rules_version="bench",
                    created_at=created,
                    updated_at=created,
                )
            )
            batch_reason.append(
                dict(
                    consultation_id=cid,
                    code="anticoagulant" if outcome == "review" else "pregnancy",
                    outcome=outcome,
                    rule="bench rule",
                    detail="bench",
                    rationale="bench",
                )
            )
        if len(batch_c) >= 5000:
            flush()
    flush()
    with engine.connect() as connection:
        connection.exec_driver_sql("ANALYZE")
    probes["common_name"] = "patel"
    return probes


def timed(fn: Callable[[], object], repeat: int) -> Dict[str, float]:
    fn()  # warm the cache: a dashboard's second look, not a cold disk
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        times.append((time.perf_counter() - began) * 1000)
    times.sort()
    return {"median_ms": statistics.median(times), "p95_ms": times[max(0, int(len(times) * 0.95) - 1)]}


def store_cases(probes: Dict[str, str]) -> Dict[str, Callable[[], object]]:

    from bot.store import referrals, search

    month = datetime(2024, 6, 1, tzinfo=timezone.utc)
    f = search.Filters
    return {
        "list, newest first (page 1)": lambda: search.find(f()),
        "list, page 1000": lambda: search.find(f(), page=1000),
        "filter status=handed_off": lambda: search.find(f(status="handed_off")),
        "filter outcome=defer": lambda: search.find(f(outcome="defer")),
        "filter one month": lambda: search.find(f(since=month, until=month + timedelta(days=30))),
        "filter month + outcome=review": lambda: search.find(
            f(outcome="review", since=month, until=month + timedelta(days=30))
        ),
        "search email prefix": lambda: search.find(f(q=probes["email"])),
        "search phone": lambda: search.find(f(q=probes["phone"])),
        "search id": lambda: search.find(f(q=probes["id"])),
        "search id prefix (8 hex)": lambda: search.find(f(q=probes["id"][:8])),
        "search name, common (patel)": lambda: search.find(f(q=probes["common_name"])),
        "search name, one match": lambda: search.find(f(q=probes["name"])),
        "practitioners' queue (open)": lambda: referrals.queue(),
        "CSV rows, outcome=defer (all)": lambda: sum(1 for _ in search.each(f(outcome="defer"))),
    }


def http_cases(base: str, session, probes: Dict[str, str]) -> Dict[str, Callable[[], object]]:
    def get(path: str, **params: str) -> Callable[[], object]:
        def run() -> object:
            response = session.get(base + path, params=params, timeout=30)
            response.raise_for_status()
            return response

        return run

    return {
        "GET /staff/consultations": get("/staff/consultations"),
        "GET /staff/consultations?page=1000": get("/staff/consultations", page="1000"),
        "GET ?outcome=defer": get("/staff/consultations", outcome="defer"),
        "GET ?q=<email>": get("/staff/consultations", q=probes["email"]),
        "GET ?q=<name, one match>": get("/staff/consultations", q=probes["name"]),
        "GET /api/consultations?q=patel": get("/api/consultations", q="patel"),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--http", action="store_true", help="also time the pages through the running web app")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards (it is deleted)")
    args = parser.parse_args()

    os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
    workdir = Path(tempfile.mkdtemp(prefix="dashboard-bench-"))
    url = f"sqlite:///{workdir / 'clinic.db'}"
    os.environ["DATABASE_URL"] = url
    os.environ.setdefault("VAR_DIR", str(workdir))
    from bot.store import migrate

    migrate.upgrade(url)
    began = time.perf_counter()
    probes = fill(url, args.rows)
    print(f"{args.rows:,} consultations filled in {time.perf_counter() - began:.1f}s ({workdir / 'clinic.db'})")
    print(f"{'query':40} {'median':>9} {'p95':>9}")
    for name, fn in store_cases(probes).items():
        figures = timed(fn, args.repeat)
        print(f"{name:40} {figures['median_ms']:7.1f}ms {figures['p95_ms']:7.1f}ms")
    if args.http:
        from tests.web.server import running_app, signed_in_session  # the tests' own real-server helpers

        with running_app() as base:
            session = signed_in_session(base, "reception")
            print(f"{'page (HTTP, real server)':40} {'median':>9} {'p95':>9}")
            for name, fn in http_cases(base, session, probes).items():
                figures = timed(fn, args.repeat)
                print(f"{name:40} {figures['median_ms']:7.1f}ms {figures['p95_ms']:7.1f}ms")
    if not args.keep:
        import shutil

        from bot.store import db

        db.clear_engine_cache()
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
