"""What bench/load.py, bench/faults.py and tests/cluster/test_faults.py share: clients that hold whole consultations
over the chat channel, the count against the database of what was lost, and the targets they run against.

A target is only a base URL (the web app, or the load balancer in front of several), the database it writes to
(`database_url`), and ways to kill and restart its processes:

- `SingleInstance`: one `python -m bot serve` (tests/e2e/stack.py, the supervisor restarts a killed child), on
  SQLite or on a PostgreSQL server of its own (`Postgres`, restartable);
- `ClusterTarget`: a `bot.cluster.Cluster` (N Rasa, N action servers, N web apps behind a load balancer);
- `UrlTarget`: anything already running (`--url`, `--database-url`): no faults.

A client (`Load`) plays the scripted standard path of tests/e2e/script.py (`STANDARD`), some consultations with a
flagging answer swapped in (a referral is expected) and the rest clear, one message after the reply to the last.
A 503 ("one moment") and any other failed attempt is sent again with the same `message_id`, as the widget does; a
turn is acknowledged when the reply comes. `audit()` then reads the `events` table and our tables: every
acknowledged message must be stored exactly once and in the order sent, every consultation played to the end must
be complete with the expected outcome, and every flagged one must have exactly one referral.
"""

from __future__ import annotations

import asyncio
import email
import glob
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.e2e.script import FORBIDDEN, Turn, reply_text, standard_turns  # noqa: E402

# Rate limits out of the way for load (the security tests check the real ones).
LOAD_ENV = {"CHAT_RATE_CONVERSATION": "100000/1s", "CHAT_RATE_ADDRESS": "100000/1s"}

# ------------------------------------------------------------------------------------------------ the consultations

# Answers that flag (one message in place of the standard "no"; each is in tests/e2e/test_reason_codes.py CASES).
FLAGGING = {
    "active_acne": ({"active_acne": "/affirm"}, "defer"),
    "skin_infection": ({"skin_infection": "/affirm"}, "defer"),
    "bleeding_disorder": ({"bleeding_disorder": "/affirm"}, "review"),
    "unsure_bleeding": ({"bleeding_disorder": "/unsure"}, "review"),
}
NAMES = ("Jane Doe", "Sam Patel", "Alex Morgan", "Chris Taylor", "Priya Shah", "Tom Hughes")


@dataclass(frozen=True)
class Plan:
    """One consultation as a client will play it."""

    name: str  # "clear" or the FLAGGING key
    flagged: bool
    turns: Tuple[Turn, ...]


