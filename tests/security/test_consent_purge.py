"""Finding 8 (consent): conversations that never consented (declined, or left at the consent question) are deleted,
Rasa's events and every row of ours, once quiet for CONSENTLESS_PURGE_HOURS (default 24); recent ones and consented
ones are kept, and so is one whose referral (made on a contact the client gave) is still being worked.

Real Rasa trackers saved through the project's tracker store into a real migrated database."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, List, Optional

import pytest
import sqlalchemy as sa

from bot import store
from bot.store import db, outbox, person_requests, referrals, retention
from bot.store.models import Answer, Consultation, Referral
from tests.web.conftest import consult

NOW = datetime(2025, 3, 2, 12, 0, tzinfo=timezone.utc)


def at(hours_ago: float) -> float:
    return (NOW - timedelta(hours=hours_ago)).timestamp()


@pytest.fixture
def chat(database_url):
    """chat(sender, hours_ago, consent=...): a conversation as Rasa logs it, its consent slot set (or not)."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.store.tracker_store import DatabaseTrackerStore

    domain = Domain.from_yaml(
        'version: "3.1"\nintents: [greet, inform]\nslots:\n  consent: {type: any, mappings: [{type: custom}]}\n'
    )

    def save(
        sender: str,
        hours_ago: float,
        *,
        consent: Optional[bool] = None,
        said: str = "I'd rather not, but I take warfarin",
    ) -> None:
        start = at(hours_ago) - 60
        events: List[Any] = [
            ActionExecuted("action_session_start", timestamp=start),
            SessionStarted(timestamp=start),
            ActionExecuted("action_listen", timestamp=start + 1),
            UserUttered("hello", intent={"name": "greet", "confidence": 1.0}, timestamp=start + 2),
            BotUttered("Do you consent?", timestamp=start + 3),
            UserUttered(said, intent={"name": "inform", "confidence": 1.0}, timestamp=start + 4),
        ]
        if consent is not None:
            events.append(SlotSet("consent", consent, timestamp=start + 5))
        events.append(BotUttered("Thank you.", timestamp=at(hours_ago)))
        asyncio.run(
            DatabaseTrackerStore(domain=domain).save(DialogueStateTracker.from_events(sender, events, domain.slots))
        )

    return save


def events_of(sender: str) -> int:
    with db.session_scope(write=False) as session:
        return int(
            session.execute(sa.text("SELECT COUNT(*) FROM events WHERE sender_id = :s"), {"s": sender}).scalar_one()
        )


def rows(model: Any) -> int:
    with db.session_scope(write=False) as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def test_old_consentless_conversations_go_recent_and_consented_ones_stay(chat) -> None:
    chat("declined-old", 30, consent=False)
    chat("left-old", 25)  # never answered the consent question
    chat("declined-recent", 2, consent=False)
    chat("consented-old", 30, consent=True)
    answers = {"name": "Cara", "contact_email": "cara@example.org", "contact_phone": "07700900999"}
    consult("consented-old", ("anticoagulant", "review"), now=NOW - timedelta(hours=30), **answers)

    purged = retention.purge_consentless(24, now=NOW)

    assert purged.conversations == 2 and purged.consultations == 0
    assert events_of("declined-old") == 0 and events_of("left-old") == 0
    assert events_of("declined-recent") > 0
    assert events_of("consented-old") > 0 and store.show("consented-old") is not None


def test_rows_of_ours_for_a_consentless_conversation_go_with_it(chat, database_url) -> None:
    from bot.notify import delivery

    chat("with-contact", 30, consent=False)
    done = store.flag_human_request("with-contact", contact={"phone": "07700900123"}, now=NOW - timedelta(hours=30))
    rid = store.show(done)["referral"]["id"]
    delivery.queue_referral_notices(now=NOW - timedelta(hours=30))
    referrals.advance(rid, "close", "pat@clinic.example", "called back, booked a chat", now=NOW - timedelta(hours=29))
    assert rows(outbox.OutboxMessage) > 0 and rows(referrals.ReferralEvent) == 1

    purged = retention.purge_consentless(24, now=NOW)

    assert purged.conversations == 1 and purged.consultations == 1 and purged.events > 0
    assert store.show("with-contact") is None and events_of("with-contact") == 0
    assert rows(Consultation) == rows(Referral) == rows(Answer) == rows(outbox.OutboxMessage) == 0
    assert rows(referrals.ReferralEvent) == 0 and rows(person_requests.HandoffMessage) == 0


def test_an_open_referral_keeps_its_conversation_until_it_is_dealt_with(chat) -> None:
    chat("waiting", 30)
    cid = store.flag_human_request("waiting", contact={"email": "w@example.org"}, now=NOW - timedelta(hours=30))

    assert retention.purge_consentless(24, now=NOW).conversations == 0
    assert store.show(cid) is not None and events_of("waiting") > 0

    rid = store.show(cid)["referral"]["id"]
    referrals.advance(rid, "close", "pat@clinic.example", "phoned", now=NOW)
    assert retention.purge_consentless(24, now=NOW + timedelta(hours=1)).conversations == 0  # closed just now
    assert retention.purge_consentless(24, now=NOW + timedelta(hours=25)).conversations == 1
    assert store.show(cid) is None and events_of("waiting") == 0


def test_a_conversation_that_consented_then_restarted_is_kept(chat) -> None:
    chat("restarted", 30, consent=True)
    chat("restarted", 28, consent=None)  # a later session: the consent slot not set again

    assert retention.purge_consentless(24, now=NOW).conversations == 0
    assert events_of("restarted") > 0


def test_the_sweeper_runs_it_with_the_setting_and_scrubs(chat, monkeypatch) -> None:
    monkeypatch.setenv("CONSENTLESS_PURGE_HOURS", "2")
    scrubbed = []
    monkeypatch.setattr(db, "scrub", lambda *a, **k: scrubbed.append(True), raising=False)
    chat("three-hours", 3, consent=False)
    chat("one-hour", 1, consent=False)

    purged = retention.sweep(now=NOW, force=True)

    assert purged is not None and purged.conversations == 1
    assert events_of("three-hours") == 0 and events_of("one-hour") > 0
    assert scrubbed == [True]
    assert retention.sweep(now=NOW) is None  # at most every PURGE_EVERY_SECONDS


def test_the_default_is_a_day(chat, monkeypatch) -> None:
    monkeypatch.delenv("CONSENTLESS_PURGE_HOURS", raising=False)
    from bot import settings

    assert settings.get().consentless_purge_hours == 24
    chat("23h", 23, consent=False)
    chat("25h", 25, consent=False)

    retention.sweep(now=NOW, force=True)

    assert events_of("23h") > 0 and events_of("25h") == 0


def test_a_failing_purge_never_stops_the_sweeper(database_url, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database locked")

    monkeypatch.setattr(retention, "purge_consentless", broken)

    assert retention.sweep(now=NOW, force=True) is None
