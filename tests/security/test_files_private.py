"""Issue 9, finding 6: the database and its WAL were world-readable, and erased data stayed in the WAL.

Real SQLite files in a temporary folder; erase and purge through the real command line (`python -m bot data ...`).
"""

from __future__ import annotations

import os
import sqlite3
import stat
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Dict, Iterator

import pytest

from bot import settings
from bot.store import db

ROOT = Path(__file__).resolve().parents[2]

NAME = "Quillon Vantablack"
EMAIL = "quillon.vantablack@example.org"
NOTE = "Takes Zorbexafen for keloid scarring"
SAID = "my doctor gave me Zorbexafen last spring"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The test process's umask as a careless shell would have it (files 0644, folders 0755)."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.fixture
def var_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, loose_umask: None) -> Path:
    """A var/ made before the fix: 0755, holding a 0644 database."""
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)
    with sqlite3.connect(var / "clinic.db") as connection:
        connection.execute("CREATE TABLE old (x)")
    os.chmod(var / "clinic.db", 0o644)
    monkeypatch.setattr(settings, "VAR_DIR", var)
    monkeypatch.setenv("DATABASE_URL", sqlite_url(var / "clinic.db"))
    db.clear_engine_cache()
    yield var
    db.clear_engine_cache()


def test_an_existing_var_folder_and_database_are_made_private(var_folder: Path) -> None:
    import sqlalchemy as sa

    with db.session_scope() as session:  # a write: the WAL and its index exist now
        session.execute(sa.text("INSERT INTO old VALUES (1)"))

    assert mode(var_folder) == 0o700
    files = [var_folder / name for name in ("clinic.db", "clinic.db-wal", "clinic.db-shm")]
    assert all(f.exists() for f in files)
    assert {f.name: mode(f) for f in files} == {f.name: 0o600 for f in files}


def test_a_new_database_folder_and_files_are_private(tmp_path: Path, monkeypatch, loose_umask) -> None:
    path = tmp_path / "made" / "here" / "clinic.db"
    url = sqlite_url(path)
    try:
        with db.get_engine(url).begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
            connection.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert mode(path.parent) == 0o700
        for suffix in ("", "-wal", "-shm"):
            assert mode(Path(f"{path}{suffix}")) == 0o600, suffix
    finally:
        db.clear_engine_cache()


def test_another_folder_named_by_database_url_keeps_its_mode_but_not_the_files(tmp_path: Path, loose_umask) -> None:
    shared = tmp_path / "shared"
    shared.mkdir(mode=0o755)
    try:
        with db.get_engine(sqlite_url(shared / "clinic.db")).begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (x)")
        assert mode(shared) == 0o755  # not var/: the operator's folder, perhaps a home folder
        assert mode(shared / "clinic.db") == 0o600
    finally:
        db.clear_engine_cache()


def clean_env(**extra: str) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "VAR_DIR")}
    env.update(
        {
            "PYTHONPATH": str(ROOT),
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            "WEB_SECRET": "test-web-secret-" + "x" * 16,
            **extra,
        }
    )
    return env


def test_python_m_bot_runs_with_a_private_umask_and_var(tmp_path: Path) -> None:
    var = tmp_path / "var"
    var.mkdir(mode=0o755)
    os.chmod(var, 0o755)

    done = subprocess.run(
        [sys.executable, "-m", "bot", "db", "upgrade"],
        cwd=ROOT,
        env=clean_env(VAR_DIR=str(var)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert mode(var) == 0o700
    assert {p.name: mode(p) for p in var.iterdir()} == {p.name: 0o600 for p in var.iterdir()}

    umask = subprocess.run(
        [sys.executable, "-c", "import os, bot.__main__; print(oct(os.umask(0o022)))"],
        cwd=ROOT,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert umask.stdout.strip() == "0o77", umask.stderr[-2000:]


# ------------------------------------------------------------------------------------------- erase and purge


CHAT_DOMAIN = """
version: "3.1"
intents: [greet, inform]
responses:
  utter_greet:
    - text: "Hello!"
"""


def store_a_client(conversation_id: str, *, when: datetime) -> None:
    """A completed consultation with a distinctive name, email and note, and its Rasa transcript."""
    import asyncio

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import store
    from bot.screening import Finding, Judgement
    from bot.store.tracker_store import DatabaseTrackerStore

    answers = {
        "name": NAME,
        "contact_email": EMAIL,
        "contact_phone": "07700900999",
        "area": "cheeks",
        "medications": NOTE,
        "consent": True,
    }
    store.record_answers(conversation_id, answers, now=when)
    store.complete(
        conversation_id,
        answers,
        Judgement("review", (Finding("retinoid", "review", "Rule", "why", "", NOTE),), "rules-test-1"),
        now=when,
    )
    domain = Domain.from_yaml(CHAT_DOMAIN)
    start = when.timestamp()
    events = [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start + 1),
        UserUttered(f"I am {NAME}, {EMAIL}. {SAID}", intent={"name": "inform", "confidence": 1.0}, timestamp=start + 2),
        BotUttered("Thank you.", timestamp=start + 3),
    ]
    asyncio.run(
        DatabaseTrackerStore(domain=domain).save(
            DialogueStateTracker.from_events(conversation_id, events, domain.slots)
        )
    )


def raw_bytes(path: Path) -> Dict[str, bytes]:
    return {
        suffix or "db": Path(f"{path}{suffix}").read_bytes()
        for suffix in ("", "-wal", "-shm")
        if Path(f"{path}{suffix}").exists()
    }


def leaks(path: Path) -> Dict[str, list]:
    found = {}
    for name, data in raw_bytes(path).items():
        hits = [s for s in (NAME, EMAIL, NOTE, "Zorbexafen") if s.encode() in data]
        if hits:
            found[name] = hits
    return found


def run_bot(url: str, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=ROOT,
        env=clean_env(DATABASE_URL=url),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_an_erased_client_leaves_no_bytes_in_the_database_or_its_wal(database_url: str) -> None:
    path = Path(db.sqlite_path(database_url))
    store_a_client("chat-erase-me", when=datetime.now(timezone.utc))
    assert leaks(path), "the client's data should be on disk before the erase"

    # the test process keeps its pooled connections open, as the web app and action server would
    done = run_bot(database_url, "data", "erase", "chat-erase-me", "--yes")

    assert "erased 1 consultation(s)" in done.stdout
    assert "warning" not in done.stderr
    assert leaks(path) == {}
    assert not Path(f"{path}-wal").exists() or Path(f"{path}-wal").stat().st_size == 0


def test_a_purge_leaves_no_bytes_of_what_it_removed(database_url: str) -> None:
    path = Path(db.sqlite_path(database_url))
    store_a_client("chat-old", when=datetime.now(timezone.utc) - timedelta(days=40))
    assert leaks(path)

    done = run_bot(database_url, "data", "purge", "--older-than-days", "30")

    assert "purged 1 consultation(s)" in done.stdout
    assert leaks(path) == {}


def test_scrub_on_an_in_memory_or_missing_wal_database_does_no_harm(tmp_path: Path) -> None:
    assert db.scrub("sqlite://") is True
    url = sqlite_url(tmp_path / "empty.db")
    try:
        assert db.scrub(url) is True
    finally:
        db.clear_engine_cache()


def test_secure_delete_is_on_for_every_connection(database_url: str) -> None:
    with db.get_engine().connect() as connection:
        assert connection.exec_driver_sql("PRAGMA secure_delete").scalar() == 1
