"""The delivery loop: queue a notice for each new referral, then send what is due, with retries and backoff.

By default a notice holds no health details, only a link to the referral (staff log in to read it); NOTIFY_DETAILS
=summary adds the outcome and reason codes, never a name, contact or answer.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

from bot import settings as settings_module
from bot.notify import mail
from bot.store import outbox, staff
from bot.store.db import as_utc

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Round:
    queued: int
    sent: int
    failed: int


def recipients(settings: settings_module.Settings) -> List[str]:
    """NOTIFY_TO, else every active practitioner, else the clinic's own address."""
    if settings.notify_to:
        return list(settings.notify_to)
    found = staff.active_emails("practitioner")
    return found or [settings.clinic.email]


def referral_link(settings: settings_module.Settings, referral_id: int) -> str:
    return f"{settings.public_base_url.rstrip('/')}/staff/referrals/{referral_id}"


def notice_body(settings: settings_module.Settings, referral_id: int) -> str:
    lines = [
        f"A new pre-consultation referral (#{referral_id}) is waiting for a practitioner at {settings.clinic.name}.",
        "",
        f"Open it here (staff login needed): {referral_link(settings, referral_id)}",
        "",
    ]
    if settings.notify_details == "summary":
        from bot.store import consultations, referrals

        consultation_id = referrals.consultation_of(referral_id)
        shown = consultations.show(consultation_id) if consultation_id else None
        if shown:
            codes = ", ".join(r["code"] for r in shown["reasons"]) or "none"
            lines += [f"Outcome: {shown['outcome'] or 'not judged yet'}; reasons: {codes}.", ""]
    else:
        lines += ["For the client's privacy this email holds no health details.", ""]
    lines.append("This message was sent by the clinic's pre-consultation assistant.")
    return "\n".join(lines)


def queue_referral_notices(settings: Optional[settings_module.Settings] = None, *,
                           now: Optional[datetime] = None) -> int:
    """One notice per recipient for every referral that has none yet (dedupe keys make this safe to repeat)."""
    settings = settings or settings_module.get()
    added = 0
    while True:
        ids = outbox.referrals_without_notice(now=now)
        if not ids:
            return added
        to = recipients(settings)
        drafts = [
            outbox.Draft(
                kind=outbox.KIND_NEW_REFERRAL,
                dedupe_key=f"{outbox.KIND_NEW_REFERRAL}:{referral_id}:{address.lower()}",
                recipient=address,
                subject=f"New referral #{referral_id} waiting for a practitioner",
                body=notice_body(settings, referral_id),
                referral_id=referral_id,
            )
            for referral_id in ids
            for address in to
        ]
        newly = outbox.enqueue(drafts, now=now)
        added += newly
        if newly == 0:  # someone else queued them meanwhile
            return added


def deliver_due(settings: Optional[settings_module.Settings] = None, *, now: Optional[datetime] = None) -> Round:
    """Send every due message once; failures wait (backoff) and count towards giving up."""
    settings = settings or settings_module.get()
    if not settings.smtp_url:
        return Round(0, 0, 0)  # unset: notices stay in the outbox and show on the dashboard
    server = mail.SmtpServer.from_url(settings.smtp_url)
    sender = settings.mail_from or settings.clinic.email
    sent = failed = 0
    for letter in outbox.lease_due(now=now):
        try:
            mail.send(server, sender, letter.recipient, letter.subject, letter.body)
        except mail.MailError as exc:
            status = outbox.mark_failed(letter.id, str(exc), max_attempts=settings.outbox_max_attempts,
                                        now=as_utc(now))
            logger.warning("notification not sent outbox_id=%s attempt=%s status=%s error=%s",
                           letter.id, letter.attempts + 1, status, type(exc.__cause__).__name__)
            failed += 1
            continue
        outbox.mark_sent(letter.id, now=now)
        sent += 1
    if sent or failed:
        logger.info("notifications round sent=%d failed=%d", sent, failed)
    return Round(0, sent, failed)


def run_once(settings: Optional[settings_module.Settings] = None, *, now: Optional[datetime] = None) -> Round:
    settings = settings or settings_module.get()
    queued = queue_referral_notices(settings, now=now)
    delivered = deliver_due(settings, now=now)
    return Round(queued, delivered.sent, delivered.failed)


def loop(stop: threading.Event, every_seconds: float = 5.0) -> None:
    """Run rounds until `stop` is set; an error in one round is logged and the next round tries again."""
    while True:
        try:
            run_once()
        except Exception as exc:  # keep delivering; the outbox keeps every message meanwhile
            logger.error("notification round failed: %s", type(exc).__name__)
        if stop.wait(every_seconds):
            return
