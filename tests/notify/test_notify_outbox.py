"""Notifications through the outbox, against a real SMTP server: one notice per referral and recipient, no health
details, retries with backoff while mail is down, nothing lost, and delivery once it is back."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest

from bot import store
from bot.notify import delivery
from bot.store import outbox
from bot.store import staff as staff_store
from tests.web.conftest import consult
from tests.web.server import make_password

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def practitioners(database_url):
    for who in ("ann@clinic.example", "bob@clinic.example"):
        staff_store.add(who, make_password(), "practitioner")
    staff_store.add("rec@clinic.example", make_password(), "reception")


def test_a_new_referral_emails_each_practitioner_a_link_and_no_health_details(smtp, practitioners) -> None:
    smtp.start()
    shown = consult("c-1", ("anticoagulant", "review"), name="Jane Example", now=NOW, medications="warfarin 5mg")
    consult("c-clear", name="Clear Client", now=NOW)

    result = delivery.run_once(now=NOW)

    assert (result.queued, result.sent, result.failed) == (2, 2, 0)
    assert sorted(r[0] for r in smtp.inbox.recipients) == ["ann@clinic.example", "bob@clinic.example"]
    message = smtp.inbox.messages[0]
    body = message.get_payload(decode=True).decode()
    referral_id = shown["referral"]["id"]
    assert message["Subject"] == f"New referral #{referral_id} waiting for a practitioner"
    assert f"/staff/referrals/{referral_id}" in body
    for private in ("Jane", "warfarin", "anticoagulant", "review", "jane@example.org", "07700900123"):
        assert private not in body and private not in message["Subject"]
    assert outbox.count_undelivered() == 0


def test_notices_are_queued_once_however_often_the_loop_runs(smtp, practitioners) -> None:
    smtp.start()
    consult("c-1", ("pregnancy", "defer"), now=NOW)
    store.flag_human_request("c-1", consent=True, now=NOW)  # the client also asks for a person: still one referral

    threads = [threading.Thread(target=delivery.run_once, kwargs={"now": NOW}) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    delivery.run_once(now=NOW + timedelta(minutes=1))

    assert len(smtp.inbox.messages) == 2  # one per practitioner, never twice


def test_with_mail_down_nothing_is_lost_and_it_recovers(smtp, practitioners) -> None:
    shown = consult("c-1", ("anticoagulant", "review"), now=NOW)  # the server is not started: mail is down

    first = delivery.run_once(now=NOW)

    assert (first.queued, first.sent, first.failed) == (2, 0, 2)
    waiting, total = outbox.undelivered()
    assert total == 2 and all(w.status == "pending" and w.attempts == 1 for w in waiting)
    assert all(w.next_attempt_at == NOW + timedelta(seconds=30) for w in waiting)
    assert "ConnectionRefusedError" in waiting[0].last_error
    assert delivery.run_once(now=NOW + timedelta(seconds=10)).failed == 0  # backing off: no attempt yet

    smtp.start()
    later = delivery.run_once(now=NOW + timedelta(seconds=31))

    assert later.sent == 2 and len(smtp.inbox.messages) == 2
    assert outbox.undelivered()[1] == 0
    assert [letter.status for letter in outbox.by_referral(shown["referral"]["id"])] == ["sent", "sent"]


def test_backoff_grows_and_gives_up_after_the_last_attempt(smtp, practitioners, monkeypatch) -> None:
    monkeypatch.setenv("OUTBOX_MAX_ATTEMPTS", "3")
    monkeypatch.setenv("NOTIFY_TO", "desk@clinic.example")
    consult("c-1", ("anticoagulant", "review"), now=NOW)
    moment = NOW
    waits = []
    for _ in range(3):
        delivery.run_once(now=moment)
        letter = outbox.undelivered()[0][0]
        waits.append(letter.next_attempt_at - moment)
        moment = letter.next_attempt_at

    letter = outbox.undelivered()[0][0]
    assert waits[:2] == [timedelta(seconds=30), timedelta(seconds=60)]
    assert letter.status == "failed" and letter.attempts == 3
    assert delivery.run_once(now=moment + timedelta(days=1)).failed == 0  # given up: waits for a person

    smtp.start()
    assert outbox.retry(now=moment + timedelta(days=1)) == 1
    assert delivery.run_once(now=moment + timedelta(days=1)).sent == 1
    assert smtp.inbox.recipients == [["desk@clinic.example"]]


def test_without_smtp_url_notices_wait_in_the_outbox(database_url, monkeypatch, practitioners) -> None:
    monkeypatch.delenv("SMTP_URL", raising=False)
    consult("c-1", ("anticoagulant", "review"), now=NOW)

    result = delivery.run_once(now=NOW)

    assert (result.queued, result.sent) == (2, 0)
    assert outbox.count_undelivered() == 2


def test_no_practitioner_yet_sends_to_the_clinic_address(smtp, database_url) -> None:
    from bot import settings

    smtp.start()
    consult("c-1", ("anticoagulant", "review"), now=NOW)

    delivery.run_once(now=NOW)

    assert smtp.inbox.recipients == [[settings.get().clinic.email]]


def test_summary_mode_adds_outcome_and_codes_but_no_personal_details(smtp, practitioners, monkeypatch) -> None:
    monkeypatch.setenv("NOTIFY_DETAILS", "summary")
    smtp.start()
    consult("c-1", ("anticoagulant", "review"), name="Jane Example", now=NOW)

    delivery.run_once(now=NOW)

    body = smtp.inbox.messages[0].get_payload(decode=True).decode()
    assert "Outcome: review; reasons: anticoagulant." in body
    assert "Jane" not in body and "jane@example.org" not in body


def test_a_leased_message_is_not_sent_twice_by_two_loops(smtp, practitioners) -> None:
    smtp.start()
    consult("c-1", ("anticoagulant", "review"), now=NOW)
    delivery.queue_referral_notices(now=NOW)

    first = outbox.lease_due(now=NOW)
    second = outbox.lease_due(now=NOW)
    after_lease = outbox.lease_due(now=NOW + timedelta(minutes=3))  # the first loop died: the lease ran out

    assert len(first) == 2 and second == [] and len(after_lease) == 2


@pytest.mark.parametrize("url", ["http://mail.example", "smtp://", "smtp://host:notaport", "mail.example:25"])
def test_a_malformed_smtp_url_is_named_and_nothing_is_lost(database_url, monkeypatch, practitioners, url) -> None:
    from bot.notify import mail

    monkeypatch.setenv("SMTP_URL", url)
    consult("c-1", ("anticoagulant", "review"), now=NOW)

    with pytest.raises(mail.MailError, match="SMTP_URL"):
        delivery.run_once(now=NOW)
    assert outbox.count_undelivered() == 2
