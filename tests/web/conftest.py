"""Staff web app tests: the real app over HTTP (uvicorn), a real migrated SQLite database per test."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterator, Tuple

import pytest

from bot.screening import Finding, Judgement  # the engine's own values, as the actions pass them
from tests.web.server import Staff, running_app, signed_in_session

os.environ.setdefault("WEB_SECRET", "test-web-secret-" + "x" * 16)


@pytest.fixture(scope="session")
def web() -> Iterator[str]:
    with running_app() as base:
        yield base


@pytest.fixture
def staff_as(web: str, database_url: str) -> Callable[..., Staff]:
    """staff_as("reception") -> a logged-in session of a new reception account."""
    return lambda role, email=None: signed_in_session(web, role, email)


def judgement(*flags: Tuple[str, str]) -> Judgement:
    order = ("clear", "review", "defer")
    findings = tuple(
        Finding(code, outcome, f"Rule {code}", f"why {code} matters", "", f"said yes to {code}")
        for code, outcome in flags
    )
    outcome = max((o for _c, o in flags), key=order.index, default="clear")
    return Judgement(outcome, findings, "rules-test-1")


def consult(
    conversation_id: str,
    *flags: Tuple[str, str],
    name: str = "Jane Example",
    email: str = "jane@example.org",
    phone: str = "07700900123",
    now: datetime = None,
    **answers: Any,
) -> Dict[str, Any]:
    """A completed consultation in the current database; returns show()."""
    from bot import store

    base = {"name": name, "contact_email": email, "contact_phone": phone, "area": "cheeks", **answers}
    now = now or datetime.now(timezone.utc)
    store.record_answers(conversation_id, base, now=now)
    return store.complete(conversation_id, base, judgement(*flags), now=now)


@pytest.fixture
def flagged(database_url: str) -> Dict[str, Any]:
    return consult("chat-flagged", ("anticoagulant", "review"), ("pregnancy", "defer"))


CHAT_DOMAIN = """
version: "3.1"
intents: [greet, affirm, deny]
responses:
  utter_greet:
    - text: "Hello! Shall we start?"
"""


def chat_events(start: float):
    """A short chat at epoch `start`, as Rasa logs it: greeting, a question with buttons, a press, a thank-you."""
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

    return [
        ActionExecuted("action_session_start", timestamp=start + 0.1),
        SessionStarted(timestamp=start),
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


@pytest.fixture
def save_conversation(database_url: str) -> Callable[[str, float], None]:
    """save_conversation(sender_id, epoch_start): a real Rasa tracker saved through the project's tracker store."""
    import asyncio

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.store.tracker_store import DatabaseTrackerStore

    domain = Domain.from_yaml(CHAT_DOMAIN)

    def save(sender_id: str, start: float) -> None:
        store = DatabaseTrackerStore(domain=domain)
        asyncio.run(store.save(DialogueStateTracker.from_events(sender_id, chat_events(start), domain.slots)))

    return save
