"""Finding 3 (referrals and notifications): a flood of requests for a person is never a flood of referrals or emails.

Through the real action (actions/digressions.py) on a real database and a real SMTP server: anonymous requests
before consent store nothing; requests that may be referred make one referral per conversation; and a burst of
referrals reaches each practitioner as one digest email."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import store
from bot.notify import delivery
from bot.store import db, outbox
from bot.store import staff as staff_store
from bot.store.models import Consultation, Referral
from tests.notify.conftest import smtp  # noqa: F401  (fixture)
from tests.web.server import make_password

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
CLINIC = {
    "clinic_name": "Northgate Skin Clinic",
    "clinic_phone": "020 7946 0958",
    "clinic_email": "hello@northgate-skin.example",
}


def person_tracker(
    sender: str, text: str = "can I talk to a person", *, slots: Optional[Dict[str, Any]] = None
) -> Tracker:
    latest = {
        "text": text,
        "intent": {"name": "request_human", "confidence": 0.99},
        "entities": [],
        "message_id": f"{sender}-{abs(hash(text))}",
    }
    return Tracker(
        sender_id=sender,
        slots={**CLINIC, **(slots or {})},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def ask_for_person(tracker: Tracker) -> CollectingDispatcher:
    from actions.digressions import ActionRequestHuman

    dispatcher = CollectingDispatcher()
    asyncio.run(ActionRequestHuman().run(dispatcher, tracker, {"responses": {}}))
    return dispatcher


def count(model: Any) -> int:
    with db.session_scope(write=False) as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


@pytest.fixture
def practitioner(database_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("NOTIFY_DIGEST_SECONDS", "120")
    staff_store.add("ann@clinic.example", make_password(), "practitioner")
    return "ann@clinic.example"


def test_twenty_anonymous_requests_before_consent_make_nothing(smtp, practitioner) -> None:  # noqa: F811
    smtp.start()
    for n in range(20):
        ask_for_person(person_tracker(f"anon-{n}"))
    for _ in range(20):
        ask_for_person(person_tracker("anon-one"))

    delivery.run_once(now=NOW)
    delivery.run_once(now=NOW + timedelta(minutes=5))

    assert count(Referral) == 0 and count(Consultation) == 0 and count(outbox.OutboxMessage) == 0
    assert smtp.inbox.messages == []


def test_twenty_conversations_with_a_contact_are_twenty_referrals_and_one_digest(smtp, practitioner) -> None:
    smtp.start()
    for n in range(20):
        ask_for_person(person_tracker(f"flood-{n}", f"please get someone to phone me on 07700 9001{n:02d}"))

    first = delivery.run_once(now=NOW)  # the burst is queued; the digest waits for the window
    assert (first.queued, first.sent) == (20, 0) and smtp.inbox.messages == []
    delivery.run_once(now=NOW + timedelta(seconds=60))
    later = delivery.run_once(now=NOW + timedelta(seconds=121))
    delivery.run_once(now=NOW + timedelta(minutes=10))

    assert count(Referral) == 20
    assert later.sent == 1 and len(smtp.inbox.messages) == 1  # one email for the burst
    message = smtp.inbox.messages[0]
    body = message.get_payload(decode=True).decode()
    assert message["Subject"] == "20 new referrals waiting for a practitioner"
    with db.session_scope(write=False) as session:
        ids = session.execute(sa.select(Referral.id)).scalars().all()
    assert all(f"/staff/referrals/{rid}" in body for rid in ids)
    for private in ("07700", "phone me", "client_requested_human", "review"):
        assert private not in body  # a link per referral, no details
    assert outbox.count_undelivered() == 0


def test_twenty_requests_in_one_conversation_are_one_referral_and_one_email(smtp, practitioner) -> None:
    smtp.start()
    for n in range(20):
        ask_for_person(person_tracker("one-chat", f"I want a person, call me on 07700 900123 ({n})"))
        if n == 10:
            store.abandon_current("one-chat")  # a restart in the middle: still the same open referral

    delivery.run_once(now=NOW)
    delivery.run_once(now=NOW + timedelta(minutes=3))

    assert count(Referral) == 1
    assert len(smtp.inbox.messages) == 1


def test_consented_requests_from_many_conversations_make_one_digest_per_recipient(
    smtp,
    database_url,  # noqa: F811
    monkeypatch,
) -> None:
    monkeypatch.setenv("NOTIFY_DIGEST_SECONDS", "120")
    for who in ("ann@clinic.example", "bob@clinic.example"):
        staff_store.add(who, make_password(), "practitioner")
    smtp.start()
    for n in range(20):
        store.flag_human_request(f"consented-{n}", consent=True, now=NOW + timedelta(seconds=n))
        delivery.run_once(now=NOW + timedelta(seconds=n))  # the loop runs all through the burst

    delivery.run_once(now=NOW + timedelta(seconds=200))

    assert count(Referral) == 20
    assert sorted(r[0] for r in smtp.inbox.recipients) == ["ann@clinic.example", "bob@clinic.example"]
    assert {m["Subject"] for m in smtp.inbox.messages} == {"20 new referrals waiting for a practitioner"}


def test_a_single_referral_is_still_its_own_notice_after_the_window(smtp, practitioner) -> None:  # noqa: F811
    smtp.start()
    shown = store.flag_human_request("single", consent=True, now=NOW)

    assert delivery.run_once(now=NOW).sent == 0
    assert delivery.run_once(now=NOW + timedelta(seconds=120)).sent == 1
    rid = store.show(shown)["referral"]["id"]
    assert smtp.inbox.messages[0]["Subject"] == f"New referral #{rid} waiting for a practitioner"


def test_summary_mode_lists_outcome_and_codes_in_the_digest(smtp, practitioner, monkeypatch) -> None:  # noqa: F811
    monkeypatch.setenv("NOTIFY_DETAILS", "summary")
    smtp.start()
    for n in range(3):
        store.flag_human_request(f"sum-{n}", consent=True, now=NOW)

    delivery.run_once(now=NOW)
    delivery.run_once(now=NOW + timedelta(seconds=121))

    body = smtp.inbox.messages[0].get_payload(decode=True).decode()
    assert body.count("Outcome: not judged yet; reasons: client_requested_human.") == 3