def plan(number: int, rng: random.Random) -> Plan:
    """The `number`th consultation: 2 in 5 flagged (the flagging answer varies), the rest clear."""
    if number % 5 in (1, 3):
        name = sorted(FLAGGING)[(number // 5 + (number % 5 == 3)) % len(FLAGGING)]
        answers, _ = FLAGGING[name]
    else:
        name, answers = "clear", {}
    turns = standard_turns(answers)
    person = rng.choice(NAMES)
    contact = f"{person.split()[0].lower()}.{number}@example.com"
    shaped: List[Turn] = []
    for index, turn in enumerate(turns):
        say = turn.say
        if say == "Jane Doe":
            say = person
        elif say == "jane.doe@example.com":
            say = contact
        expect = turn.expect
        if index == len(turns) - 1:  # the closing message says what happens next
            expect = "practitioner" if name != "clear" else "sent your answers"
        shaped.append(Turn(say, expect, turn.absent))
    return Plan(name, name != "clear", tuple(shaped))


# ------------------------------------------------------------------------------------------------ what a client saw


@dataclass
class Attempt:
    started: float
    ended: float
    status: str  # "200", "503", "502", "connection", "timeout", ...


# "send again": the REST channel's 503 "one moment", and a load balancer's 503 with no web app to take the request
ONE_MOMENT = ("503", "503 other")


@dataclass
class TurnRecord:
    message_id: str
    text: str
    started: float
    attempts: List[Attempt] = field(default_factory=list)
    acknowledged: bool = False
    ended: Optional[float] = None
    replies: List[Dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        """The client saw an error other than "one moment" (503) before the reply, or never got one."""
        return not self.acknowledged or any(a.status not in ONE_MOMENT + ("200",) for a in self.attempts)

    @property
    def latency(self) -> float:
        return (self.ended or self.started) - self.started


@dataclass
class ConversationRecord:
    sender: str
    plan: Plan
    turns: List[TurnRecord] = field(default_factory=list)
    desync: Optional[str] = None  # the reply did not ask what the script expected
    forbidden: bool = False

    @property
    def played_to_the_end(self) -> bool:
        return (
            self.desync is None and len(self.turns) == len(self.plan.turns) and all(t.acknowledged for t in self.turns)
        )


class Load:
    """C clients, each holding one consultation after another over the chat channel until `stop()`."""

    def __init__(
        self,
        url: str,
        clients: int,
        *,
        origin: Optional[str] = None,
        seed: int = 0,
        turn_deadline: float = 240.0,
        attempt_timeout: float = 90.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.origin = (origin or self.url).rstrip("/")
        self.clients = clients
        self.turn_deadline = turn_deadline
        self.attempt_timeout = attempt_timeout
        self.rng = random.Random(seed)
        self.conversations: List[ConversationRecord] = []
        self.session_errors: Counter = Counter()
        self._numbers = iter(range(10**9))
        self._stopping: Optional[asyncio.Event] = None
        self.began: Optional[float] = None
        self.ended: Optional[float] = None

    # -- control
    def stop(self) -> None:
        """No new turns from now on; turns in flight are finished (with their retries)."""
        if self._stopping is not None:
            self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping is not None and self._stopping.is_set()

    async def run(self, seconds: Optional[float] = None) -> Load:
        import aiohttp

        self._stopping = asyncio.Event()
        connector = aiohttp.TCPConnector(limit=self.clients * 2 + 4)
        headers = {"Origin": self.origin}
        async with aiohttp.ClientSession(connector=connector, headers=headers) as session:
            self.began = time.monotonic()
            tasks = [asyncio.ensure_future(self._client(session, n)) for n in range(self.clients)]
            if seconds is not None:
                try:
                    await asyncio.wait_for(self._stopping.wait(), timeout=seconds)
                except asyncio.TimeoutError:
                    self.stop()
            await asyncio.gather(*tasks)
            self.ended = time.monotonic()
        return self

    # -- one client
    async def _client(self, session: Any, client: int) -> None:
        await asyncio.sleep(client * 0.05)  # not all at the same instant
        while not self.stopping:
            issued = await self._new_session(session)
            if issued is None:
                continue
            sender, secret = issued
            record = ConversationRecord(sender, plan(next(self._numbers), self.rng))
            self.conversations.append(record)
            for turn in record.plan.turns:
                if self.stopping:
                    return
                done = await self._turn(session, sender, secret, turn.say)
                record.turns.append(done)
                if not done.acknowledged:
                    break
                text = reply_text(done.replies)
                if FORBIDDEN.search(text):
                    record.forbidden = True
                if turn.expect is not None and turn.expect.lower() not in text.lower():
                    record.desync = f"after {turn.say!r} expected {turn.expect!r}"
                    break

    async def _new_session(self, session: Any) -> Optional[Tuple[str, str]]:
        import aiohttp

        try:
            async with session.post(
                f"{self.url}/chat/session", json={}, timeout=aiohttp.ClientTimeout(total=self.attempt_timeout)
            ) as response:
                if response.status == 200:
                    issued = await response.json()
                    return issued["sender"], issued["secret"]
                self.session_errors[str(response.status)] += 1
        except asyncio.TimeoutError:
            self.session_errors["timeout"] += 1
        except (aiohttp.ClientError, OSError):
            self.session_errors["connection"] += 1
        await asyncio.sleep(1.0)
        return None

    async def _turn(self, session: Any, sender: str, secret: str, text: str) -> TurnRecord:
        import aiohttp

        record = TurnRecord(uuid.uuid4().hex, text, time.monotonic())
        body = {"sender": sender, "secret": secret, "message": text, "message_id": record.message_id}
        deadline = record.started + self.turn_deadline
        while True:
            began = time.monotonic()
            wait = 1.0
            try:
                async with session.post(
                    f"{self.url}/webhooks/rest/webhook",
                    json=body,
                    timeout=aiohttp.ClientTimeout(total=self.attempt_timeout),
                ) as response:
                    status = str(response.status)
                    payload = await response.read()
                    if response.status == 200:
                        record.replies = json.loads(payload or b"[]")
                    elif response.status == 503 and b'"unavailable"' not in payload:
                        status = "503 other"  # not the REST channel's "one moment" (the load balancer's own)
                    elif response.status == 429:
                        wait = float(response.headers.get("Retry-After") or 1)
            except asyncio.TimeoutError:
                status = "timeout"
            except (aiohttp.ClientError, OSError, ValueError):
                status = "connection"
            now = time.monotonic()
            record.attempts.append(Attempt(began, now, status))
            if status == "200":
                record.acknowledged, record.ended = True, now
                return record
            if status == "403" or now + wait > deadline:
                return record
            await asyncio.sleep(wait * (0.75 + 0.5 * self.rng.random()))

    # -- what the clients saw
    def turns(self) -> List[TurnRecord]:
        return [t for c in self.conversations for t in c.turns]

    @property
    def seconds(self) -> float:
        return (self.ended or time.monotonic()) - (self.began or time.monotonic())


# ------------------------------------------------------------------------------------------------ the count


@dataclass
class Audit:
    acknowledged: int = 0
    stored: int = 0
    lost: List[Tuple[str, str]] = field(default_factory=list)  # (sender, message_id)
    duplicated: List[Tuple[str, str]] = field(default_factory=list)
    out_of_order: List[str] = field(default_factory=list)  # senders
    stored_unacknowledged: int = 0  # sent, the client gave up waiting, but stored (not a loss)
    unknown_user_events: int = 0  # user events with no message id the clients sent
    expected_finished: int = 0
    finished: int = 0
    unfinished: List[str] = field(default_factory=list)
    flagged_expected: int = 0
    flagged: int = 0
    referrals: int = 0
    wrong_outcome: List[str] = field(default_factory=list)
    referral_problems: List[str] = field(default_factory=list)  # a flagged one without exactly one, a clear one with

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.out_of_order
            or self.unfinished
            or self.wrong_outcome
            or self.referral_problems
        )


def _chunks(items: Sequence[str], size: int = 500) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def audit(database_url: str, conversations: Sequence[ConversationRecord]) -> Audit:
    """Count what the clients were told against what the database holds."""
    import sqlalchemy as sa

    result = Audit()
    senders = [c.sender for c in conversations]
    stored: Dict[str, List[Optional[str]]] = defaultdict(list)
    consultations: Dict[str, List[Tuple[str, str, Optional[str]]]] = defaultdict(list)
    referral_count: Dict[str, int] = defaultdict(int)
    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            for chunk in _chunks(senders):
                rows = connection.execute(
                    sa.text(
                        "SELECT sender_id, data FROM events WHERE type_name = 'user' AND sender_id IN :senders "
                        "ORDER BY id"
                    ).bindparams(sa.bindparam("senders", expanding=True)),
                    {"senders": list(chunk)},
                )
                for sender, data in rows:
                    stored[sender].append(json.loads(data or "{}").get("message_id"))
                rows = connection.execute(
                    sa.text(
                        "SELECT conversation_id, id, status, outcome FROM consultations "
                        "WHERE conversation_id IN :senders"
                    ).bindparams(sa.bindparam("senders", expanding=True)),
                    {"senders": list(chunk)},
                )
                for sender, cid, status, outcome in rows:
                    consultations[sender].append((cid, status, outcome))
                rows = connection.execute(
                    sa.text(
                        "SELECT r.consultation_id, COUNT(*) FROM referrals r JOIN consultations c "
                        "ON c.id = r.consultation_id WHERE c.conversation_id IN :senders "
                        "GROUP BY r.consultation_id"
                    ).bindparams(sa.bindparam("senders", expanding=True)),
                    {"senders": list(chunk)},
                )
                for cid, count in rows:
                    referral_count[cid] = int(count)
    finally:
        engine.dispose()

    for conversation in conversations:
        ids = stored.get(conversation.sender, [])
        result.stored += len(ids)
        counts = Counter(ids)
        sent = {t.message_id for t in conversation.turns}
        acked = [t.message_id for t in conversation.turns if t.acknowledged]
        result.acknowledged += len(acked)
        for message_id in acked:
            if counts[message_id] == 0:
                result.lost.append((conversation.sender, message_id))
        for message_id, count in counts.items():
            if count > 1 and message_id is not None:
                result.duplicated.append((conversation.sender, message_id))
            if message_id not in sent:
                result.unknown_user_events += count
            elif message_id not in acked:
                result.stored_unacknowledged += count
        seen: List[str] = []
        for message_id in ids:
            if message_id in acked and message_id not in seen:
                seen.append(message_id)
        if seen != [m for m in acked if m in seen]:
            result.out_of_order.append(conversation.sender)

        rows = consultations.get(conversation.sender, [])
        for cid, _status, outcome in rows:
            count = referral_count.get(cid, 0)
            result.referrals += count
            judged_flagged = outcome in ("review", "defer")
            result.flagged += judged_flagged
            if (judged_flagged and count != 1) or (outcome == "clear" and count != 0) or count > 1:
                result.referral_problems.append(f"{conversation.sender}: outcome {outcome}, {count} referrals")
        if conversation.played_to_the_end:
            result.expected_finished += 1
            result.flagged_expected += conversation.plan.flagged
            complete = [(cid, outcome) for cid, status, outcome in rows if status == "complete"]
            if len(complete) != 1:
                result.unfinished.append(
                    f"{conversation.sender}: {len(complete)} complete consultations ({[s for _, s, _ in rows]})"
                )
                continue
            result.finished += 1
            outcome = complete[0][1]
            if (outcome in ("review", "defer")) != conversation.plan.flagged:
                result.wrong_outcome.append(f"{conversation.sender}: plan {conversation.plan.name}, outcome {outcome}")
    return result


# ------------------------------------------------------------------------------------------------ the report


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


@dataclass
class Summary:
    label: str
    clients: int
    seconds: float
    conversations: int
    turns: int
    acknowledged: int
    p50: float
    p95: float
    p99: float
    turns_per_second: float
    failed_turns: int
    errors: Counter
    desync: int
    forbidden: int
    audit: Audit
    out_of_step: List[str] = field(default_factory=list)  # "sender: after 'x' expected 'y' (statuses): got ..."

    @property
    def ok(self) -> bool:
        return self.audit.ok and not self.forbidden


def summarise(label: str, load: Load, found: Audit) -> Summary:
    turns = load.turns()
    acked = [t for t in turns if t.acknowledged]
    latencies = [t.latency for t in acked]
    errors: Counter = Counter()
    for turn in turns:
        for attempt in turn.attempts:
            if attempt.status != "200":
                errors[attempt.status] += 1
        if not turn.acknowledged:
            errors["never answered"] += 1
    for kind, count in load.session_errors.items():
        errors[f"session {kind}"] += count
    desync = sum(1 for c in load.conversations if c.desync)
    if desync:
        errors["unexpected reply"] += desync
    out_of_step = []
    for conversation in load.conversations:
        if conversation.desync and conversation.turns:
            last = conversation.turns[-1]
            statuses = ",".join(a.status for a in last.attempts)
            out_of_step.append(
                f"{conversation.sender}: {conversation.desync} ({statuses}): got {reply_text(last.replies)[:160]!r}"
            )
    return Summary(
        label,
        load.clients,
        load.seconds,
        len(load.conversations),
        len(turns),
        len(acked),
        percentile(latencies, 0.50),
        percentile(latencies, 0.95),
        percentile(latencies, 0.99),
        len(acked) / load.seconds if load.seconds else 0.0,
        sum(1 for t in turns if t.failed),
        errors,
        desync,
        sum(1 for c in load.conversations if c.forbidden),
        found,
        out_of_step,
    )


def table(rows: Sequence[Tuple[str, ...]], header: Tuple[str, ...]) -> str:
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]

    def line(r: Tuple[str, ...]) -> str:
        return "  ".join(
            str(v).ljust(w) if i == 0 else str(v).rjust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True))
        )

    return "\n".join([line(header), "  ".join("-" * w for w in widths), *(line(r) for r in rows)])


