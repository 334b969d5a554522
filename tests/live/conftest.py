"""Fixtures for the live hand-off tests: the store's databases (SQLite, and PostgreSQL from tests/store), a signed-in
practitioner, and Rasa's tracker store standing in for the Rasa server's `tracker/events` endpoint."""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timezone
from typing import Any, Dict, List

import pytest

from tests.store.conftest import domain, postgres_server, postgres_url, save_conversation  # noqa: F401

_emails = itertools.count(1)


@pytest.fixture(params=["sqlite", "postgresql"])
def any_database(request: pytest.FixtureRequest) -> str:
    """The test runs on SQLite and on a real PostgreSQL server."""
    if request.param == "sqlite":
        return request.getfixturevalue("database_url")
    return request.getfixturevalue("postgres_url")


def signed_in(role: str = "practitioner", email: str = "") -> Any:
    from bot.store import staff

    email = email or f"sam.jones{next(_emails)}@clinic.example"
    member = staff.add(email, "a long enough password 123", role)
    return staff.SignedIn(staff=member, csrf_token="t")


@pytest.fixture
def practitioner(any_database: str) -> Any:
    return signed_in("practitioner")


@pytest.fixture(scope="session")
def project_domain() -> Any:
    """The assistant's own domain.yml: every answer slot exists, as in the real tracker."""
    from rasa.shared.core.domain import Domain

    from bot.settings import ROOT

    return Domain.load(str(ROOT / "domain.yml"))


@pytest.fixture
def tracker_writes(any_database: str, project_domain: Any, monkeypatch: pytest.MonkeyPatch) -> List[Dict[str, Any]]:
    """Events the service sends to Rasa are appended to the tracker through Rasa's own SQL tracker store (as the
    Rasa server's tracker/events endpoint does), so `thread` reads real Rasa rows. Returns every call made."""
    from rasa.shared.core.events import Event
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.live import assistant
    from bot.store.tracker_store import DatabaseTrackerStore

    store = DatabaseTrackerStore(domain=project_domain)
    calls: List[Dict[str, Any]] = []

    def append(conversation_id: str, events: List[Dict[str, Any]]) -> None:
        async def run() -> None:
            tracker = await store.retrieve(conversation_id) or DialogueStateTracker(
                conversation_id, project_domain.slots
            )
            for event in events:
                parsed = Event.from_parameters(dict(event))
                if parsed is not None and not (getattr(parsed, "key", None) and parsed.key not in tracker.slots):
                    tracker.update(parsed)
            await store.save(tracker)

        asyncio.run(run())
        calls.append({"append": conversation_id, "events": events})

    def slots(conversation_id: str) -> Dict[str, Any]:
        async def run() -> Dict[str, Any]:
            tracker = await store.retrieve(conversation_id)
            return dict(tracker.current_slot_values()) if tracker is not None else {}

        return asyncio.run(run())

    monkeypatch.setattr(assistant, "append", append)
    monkeypatch.setattr(assistant, "slots", slots)
    monkeypatch.setattr(
        assistant,
        "resume",
        lambda conversation_id, form="", slot=None: calls.append(
            {"resume": conversation_id, "form": form, "slot": slot}
        ),
    )
    return calls


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    """A time on Tuesday 1 December 2026 (UTC = London time in winter): the clinic is open 9:00-18:00."""
    return datetime(2026, 12, day, hour, minute, tzinfo=timezone.utc)
