"""Retention (purge), erasure and export: consultations and Rasa's events go together."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot import store

from .conftest import conversation_events, count_events, count_rows, judgement

DAY = 86_400.0


def test_purge_removes_old_consultations_with_their_rows_and_events(
    database_url: str, answers, now, save_conversation
) -> None:
    old = now - timedelta(days=400)
    store.complete("old-chat", answers, judgement(("pregnancy", "defer")), now=old)
    save_conversation("old-chat", conversation_events(old.timestamp()))
    recent = store.complete("new-chat", answers, judgement(("pregnancy", "defer")), now=now - timedelta(days=3))
    save_conversation("new-chat", conversation_events((now - timedelta(days=3)).timestamp()))

    assert store.purge(365, now=now) == 1

    assert store.show("old-chat") is None
    assert store.show("new-chat")["id"] == recent["id"]
    assert (
        count_rows(database_url, "consultations"),
        count_rows(database_url, "answers"),
        count_rows(database_url, "reasons"),
        count_rows(database_url, "referrals"),
    ) == (1, len([v for v in answers.values() if v is not None]), 1, 1)
    assert count_events(database_url, "old-chat") == 0
    assert store.transcript("new-chat") != []
    assert store.purge(365, now=now) == 0  # nothing left to do


def test_purge_keeps_a_consultation_whose_referral_is_still_being_worked(database_url: str, answers, now) -> None:
    from bot.store import db
    from bot.store.models import Referral

    old = now - timedelta(days=400)
    shown = store.complete("old-chat", answers, judgement(("pregnancy", "defer")), now=old)
    with db.session_scope() as session:
        referral = session.get(Referral, shown["referral"]["id"])
        referral.status, referral.updated_at = "claimed", now - timedelta(days=2)

    assert store.purge(365, now=now) == 0
    assert store.show(shown["id"]) is not None


def test_purge_never_cuts_a_live_conversation_session_in_half(database_url: str, now, save_conversation) -> None:
    from rasa.shared.core.events import UserUttered

    cutoff = now - timedelta(days=30)
    early = (cutoff - timedelta(days=60)).timestamp()
    spanning = (cutoff - timedelta(hours=1)).timestamp()  # a session that was running at the cutoff
    events = (
        conversation_events(early)
        + conversation_events(spanning)
        + [UserUttered("still here", timestamp=(cutoff + timedelta(hours=1)).timestamp())]
    )
    save_conversation("live-chat", events)
    save_conversation("quiet-chat", conversation_events(early))

    store.purge(30, now=now)

    assert count_events(database_url, "quiet-chat") == 0
    texts = [line["text"] for line in store.transcript("live-chat")]
    assert texts == ["hello", "Hello! Shall we start?", "Yes", "Thank you.", "still here"]  # second session, whole
    assert count_events(database_url, "live-chat") == len(conversation_events(spanning)) + 1


def test_purge_refuses_zero_days(database_url: str) -> None:
    with pytest.raises(ValueError):
        store.purge(0)


def test_erase_removes_one_clients_consultations_and_events(database_url: str, answers, now, save_conversation) -> None:
    store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)
    store.abandon_current("chat-1", now=now)
    store.record_answers("chat-1", {"name": "Jane again"}, now=now)
    save_conversation("chat-1", conversation_events(now.timestamp()))
    store.complete("chat-2", answers, judgement(("pregnancy", "defer")), now=now)
    save_conversation("chat-2", conversation_events(now.timestamp()))

    assert store.erase("chat-1") == 2

    assert store.show("chat-1") is None
    assert count_events(database_url, "chat-1") == 0
    assert store.show("chat-2") is not None and count_events(database_url, "chat-2") > 0
    assert count_rows(database_url, "referrals") == 1
    assert store.erase("chat-1") == 0


def test_export_gives_every_consultation_and_the_transcript(database_url: str, answers, now, save_conversation) -> None:
    store.record_answers("chat-1", {"name": "Jane"}, now=now)
    store.abandon_current("chat-1", now=now)
    store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)
    save_conversation("chat-1", conversation_events(now.timestamp()))

    exported = store.export("chat-1")

    assert exported["conversation_id"] == "chat-1"
    assert [c["status"] for c in exported["consultations"]] == ["abandoned", "complete"]
    assert [line["sender"] for line in exported["transcript"]] == ["client", "assistant", "client", "assistant"]
    assert store.export("nobody")["consultations"] == [] and store.export("nobody")["transcript"] == []