def report(summaries: Sequence[Summary]) -> str:
    header = ("", *(s.label for s in summaries))

    def row(name: str, value: Callable[[Summary], Any]) -> Tuple[str, ...]:
        return (name, *(str(value(s)) for s in summaries))

    rows = [
        row("clients", lambda s: s.clients),
        row("seconds", lambda s: f"{s.seconds:.0f}"),
        row("consultations started", lambda s: s.conversations),
        row("turns sent", lambda s: s.turns),
        row("messages acknowledged", lambda s: s.audit.acknowledged),
        row("user events stored", lambda s: s.audit.stored),
        row("LOST (acknowledged, not stored)", lambda s: len(s.audit.lost)),
        row("DUPLICATED (stored twice)", lambda s: len(s.audit.duplicated)),
        row("conversations out of order", lambda s: len(s.audit.out_of_order)),
        row("stored, never acknowledged", lambda s: s.audit.stored_unacknowledged),
        row("user events not sent by a client", lambda s: s.audit.unknown_user_events),
        row("consultations played to the end", lambda s: s.audit.expected_finished),
        row("  of them complete in the database", lambda s: s.audit.finished),
        row("  flagged by the script", lambda s: s.audit.flagged_expected),
        row("  wrong outcome", lambda s: len(s.audit.wrong_outcome)),
        row("flagged consultations (judged)", lambda s: s.audit.flagged),
        row("referrals", lambda s: s.audit.referrals),
        row("  flagged without exactly one", lambda s: len(s.audit.referral_problems)),
        row("turns failed (error other than 503)", lambda s: s.failed_turns),
        row("unexpected replies (script out of step)", lambda s: s.desync),
        row("forbidden wording", lambda s: s.forbidden),
        row("turn latency p50 (ms)", lambda s: f"{s.p50 * 1000:.0f}"),
        row("turn latency p95 (ms)", lambda s: f"{s.p95 * 1000:.0f}"),
        row("turn latency p99 (ms)", lambda s: f"{s.p99 * 1000:.0f}"),
        row("turns/s", lambda s: f"{s.turns_per_second:.1f}"),
        row(
            "errors by kind (attempts)", lambda s: ", ".join(f"{k}: {v}" for k, v in sorted(s.errors.items())) or "none"
        ),
    ]
    return table(rows, header)


