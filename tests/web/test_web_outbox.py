"""The dashboard shows notifications that have not gone out, and lets staff retry them."""

from __future__ import annotations

from datetime import datetime, timezone

from bot.notify import delivery
from bot.store import staff as staff_store
from tests.web.conftest import consult
from tests.web.server import make_password

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)


def test_the_dashboard_shows_undelivered_notices(staff_as, database_url, monkeypatch) -> None:
    monkeypatch.delenv("SMTP_URL", raising=False)
    for who in ("ann@clinic.example", "bob@clinic.example"):
        staff_store.add(who, make_password(), "practitioner")
    consult("c-1", ("anticoagulant", "review"), now=NOW)
    delivery.run_once(now=NOW)
    pat = staff_as("practitioner")

    queue = pat.page("/staff/referrals")
    page = pat.page("/staff/outbox")
    retried = pat.form("/staff/outbox/retry")

    assert "2 notifications not delivered" in queue.text and "SMTP_URL" in queue.text
    assert page.status_code == 200 and "ann@clinic.example" in page.text and "Waiting" in page.text
    assert retried.status_code == 303
    assert staff_as("reception").page("/staff/outbox").status_code == 403
