"""Privacy around the staff side: erasure and retention take the new rows with the consultation, and the logs and
the audit log hold no client details."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bot import store
from bot.notify import delivery
from bot.store import audit, person_requests, referrals
from bot.store.db import session_scope
from tests.web.conftest import consult

TABLES = ("referral_events", "handoff_messages", "outbox")


def rows(table: str) -> int:
    with session_scope() as session:
        return int(session.execute(sa.text(f"SELECT COUNT(*) FROM {table}")).scalar_one())


def test_erasing_a_client_removes_their_referral_history_messages_and_notices(database_url) -> None:
    shown = consult("c-erase", ("anticoagulant", "review"))
    store.flag_human_request("c-erase")
    person_requests.keep("c-erase", "m1", "please call after 5pm")
    referrals.advance(shown["referral"]["id"], "claim", "pat@clinic.example")
    delivery.run_once()
    assert all(rows(t) == 1 for t in TABLES)

    store.erase("c-erase")

    assert [rows(t) for t in TABLES] == [0, 0, 0]
    assert store.show("c-erase") is None


def test_retention_purge_removes_them_too(database_url) -> None:
    long_ago = datetime.now(timezone.utc) - timedelta(days=400)
    consult("c-old", ("anticoagulant", "review"), now=long_ago)
    person_requests.keep("c-old", "m1", "old message", now=long_ago)
    delivery.run_once(now=long_ago)

    store.purge(older_than_days=365)

    assert [rows(t) for t in TABLES] == [0, 0, 0]


def test_the_staff_side_logs_no_client_details(staff_as, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    shown = consult("c-log", ("anticoagulant", "review"), name="Jane Secretname", email="secret@example.org")
    person_requests.keep("c-log", "m1", "my private words")
    pat = staff_as("practitioner")
    pat.page("/staff/consultations", q="Secretname")
    pat.page(f"/staff/referrals/{shown['referral']['id']}")
    pat.form(f"/staff/referrals/{shown['referral']['id']}/close", {"note": "private decision words"})
    delivery.run_once()

    logged = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("urllib3"))  # the test client
    for private in ("Secretname", "secret@example.org", "my private words", "private decision words"):
        assert private not in logged
    details = " ".join(str(e.detail) for e in audit.entries(per_page=200)[0])
    assert "Secretname" not in details and "private decision" not in details


def test_the_privacy_notice_says_what_is_kept_before_consent_and_for_how_long(web, monkeypatch) -> None:
    import requests

    page = requests.get(f"{web}/privacy", timeout=10)
    monkeypatch.setenv("CONSENTLESS_PURGE_HOURS", "6")
    shorter = requests.get(f"{web}/privacy", timeout=10)

    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert "Before you consent, or if you don't" in text and "Once you consent" in text
    assert "The clinic's records hold nothing you write before you consent" in text
    assert "the whole conversation is deleted 24 hours after your last message" in text  # the default setting
    assert "only once you give a phone number or email address" in text
    assert "deleted 6 hours after your last message" in " ".join(shorter.text.split())  # it follows the setting
