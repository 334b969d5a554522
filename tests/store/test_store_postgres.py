"""The same store on a real PostgreSQL server (started for the session by the postgres_server fixture)."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta
from typing import Any, List

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot import store
from bot.store import db, migrate
from bot.store.base import metadata

from .conftest import conversation_events, count_events, count_rows, judgement


def test_migrations_match_the_models_on_postgresql(postgres_url: str) -> None:
    migrate.upgrade(postgres_url)  # again: a no-op

    with db.get_engine(postgres_url).connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection, opts={"compare_type": True}), metadata)
    assert diff == []
    assert migrate.current_revision(postgres_url) == migrate.head_revision()


def test_consultation_flow_on_postgresql(postgres_url: str, answers, now) -> None:
    store.record_answers("chat-1", {"name": "Jane"}, now=now)
    cid = store.flag_human_request("chat-1", consent=True, now=now)

    shown = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now + timedelta(minutes=1))

    assert shown["id"] == cid and shown["status"] == "handed_off" and shown["outcome"] == "defer"
    assert shown["referral"]["severity"] == "defer"
    assert shown["created_at"] == now.isoformat()  # timestamptz comes back as UTC
    assert store.show("chat-1") == shown
    assert count_rows(postgres_url, "referrals") == 1


def test_concurrent_complete_on_postgresql_makes_one_consultation_and_referral(postgres_url: str, answers, now) -> None:
    for round_ in range(5):
        barrier = threading.Barrier(3)
        results: List[Any] = []
        errors: List[BaseException] = []

        def run(chat: str, barrier: threading.Barrier, results: List[Any], errors: List[BaseException]) -> None:
            try:
                barrier.wait()
                results.append(store.complete(chat, answers, judgement(("pregnancy", "defer")), now=now))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(f"chat-{round_}", barrier, results, errors)) for _ in range(3)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        assert len({r["id"] for r in results}) == 1
    assert count_rows(postgres_url, "consultations") == 5
    assert count_rows(postgres_url, "referrals") == 5


def test_tracker_store_transcript_purge_and_erase_on_postgresql(
    postgres_url: str, domain: Any, answers, now, save_conversation
) -> None:
    from bot.store.tracker_store import DatabaseTrackerStore

    tracker_store = DatabaseTrackerStore(domain=domain)
    assert tracker_store.engine.dialect.name == "postgresql"
    old = now - timedelta(days=400)
    save_conversation("old-chat", conversation_events(old.timestamp()), tracker_store)
    save_conversation("chat-1", conversation_events(now.timestamp()), tracker_store)
    store.complete("old-chat", answers, judgement(("pregnancy", "defer")), now=old)
    store.complete("chat-1", answers, judgement(), now=now)

    assert asyncio.run(tracker_store.retrieve("chat-1")) is not None
    assert [line["text"] for line in store.transcript("chat-1")] == [
        "hello",
        "Hello! Shall we start?",
        "Yes",
        "Thank you.",
    ]

    assert store.purge(365, now=now) == 1
    assert count_events(postgres_url, "old-chat") == 0 and store.show("old-chat") is None

    assert store.erase("chat-1") == 1
    assert count_events(postgres_url) == 0
    with db.get_engine(postgres_url).connect() as connection:
        assert connection.execute(sa.text("SELECT COUNT(*) FROM consultations")).scalar_one() == 0
