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


def test_save_retrieve_and_transcript_from_the_same_sqlite_file(
    database_url: str, domain: Any, save_conversation
) -> None:
    from rasa.shared.core.events import BotUttered, UserUttered

    from bot.store.tracker_store import DatabaseTrackerStore

    tracker_store = DatabaseTrackerStore(domain=domain)
    save_conversation("chat-1", conversation_events(1_740_819_600.0), tracker_store)

    tracker = asyncio.run(tracker_store.retrieve("chat-1"))
    assert [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))] == [
        "hello",
        "Hello! Shall we start?",
        "/affirm",
        "Thank you.",
    ]

    lines = store.transcript("chat-1")
    assert lines == [
        {"time": "2025-03-01T09:00:01+00:00", "sender": "client", "text": "hello", "buttons": []},
        {
            "time": "2025-03-01T09:00:02+00:00",
            "sender": "assistant",
            "text": "Hello! Shall we start?",
            "buttons": ["Yes", "No"],
        },
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


@pytest.mark.parametrize(
    "given", ["postgresql://clinic:s3cret@db.internal:5433/clinic", "postgres://clinic:s3cret@db.internal:5433/clinic"]
)
def test_postgresql_url_reaches_the_engine_intact(
    monkeypatch: pytest.MonkeyPatch, captured_engine, domain: Any, given: str
) -> None:
    from bot.store.tracker_store import DatabaseTrackerStore

    monkeypatch.setenv("DATABASE_URL", given)

    DatabaseTrackerStore(domain=domain)

    [call] = captured_engine
    url = sa.engine.make_url(call["url"])
    assert (url.drivername, url.username, url.password, url.host, url.port, url.database) == (
        "postgresql",
        "clinic",
        "s3cret",
        "db.internal",
        5433,
        "clinic",
    )
    assert "pool_size" in call["kwargs"]  # Rasa's PostgreSQL pool settings still apply


def test_url_in_endpoints_overrides_database_url(monkeypatch: pytest.MonkeyPatch, captured_engine, domain: Any) -> None:
    from bot.store.tracker_store import DatabaseTrackerStore

    monkeypatch.setenv("DATABASE_URL", "postgresql://a@one/clinic")

    DatabaseTrackerStore(domain=domain, host="postgresql://b@two:6543/other", dialect="sqlite", db="rasa.db")

    assert str(captured_engine[0]["url"]) == "postgresql://b@two:6543/other"


# ------------------------------------------------------------------------------------------------- retrieval cache


def _uncached(tracker_store: Any, sender_id: str) -> Any:
    """What Rasa's own SQLTrackerStore.retrieve reads from the database."""
    from rasa.core.tracker_store import SQLTrackerStore

    return asyncio.run(SQLTrackerStore.retrieve(tracker_store, sender_id))


def _texts(tracker: Any) -> List[str]:
    from rasa.shared.core.events import BotUttered, UserUttered

    return [e.text for e in tracker.events if isinstance(e, (UserUttered, BotUttered))]


def test_a_cache_hit_returns_an_equal_tracker_and_a_fresh_copy(
    database_url: str, domain: Any, save_conversation
) -> None:
    from rasa.shared.core.events import UserUttered

    tracker_store = save_conversation("chat-1", conversation_events(1_740_819_600.0))

    first = asyncio.run(tracker_store.retrieve("chat-1"))
    second = asyncio.run(tracker_store.retrieve("chat-1"))

    assert tracker_store.cache_stats == {"hit": 1, "delta": 0, "miss": 1}
    assert first == second == _uncached(tracker_store, "chat-1")
    assert first is not second
    assert first.current_state() == second.current_state()
    # Rasa mutates what it retrieves: neither the tracker nor its events' dicts reach the cache
    first.update(UserUttered("not saved", timestamp=1_740_819_609.0))
    first.events[3].parse_data["intent"]["name"] = "mutated"
    assert asyncio.run(tracker_store.retrieve("chat-1")) == second
    assert asyncio.run(tracker_store.retrieve("chat-1")).events[3].intent["name"] == "greet"


def test_our_own_save_is_read_as_the_new_rows_only(database_url: str, domain: Any, save_conversation) -> None:
    from rasa.shared.core.events import UserUttered

    tracker_store = save_conversation("chat-1", conversation_events(1_740_819_600.0))
    tracker = asyncio.run(tracker_store.retrieve("chat-1"))
    tracker.update(UserUttered("one more", timestamp=1_740_819_610.0))
    asyncio.run(tracker_store.save(tracker))

    again = asyncio.run(tracker_store.retrieve("chat-1"))

    assert tracker_store.cache_stats == {"hit": 0, "delta": 1, "miss": 1}
    assert again == _uncached(tracker_store, "chat-1") == tracker
    assert _texts(again)[-1] == "one more"


def test_an_event_written_by_another_process_is_seen(database_url: str, domain: Any, save_conversation) -> None:
    from rasa.shared.core.events import UserUttered

    from bot.store.tracker_store import DatabaseTrackerStore

    ours = save_conversation("chat-1", conversation_events(1_740_819_600.0))
    asyncio.run(ours.retrieve("chat-1"))
    # another Rasa process, simulated by a second store on the same database
    theirs = DatabaseTrackerStore(domain=domain)
    tracker = asyncio.run(theirs.retrieve("chat-1"))
    tracker.update(UserUttered("from the other process", timestamp=1_740_819_611.0))
    asyncio.run(theirs.save(tracker))

    seen = asyncio.run(ours.retrieve("chat-1"))

    assert _texts(seen)[-1] == "from the other process"
    assert seen == _uncached(ours, "chat-1")


def test_an_erasure_from_another_process_is_never_served_from_the_cache(
    database_url: str, domain: Any, save_conversation
) -> None:
    from bot.store import erasure

    tracker_store = save_conversation("chat-1", conversation_events(1_740_819_600.0))
    assert asyncio.run(tracker_store.retrieve("chat-1")) is not None

    erasure.erase("chat-1")  # what `python -m bot data erase` and the web app do

    assert asyncio.run(tracker_store.retrieve("chat-1")) is None
    assert "chat-1" not in tracker_store._cache


def test_a_conversation_erased_and_written_again_under_the_same_id_is_read_again(
    database_url: str, domain: Any, save_conversation
) -> None:
    from rasa.shared.core.events import UserUttered

    from bot.store import erasure
    from bot.store.tracker_store import DatabaseTrackerStore

    tracker_store = save_conversation("chat-1", conversation_events(1_740_819_600.0))
    asyncio.run(tracker_store.retrieve("chat-1"))
    erasure.erase("chat-1")
    # the same number of events again, ids possibly reused (SQLite), from another process
    events = conversation_events(1_740_819_700.0)
    events[3] = UserUttered("a different hello", intent={"name": "greet", "confidence": 1.0}, timestamp=1_740_819_701.0)
    save_conversation("chat-1", events, DatabaseTrackerStore(domain=domain))

    again = asyncio.run(tracker_store.retrieve("chat-1"))

    assert _texts(again)[0] == "a different hello"
    assert again == _uncached(tracker_store, "chat-1")


def test_a_purge_of_older_events_and_a_new_session_keep_rasas_latest_session(
    database_url: str, domain: Any, save_conversation
) -> None:
    from datetime import datetime, timezone

    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    from bot.store import db as store_db
    from bot.store import tracker_events

    day = 86_400.0
    tracker_store = save_conversation("chat-1", conversation_events(1_740_819_600.0))
    asyncio.run(tracker_store.retrieve("chat-1"))
    # a second session, two days later, saved by this store: the cache keeps only the latest session, as Rasa does
    tracker = asyncio.run(tracker_store.retrieve("chat-1"))
    start = 1_740_819_600.0 + 2 * day
    for event in [
        ActionExecuted("action_session_start", timestamp=start + 0.1),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start + 0.2),
        UserUttered("back again", timestamp=start + 1),
    ]:
        tracker.update(event)
    asyncio.run(tracker_store.save(tracker))

    latest = asyncio.run(tracker_store.retrieve("chat-1"))
    assert _texts(latest) == ["back again"]
    assert latest == _uncached(tracker_store, "chat-1")

    # retention deletes the first session from another process
    with store_db.session_scope() as session:
        assert tracker_events.purge_before(session, datetime.fromtimestamp(start + 0.5, tz=timezone.utc)) > 0
    after_purge = asyncio.run(tracker_store.retrieve("chat-1"))
    assert after_purge == _uncached(tracker_store, "chat-1") == latest
    assert tracker_store.cache_stats["miss"] == 2


def test_the_cache_is_bounded_and_can_be_switched_off(database_url: str, domain: Any, save_conversation) -> None:
    from bot.store.tracker_store import DatabaseTrackerStore

    tracker_store = DatabaseTrackerStore(domain=domain, tracker_cache_size=2)
    for sender_id in ("a", "b", "c"):
        save_conversation(sender_id, conversation_events(1_740_819_600.0), tracker_store)
        asyncio.run(tracker_store.retrieve(sender_id))
    assert list(tracker_store._cache) == ["b", "c"]

    off = DatabaseTrackerStore(domain=domain, tracker_cache_size=0)
    assert asyncio.run(off.retrieve("a")) == _uncached(off, "a")
    assert not off._cache
