"""Fixtures for the store tests: a fixed clock, fake judgements, Rasa trackers, a throw-away PostgreSQL server."""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import pytest

from bot.screening import Finding, Judgement  # the engine's own values, as the actions pass them

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def now() -> datetime:
    return NOW


# ----------------------------------------------------------------------------------------------------- judgements


def judgement(*flags: Tuple[str, str], rules_version: str = "rules-test-1") -> Judgement:
    """judgement(("pregnancy", "defer"), ("anticoagulant", "review")); no flags = clear."""
    findings = tuple(
        Finding(
            code=code,
            outcome=outcome,
            rule=f"Rule {code}",
            rationale=f"why {code} matters",
            client_text="A practitioner will be in touch.",
            detail=f"answered yes to {code}",
        )
        for code, outcome in flags
    )
    order = ("clear", "review", "defer")
    outcome = max((o for _c, o in flags), key=order.index, default="clear")
    return Judgement(
        outcome=outcome,
        findings=tuple(sorted(findings, key=lambda f: -order.index(f.outcome))),
        rules_version=rules_version,
    )


@pytest.fixture
def make_judgement() -> Callable[..., Judgement]:
    return judgement


ANSWERS: Dict[str, Any] = {
    "name": "Jane Example",
    "contact_email": "Jane@Example.org",
    "contact_phone": None,
    "concerns": ["acne_scarring"],
    "area": "cheeks",
    "medications": "none",
    "blood_thinners": "no",
    "pregnancy": "yes",
    "further_checks": [],
}


@pytest.fixture
def answers() -> Dict[str, Any]:
    return dict(ANSWERS)


# ------------------------------------------------------------------------------------------------- Rasa trackers

DOMAIN_YAML = """
version: "3.1"
intents: [greet, affirm, deny]
responses:
  utter_greet:
    - text: "Hello! Shall we start?"
      buttons:
        - {title: "Yes", payload: "/affirm"}
        - {title: "No", payload: "/deny"}
  utter_ok:
    - text: "Thank you."
"""


@pytest.fixture(scope="session")
def domain() -> Any:
    from rasa.shared.core.domain import Domain

    return Domain.from_yaml(DOMAIN_YAML)


def conversation_events(start: float, *, session_start: bool = True) -> List[Any]:
    """A short chat starting at epoch `start`: greeting, a question with buttons, a button press, a thank-you."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

    events: List[Any] = []
    if session_start:
        # as Rasa logs them: the action's event is stamped after the SessionStarted its run() made
        events += [ActionExecuted("action_session_start", timestamp=start + 0.1), SessionStarted(timestamp=start)]
    events += [
        ActionExecuted("action_listen", timestamp=start + 0.2),
        UserUttered("hello", intent={"name": "greet", "confidence": 1.0}, timestamp=start + 1),
        BotUttered(
            "Hello! Shall we start?",
            data={"buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]},
            timestamp=start + 2,
        ),
        ActionExecuted("action_listen", timestamp=start + 2.1),
        UserUttered("/affirm", intent={"name": "affirm", "confidence": 1.0}, timestamp=start + 3),
        BotUttered("Thank you.", timestamp=start + 4),
    ]
    return events


@pytest.fixture
def save_conversation(domain: Any) -> Callable[..., Any]:
    """save_conversation(sender_id, events) through the project's tracker store (on DATABASE_URL)."""

    def save(sender_id: str, events: Sequence[Any], store: Optional[Any] = None) -> Any:
        from rasa.shared.core.trackers import DialogueStateTracker

        from bot.store.tracker_store import DatabaseTrackerStore

        store = store or DatabaseTrackerStore(domain=domain)
        tracker = DialogueStateTracker.from_events(sender_id, list(events), domain.slots)
        asyncio.run(store.save(tracker))
        return store

    return save


def count_events(url: str, sender_id: Optional[str] = None) -> int:
    import sqlalchemy as sa

    from bot.store.db import get_engine

    with get_engine(url).connect() as connection:
        if not sa.inspect(connection).has_table("events"):
            return 0
        query = "SELECT COUNT(*) FROM events" + (" WHERE sender_id = :s" if sender_id else "")
        return connection.execute(sa.text(query), {"s": sender_id}).scalar_one()


def count_rows(url: str, table: str) -> int:
    import sqlalchemy as sa

    from bot.store.db import get_engine

    with get_engine(url).connect() as connection:
        return connection.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


# ---------------------------------------------------------------------------------------------------- PostgreSQL


def _postgres_bin() -> Optional[Path]:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    return Path(found[-1]).parent if found else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throw-away PostgreSQL cluster on 127.0.0.1 (trust auth), stopped by its own process id afterwards."""
    bindir = _postgres_bin()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server binaries not found (/usr/lib/postgresql/*/bin): install them with `apt-get "
            "install postgresql` (.ci/run does)"
        )
    base = Path(tempfile.mkdtemp(prefix="clinic-pg-"))
    as_postgres: List[str] = []
    if os.geteuid() == 0:  # postgres refuses to run as root: drop to the postgres user (exec, same pid)
        shutil.chown(base, "postgres", "postgres")
        as_postgres = ["setpriv", "--reuid=postgres", "--regid=postgres", "--init-groups", "--"]
    data = base / "data"
    subprocess.run(
        as_postgres
        + [str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "clinic", "-E", "UTF8", "--no-sync"],
        check=True,
        capture_output=True,
    )
    port = _free_port()
    with open(base / "server.log", "wb") as log:  # the server keeps its own copy of the file
        server = subprocess.Popen(
            as_postgres
            + [
                str(bindir / "postgres"),
                "-D",
                str(data),
                "-p",
                str(port),
                "-k",
                str(base),
                "-c",
                "listen_addresses=127.0.0.1",
                "-c",
                "fsync=off",
                "-c",
                "full_page_writes=off",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            ready = subprocess.run(
                [str(bindir / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)], capture_output=True
            )
            if ready.returncode == 0:
                break
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"PostgreSQL did not start: see {base / 'server.log'}")
            time.sleep(0.2)
        yield f"postgresql://clinic@127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGINT)  # fast shutdown
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def postgres_url(postgres_server: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for this test; DATABASE_URL points at it."""
    import sqlalchemy as sa

    from bot.store import db, migrate

    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(f"{postgres_server}/postgres", future=True, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.exec_driver_sql(f"CREATE DATABASE {name}")
    url = f"{postgres_server}/{name}"
    monkeypatch.setenv("DATABASE_URL", url)
    db.clear_engine_cache()
    migrate.upgrade(url)
    yield url
    db.clear_engine_cache()
    with admin.connect() as connection:
        connection.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    admin.dispose()