def problems(summary: Summary, limit: int = 5) -> List[str]:
    """The first few of each kind of problem, for a failure message (conversation and message ids only)."""
    found = summary.audit
    lines: List[str] = []
    for name, items in (
        ("lost", found.lost),
        ("duplicated", found.duplicated),
        ("out of order", found.out_of_order),
        ("unfinished", found.unfinished),
        ("wrong outcome", found.wrong_outcome),
        ("referrals", found.referral_problems),
    ):
        if items:
            lines.append(f"{name} ({len(items)}): {items[:limit]}")
    if summary.forbidden:
        lines.append(f"forbidden wording in {summary.forbidden} conversations")
    if summary.out_of_step:
        lines.append(f"replies out of step with the script ({len(summary.out_of_step)}): {summary.out_of_step[:limit]}")
    return lines


# ------------------------------------------------------------------------------------------------ targets


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _answers(url: str, timeout: float = 2.0) -> bool:
    import requests

    try:
        return requests.get(url, timeout=timeout).status_code < 500
    except requests.RequestException:
        return False


class Postgres:
    """A throw-away PostgreSQL server on 127.0.0.1 (trust auth, no fsync), restartable on the same port and data."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
        if not found:
            raise RuntimeError(
                "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): "
                "apt-get install postgresql (.ci/system-packages does)"
            )
        self.bindir = Path(found[-1]).parent
        self.base = Path(tempfile.mkdtemp(prefix="load-pg-"))
        self.port = free_port()
        self.process: Optional[subprocess.Popen] = None
        self.as_postgres: List[str] = []
        if os.geteuid() == 0:  # postgres refuses to run as root
            shutil.chown(self.base, "postgres", "postgres")
            self.as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]

    @property
    def server_url(self) -> str:
        return f"postgresql://clinic@127.0.0.1:{self.port}"

    def start(self) -> Postgres:
        data = self.base / "data"
        if not data.exists():
            subprocess.run(
                self.as_postgres
                + [
                    str(self.bindir / "initdb"),
                    "-D",
                    str(data),
                    "-A",
                    "trust",
                    "-U",
                    "clinic",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                check=True,
                capture_output=True,
            )
        log = open(self.base / "server.log", "ab")  # noqa: SIM115 (the server writes to it while it runs)
        self.process = subprocess.Popen(
            self.as_postgres
            + [
                str(self.bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(self.port),
                "-k",
                str(self.base),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
                "-c",
                "max_connections=300",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while (
            subprocess.run(
                [str(self.bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)], capture_output=True
            ).returncode
            != 0
        ):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: see {self.base / 'server.log'}")
            time.sleep(0.2)
        return self

    def create_database(self, name: str) -> str:
        import sqlalchemy as sa

        admin = sa.create_engine(f"{self.server_url}/postgres", future=True, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE DATABASE {name}")
        admin.dispose()
        return f"{self.server_url}/{name}"

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # fast shutdown: open connections are cut
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)


class Target:
    """What a bench needs of what it runs against."""

    name = "target"
    url: str
    origin: str
    database_url: str
    faults: Tuple[str, ...] = ()  # the fault names it supports (faults.py)

    def start(self) -> Target:
        return self

    def stop(self) -> None:
        pass

    def healthy(self) -> bool:
        return _answers(f"{self.url}/chat/health")

    def wait_healthy(self, timeout: float = 300.0, since: Optional[float] = None) -> float:
        """Seconds from `since` (default now) until healthy; raises after `timeout`."""
        began = since if since is not None else time.monotonic()
        deadline = time.monotonic() + timeout
        while not self.healthy():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} not healthy after {timeout:.0f} s")
            time.sleep(0.25)
        return time.monotonic() - began

    def kill(self, process: str) -> None:
        raise NotImplementedError(f"{self.name} cannot kill {process}")

    def restart_postgres(self) -> None:
        raise NotImplementedError(f"{self.name} has no PostgreSQL of its own")

    def __enter__(self) -> Target:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()


class UrlTarget(Target):
    name = "url"

    def __init__(self, url: str, database_url: str) -> None:
        self.url = self.origin = url.rstrip("/")
        self.database_url = database_url


class SingleInstance(Target):
    """One assistant as `make run` runs it (bot/supervisor.py restarts a killed child), on SQLite or PostgreSQL."""

    def __init__(
        self, database: str = "sqlite", env: Optional[Dict[str, str]] = None, workdir: Optional[Path] = None
    ) -> None:
        if database not in ("sqlite", "postgres"):
            raise ValueError("database is 'sqlite' or 'postgres'")
        self.database = database
        self.name = f"1 instance ({'SQLite' if database == 'sqlite' else 'PostgreSQL'})"
        self.env = dict(env or {})
        self.workdir = workdir or Path(tempfile.mkdtemp(prefix="load-single-"))
        self.postgres: Optional[Postgres] = None
        self.stack: Any = None
        self.faults = ("kill rasa", "kill actions", "kill web") + (
            ("restart postgres",) if database == "postgres" else ("lock sqlite",)
        )

    def start(self) -> SingleInstance:
        from tests.e2e.stack import Stack

        extra = {**LOAD_ENV, **self.env}
        if self.database == "postgres":
            self.postgres = Postgres().start()
            extra["DATABASE_URL"] = self.postgres.create_database("clinic")
        self.stack = Stack(self.workdir, with_web=True, extra_env=extra)
        try:
            self.stack.start(timeout=600)
        except Exception:
            self.stop()
            raise
        return self

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.stack.web_url

    @property
    def origin(self) -> str:  # type: ignore[override]
        return self.stack.web_url

    @property
    def database_url(self) -> str:  # type: ignore[override]
        return self.stack.env["DATABASE_URL"]

    @property
    def sqlite_path(self) -> Path:
        return Path(self.database_url.split("sqlite:///", 1)[1])

    def healthy(self) -> bool:
        env = self.stack.env
        return (
            _answers(f"http://127.0.0.1:{env['ACTIONS_PORT']}/health")
            and _answers(f"http://127.0.0.1:{env['RASA_PORT']}/")
            and _answers(f"{self.url}/health")
        )

    def processes(self) -> Dict[str, int]:
        return {name: self.stack.child_pid(name) for name in ("rasa", "actions", "web")}

    def kill(self, process: str) -> None:
        self.stack.kill_child(process.split("-")[0])  # "rasa-0" or "rasa"

    def restart_postgres(self) -> None:
        if self.postgres is None:
            raise NotImplementedError("this instance runs on SQLite")
        self.postgres.restart()

    def lock_sqlite(self, seconds: float) -> None:
        """Hold an exclusive lock on the SQLite file for `seconds` (every writer waits or fails meanwhile)."""
        connection = sqlite3.connect(str(self.sqlite_path), timeout=60, isolation_level=None)
        try:
            connection.execute("BEGIN EXCLUSIVE")
            time.sleep(seconds)
            connection.execute("ROLLBACK")
        finally:
            connection.close()

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
        if self.postgres is not None:
            self.postgres.remove()
            self.postgres = None


class ClusterTarget(Target):
    """N replicas behind a load balancer (bot/cluster.py), started here on free ports in a folder of its own, or
    one already started (`cluster=`, e.g. the tests' fixture)."""

    def __init__(
        self,
        replicas: int = 2,
        cluster: Any = None,
        smtp_url: Optional[str] = None,
        env: Optional[Dict[str, str]] = None,
    ) -> None:
        self.replicas = replicas if cluster is None else cluster.replicas
        self.cluster = cluster
        self.owned = cluster is None
        self.smtp_url = smtp_url
        self.env = {**LOAD_ENV, **(env or {})}
        self.workdir: Optional[Path] = None
        self.name = f"{self.replicas} replicas"
        self.faults = ("kill rasa-0", "kill actions-0", "kill web-0", "restart postgres")

    def start(self) -> ClusterTarget:
        if self.cluster is None:
            from bot.cluster import Cluster  # the other half of issue 11

            self.workdir = Path(tempfile.mkdtemp(prefix="load-cluster-"))
            self.cluster = Cluster(
                replicas=self.replicas,
                base_port=free_block(10 * (self.replicas + 1)),
                workdir=self.workdir,
                env=self.env,
                smtp_url=self.smtp_url,
                say=lambda line: print(f"[cluster] {line}", flush=True),
            )
            self.cluster.start()
            if self.smtp_url:
                self.cluster.start_workers()  # the notifier runs once, in the launcher (here)
        return self

    @property
    def url(self) -> str:  # type: ignore[override]
        return self.cluster.url.rstrip("/")

    @property
    def origin(self) -> str:  # type: ignore[override]
        return self.url

    @property
    def database_url(self) -> str:  # type: ignore[override]
        return self.cluster.database_url

    def healthy(self) -> bool:
        return all(self.cluster.healthy().values())

    def wait_healthy(self, timeout: float = 300.0, since: Optional[float] = None) -> float:
        began = since if since is not None else time.monotonic()
        self.cluster.wait_healthy(timeout)
        return time.monotonic() - began

    def processes(self) -> Dict[str, int]:
        return dict(self.cluster.processes())

    def kill(self, process: str) -> None:
        self.cluster.kill(process, signal.SIGKILL)

    def restart_postgres(self) -> None:
        self.cluster.restart_postgres()

    def stop(self) -> None:
        if self.owned and self.cluster is not None:
            self.cluster.stop()
            self.cluster = None
            if self.workdir is not None:
                shutil.rmtree(self.workdir, ignore_errors=True)


def free_block(size: int) -> int:
    """A base port with `size` free ports after it (the cluster's ports are base + offsets)."""
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(20000, 40000, 100)
        if all(not _port_busy(port) for port in range(base, base + size + 3)):
            return base
    raise RuntimeError("no free block of ports found")


def _port_busy(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


# ------------------------------------------------------------------------------------------------ mail


class MailSink:
    """A real SMTP server (aiosmtpd) on a fixed port that can be taken away and brought back; counts each referral
    link it received (one notice per referral, a digest lists several)."""

    def __init__(self, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.controller: Any = None
        self.messages: List[Any] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # aiosmtpd's handler hook
        with self._lock:
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted for delivery"

    def start(self) -> MailSink:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def referral_links(self) -> Counter:
        import re

        found: Counter = Counter()
        with self._lock:
            messages = list(self.messages)
        for message in messages:
            body = (
                message.get_payload(decode=True)
                if not message.is_multipart()
                else b"".join(
                    part.get_payload(decode=True) or b"" for part in message.walk() if not part.is_multipart()
                )
            )
            for referral in set(re.findall(r"/staff/referrals/(\d+)", (body or b"").decode("utf-8", "replace"))):
                found[int(referral)] += 1
        return found


# ------------------------------------------------------------------------------------------------ faults during load


@dataclass
class Fault:
    name: str
    inject: Callable[[], None]  # blocking: returns when the fault has been made (and, for an outage, ended)


@dataclass
class FaultResult:
    name: str
    started: float  # monotonic
    window_end: float = 0.0
    inject_seconds: float = 0.0
    healthy_after: Optional[float] = None  # seconds from the fault until every process answered again
    error: Optional[str] = None  # the fault or the wait for health went wrong
    turns: int = 0
    failed_turns: int = 0
    one_moment: int = 0  # 503 attempts
    errors_for: float = 0.0  # seconds from the fault until the last failed attempt ended
    lost: int = 0
    duplicated: int = 0
    served_after: int = 0  # turns started after health came back and answered at the first try

    @property
    def back_at(self) -> Optional[float]:
        return None if self.healthy_after is None else self.started + self.healthy_after


def fault_catalogue(
    target: Target, mail: Optional[MailSink] = None, lock_seconds: float = 10.0, mail_down_seconds: float = 15.0
) -> Dict[str, Fault]:
    """Every fault `target` (and the mail sink) can take, by name."""
    found: Dict[str, Fault] = {}
    for name in target.faults:
        if name.startswith("kill "):
            process = name.split(" ", 1)[1]
            found[name] = Fault(f"kill -9 {process}", lambda process=process: target.kill(process))
        elif name == "restart postgres":
            found[name] = Fault("restart PostgreSQL", target.restart_postgres)
        elif name == "lock sqlite":
            found[name] = Fault(f"lock SQLite {lock_seconds:.0f} s", lambda: target.lock_sqlite(lock_seconds))  # type: ignore[attr-defined]
    if mail is not None:

        def outage() -> None:
            """Down for `mail_down_seconds`, and on until at least one notice has failed to go (at most 2 minutes
            more): an outage nobody tried to send through would prove nothing."""
            before = failed_notices(target.database_url)
            mail.stop()
            began = time.monotonic()
            try:
                while time.monotonic() - began < mail_down_seconds or (
                    failed_notices(target.database_url) <= before and time.monotonic() - began < 120
                ):
                    time.sleep(1.0)
            finally:
                mail.start()

        found["smtp down"] = Fault(f"SMTP down {mail_down_seconds:.0f} s+", outage)
    return found


def failed_notices(database_url: str) -> int:
    """Attempts to send a notice that failed so far (each pending notice with an error, once)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url, future=True)
    try:
        with engine.connect() as connection:
            return connection.execute(
                sa.text(
                    "SELECT COALESCE(SUM(attempts), 0) FROM outbox WHERE status = 'pending' AND last_error IS NOT NULL"
                )
            ).scalar_one()
    finally:
        engine.dispose()


async def _under_load(
    target: Target, load: Load, faults: Sequence[Fault], warmup: float, settle: float, health_timeout: float
) -> List[FaultResult]:
    running = asyncio.ensure_future(load.run())
    results: List[FaultResult] = []
    try:
        await asyncio.sleep(warmup)
        for fault in faults:
            result = FaultResult(fault.name, time.monotonic())
            results.append(result)
            print(f"[faults] {fault.name} ...", flush=True)
            try:
                await asyncio.to_thread(fault.inject)
                result.inject_seconds = time.monotonic() - result.started
                await asyncio.sleep(1.0)  # a killed process is gone before health is asked
                result.healthy_after = await asyncio.to_thread(target.wait_healthy, health_timeout, result.started)
            except Exception as exc:  # the table says so; the run goes on with the next fault
                result.error = f"{type(exc).__name__}: {exc}"
            print(
                f"[faults] {fault.name}: healthy after "
                f"{'-' if result.healthy_after is None else f'{result.healthy_after:.1f} s'}"
                f"{' (' + result.error + ')' if result.error else ''}",
                flush=True,
            )
            await asyncio.sleep(settle)
            result.window_end = time.monotonic()
    finally:
        load.stop()
        await running
    return results


def attribute(results: List[FaultResult], load: Load, found: Audit) -> None:
    """Each turn to the fault window its first failed attempt ended in (or, with none, the one it started in), with
    its lost and duplicated messages; each failed attempt to the window it ended in."""
    lost = {m for _, m in found.lost}
    duplicated = {m for _, m in found.duplicated}

    def window(at: float) -> Optional[FaultResult]:
        for result in results:
            if result.started <= at < result.window_end:
                return result
        return None

    for turn in load.turns():
        failed = [a for a in turn.attempts if a.status != "200"]
        for attempt in failed:
            where = window(attempt.ended)
            if where is not None:
                where.errors_for = max(where.errors_for, attempt.ended - where.started)
                where.one_moment += attempt.status in ONE_MOMENT
        result = window(failed[0].ended if failed else turn.started)
        if result is None:
            continue
        result.turns += 1
        result.failed_turns += turn.failed
        result.lost += turn.message_id in lost
        result.duplicated += turn.message_id in duplicated
        if (
            result.back_at is not None
            and turn.started >= result.back_at
            and turn.acknowledged
            and len(turn.attempts) == 1
        ):
            result.served_after += 1


@dataclass
class MailCheck:
    referrals: int
    delivered_once: int
    missing: List[int]
    doubled: List[int]
    waited: float
    retried: int = 0  # notices sent after at least one failed attempt (the outage was felt)

    @property
    def ok(self) -> bool:
        return not self.missing and not self.doubled


def check_mail(database_url: str, mail: MailSink, timeout: float = 150.0) -> MailCheck:
    """Wait until every referral in the database has had its notice (the outbox retries after a backoff), then
    count: each exactly once."""
    import sqlalchemy as sa

    began = time.monotonic()
    engine = sa.create_engine(database_url, future=True)
    try:
        while True:
            with engine.connect() as connection:
                ids = sorted(r[0] for r in connection.execute(sa.text("SELECT id FROM referrals")))
            links = mail.referral_links()
            missing = [i for i in ids if links[i] == 0]
            if not missing or time.monotonic() - began > timeout:
                break
            time.sleep(2.0)
        time.sleep(6.0)  # one more notifier round: a notice sent twice would show now
        links = mail.referral_links()
        with engine.connect() as connection:
            retried = connection.execute(
                sa.text("SELECT COUNT(*) FROM outbox WHERE status = 'sent' AND attempts > 1")
            ).scalar_one()
    finally:
        engine.dispose()
    return MailCheck(
        len(ids),
        sum(1 for i in ids if links[i] == 1),
        [i for i in ids if links[i] == 0],
        [i for i in ids if links[i] > 1],
        time.monotonic() - began,
        retried,
    )


@dataclass
class FaultRun:
    target: str
    summary: Summary
    results: List[FaultResult]
    mail: Optional[MailCheck] = None
    load: Optional[Load] = None

    @property
    def ok(self) -> bool:
        return (
            self.summary.ok
            and all(r.error is None and r.lost == 0 and r.duplicated == 0 for r in self.results)
            and (self.mail is None or self.mail.ok)
        )


def run_faults(
    target: Target,
    fault_names: Sequence[str],
    clients: int,
    *,
    mail: Optional[MailSink] = None,
    warmup: float = 10.0,
    settle: float = 10.0,
    health_timeout: float = 300.0,
) -> FaultRun:
    """Load on `target`, the faults one at a time (each: made, then waited for health, then `settle` s more), then
    the count against the database (and the mail sink's inbox)."""
    catalogue = fault_catalogue(target, mail)
    faults = [catalogue[name] for name in fault_names]
    load = Load(target.url, clients, origin=target.origin)
    results = asyncio.run(_under_load(target, load, faults, warmup, settle, health_timeout))
    time.sleep(1.0)
    found = audit(target.database_url, load.conversations)
    attribute(results, load, found)
    summary = summarise(target.name, load, found)
    checked = check_mail(target.database_url, mail) if mail is not None else None
    return FaultRun(target.name, summary, results, checked, load)


def fault_table(runs: Sequence[FaultRun]) -> str:
    rows = []
    for run in runs:
        for r in run.results:
            rows.append(
                (
                    r.name,
                    run.target,
                    f"{r.inject_seconds:.1f}",
                    "-" if r.healthy_after is None else f"{r.healthy_after:.1f}",
                    f"{r.errors_for:.1f}",
                    str(r.turns),
                    str(r.failed_turns),
                    str(r.one_moment),
                    str(r.lost),
                    str(r.duplicated),
                    r.error or "",
                )
            )
    return table(
        rows,
        (
            "fault",
            "on",
            "made in (s)",
            "healthy after (s)",
            "errors for (s)",
            "turns",
            "failed turns",
            "503s",
            "LOST",
            "DUPLICATED",
            "problem",
        ),
    )


def mail_line(check: MailCheck) -> str:
    return (
        f"notices: {check.referrals} referrals, {check.delivered_once} delivered exactly once, "
        f"{len(check.missing)} missing, {len(check.doubled)} doubled; {check.retried} sent after a failed "
        f"attempt (waited {check.waited:.0f} s)"
    )


def details(load: Load, found: Audit) -> List[Dict[str, Any]]:
    """Every conversation that went wrong, turn by turn (scripted text, statuses, the assistant's replies): for a
    post-mortem (`--details FILE`). The clients' words are the script's, never a real person's."""
    bad = {s for s, _ in found.lost} | {s for s, _ in found.duplicated} | set(found.out_of_order)
    bad |= {line.split(":")[0] for line in found.unfinished + found.wrong_outcome + found.referral_problems}
    began = load.began or 0.0
    out = []
    for conversation in load.conversations:
        if conversation.sender in bad or conversation.desync or any(t.failed for t in conversation.turns):
            out.append(
                {
                    "sender": conversation.sender,
                    "plan": conversation.plan.name,
                    "desync": conversation.desync,
                    "audit_problem": conversation.sender in bad,
                    "turns": [
                        {
                            "at": round(t.started - began, 2),
                            "say": t.text,
                            "message_id": t.message_id,
                            "attempts": [[a.status, round(a.ended - began, 2)] for a in t.attempts],
                            "reply": reply_text(t.replies),
                        }
                        for t in conversation.turns
                    ],
                }
            )
    return out
