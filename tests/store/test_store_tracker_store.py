"""Rasa's tracker store on DATABASE_URL: built from endpoints.yml, saves and retrieves, feeds the transcript."""
from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa

from bot import store
from bot.store import db

from .conftest import conversation_events

ENDPOINTS = "tracker_store:\n  type: bot.store.tracker_store.DatabaseTrackerStore\n"


def test_endpoints_yml_builds_our_store_on_database_url(database_url: str, domain: Any, tmp_path: Path) -> None:
    from rasa.core.tracker_store import TrackerStore
    from rasa.utils.endpoints import read_endpoint_config

    from bot.store.tracker_store import DatabaseTrackerStore

    endpoints = tmp_path / "endpoints.yml"
    endpoints.write_text(ENDPOINTS)

    built = TrackerStore.create(read_endpoint_config(str(endpoints), "tracker_store"), domain=domain)

    # Rasa falls back to an in-memory store, with only a warning, when a custom store fails to import
    assert isinstance(built, DatabaseTrackerStore)
    assert str(built.engine.url) == database_url
    assert sa.inspect(built.engine).has_table("events")  # Rasa makes its own table


def test_save_retrieve_and_transcript_from_the_same_sqlite_file(database_url: str, domain: Any,
                                                                  save_conversation) -> None:
    from rasa.shared.core.events import BotUttered, UserUttered

    from bot.store.tracker_store import DatabaseTrackerStore

    tracker_store = DatabaseTrackerStore(domain=domain)
    save_conversation("chat-1", conversation_events(1_740_819_600.0), tracker_store)

    tracker = asyncio.run(tracker_store.retrieve("chat-1"))
    assert [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))] == [
        "hello", "Hello! Shall we start?", "/affirm", "Thank you."]

    lines = store.transcript("chat-1")
    assert lines == [
        {"time": "2025-03-01T09:00:01+00:00", "sender": "client", "text": "hello", "buttons": []},
        {"time": "2025-03-01T09:00:02+00:00", "sender": "assistant", "text": "Hello! Shall we start?",
         "buttons": ["Yes", "No"]},
        # a pressed button reads as its title
        {"time": "2025-03-01T09:00:03+00:00", "sender": "client", "text": "Yes", "buttons": []},
        {"time": "2025-03-01T09:00:04+00:00", "sender": "assistant", "text": "Thank you.", "buttons": []},
    ]
    with db.get_engine(database_url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_saving_again_appends_only_new_events(database_url: str, domain: Any, save_conversation) -> None:
    from rasa.shared.core.events import UserUttered

    events = conversation_events(1_740_819_600.0)
    tracker_store = save_conversation("chat-1", events)
    save_conversation("chat-1", events + [UserUttered("one more", timestamp=1_740_819_610.0)], tracker_store)

    assert [line["text"] for line in store.transcript("chat-1")][-2:] == ["Thank you.", "one more"]
    assert len(store.transcript("chat-1")) == 5


def test_transcript_since_and_until(database_url: str, save_conversation, now) -> None:
    from datetime import timedelta

    save_conversation("chat-1", conversation_events(now.timestamp()))

    lines = store.transcript("chat-1", since=now + timedelta(seconds=2), until=now + timedelta(seconds=4))

    assert [line["text"] for line in lines] == ["Hello! Shall we start?", "Yes"]


def test_transcript_is_empty_before_rasa_made_its_table(database_url: str) -> None:
    assert store.transcript("chat-1") == []


def test_transcript_of_an_unknown_conversation_is_empty(database_url: str, save_conversation) -> None:
    save_conversation("chat-1", conversation_events(1_740_819_600.0))

    assert store.transcript("someone-else") == []


# ------------------------------------------------------------------------------------------------- PostgreSQL URL


@pytest.fixture
def captured_engine(monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """Record what SQLTrackerStore asks create_engine for, and give it an in-memory SQLite instead of a server."""
    import rasa.core.tracker_store as rasa_tracker_store

    calls: List[Dict[str, Any]] = []
    real_create_engine = rasa_tracker_store.sa.create_engine

    def fake_create_engine(url: Any, **kwargs: Any) -> Any:
        calls.append({"url": url, "kwargs": kwargs})
        return real_create_engine("sqlite://")

    monkeypatch.setattr(rasa_tracker_store.sa, "create_engine", fake_create_engine)
    return calls


@pytest.mark.parametrize("given", ["postgresql://clinic:s3cret@db.internal:5433/clinic",
                                   "postgres://clinic:s3cret@db.internal:5433/clinic"])
def test_postgresql_url_reaches_the_engine_intact(monkeypatch: pytest.MonkeyPatch, captured_engine, domain: Any,
                                                  given: str) -> None:
    from bot.store.tracker_store import DatabaseTrackerStore

    monkeypatch.setenv("DATABASE_URL", given)

    DatabaseTrackerStore(domain=domain)

    [call] = captured_engine
    url = sa.engine.make_url(call["url"])
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql", "clinic", "s3cret", "db.internal", 5433, "clinic")
    assert "pool_size" in call["kwargs"]  # Rasa's PostgreSQL pool settings still apply


def test_url_in_endpoints_overrides_database_url(monkeypatch: pytest.MonkeyPatch, captured_engine,
                                                 domain: Any) -> None:
    from bot.store.tracker_store import DatabaseTrackerStore

    monkeypatch.setenv("DATABASE_URL", "postgresql://a@one/clinic")

    DatabaseTrackerStore(domain=domain, host="postgresql://b@two:6543/other", dialect="sqlite", db="rasa.db")

    assert str(captured_engine[0]["url"]) == "postgresql://b@two:6543/other"
