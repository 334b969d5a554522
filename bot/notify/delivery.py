"""The delivery loop: queue a notice for each new referral, then send what is due, with retries and backoff.

By default a notice holds no health details, only a link to the referral (staff log in to read it); NOTIFY_DETAILS
=summary adds the outcome and reason codes, never a name, contact or answer.

A burst is one email, never a flood: notices wait NOTIFY_DIGEST_SECONDS (default 120) and every notice a recipient
has waiting goes out together, as one digest listing each referral (bot.store.outbox.lease_batches).

A client in the live chat who waits for a person (bot.live) gets one "a client is waiting" notice per request and
recipient, under the same digest rules (in the same digest as new referrals); it holds a link to the live queue only.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional, Sequence, Tuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

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


def _summary_line(settings: settings_module.Settings, referral_id: int) -> Optional[str]:
    """NOTIFY_DETAILS=summary: the outcome and reason codes (never a name, contact or answer)."""
    if settings.notify_details != "summary":
        return None
    from bot.store import consultation_reads, referrals

    consultation_id = referrals.consultation_of(referral_id)
    shown = consultation_reads.show(consultation_id) if consultation_id else None
    if not shown:
        return None
    codes = ", ".join(r["code"] for r in shown["reasons"]) or "none"
    return f"Outcome: {shown['outcome'] or 'not judged yet'}; reasons: {codes}."


def _footer(settings: settings_module.Settings) -> List[str]:
    lines = (
        []
        if settings.notify_details == "summary"
        else ["For the client's privacy this email holds no health details.", ""]
    )
    return lines + ["This message was sent by the clinic's pre-consultation assistant."]


def notice_body(settings: settings_module.Settings, referral_id: int) -> str:
    lines = [
        f"A new pre-consultation referral (#{referral_id}) is waiting for a practitioner at {settings.clinic.name}.",
        "",
        f"Open it here (staff login needed): {referral_link(settings, referral_id)}",
        "",
    ]
    summary = _summary_line(settings, referral_id)
    if summary:
        lines += [summary, ""]
    return "\n".join(lines + _footer(settings))


def digest_subject(count: int) -> str:
    return f"{count} new referrals waiting for a practitioner"


def digest_body(settings: settings_module.Settings, referral_ids: Sequence[int]) -> str:
    """One email for several new referrals: a line and a link for each (no health details unless summary)."""
    ids = sorted(set(referral_ids))
    lines = [
        f"{len(ids)} new pre-consultation referrals are waiting for a practitioner at {settings.clinic.name}.",
        "Open each here (staff login needed):",
        "",
    ]
    for referral_id in ids:
        lines.append(f"- Referral #{referral_id}: {referral_link(settings, referral_id)}")
        summary = _summary_line(settings, referral_id)
        if summary:
            lines.append(f"  {summary}")
    lines += ["", f"The queue: {settings.public_base_url.rstrip('/')}/staff/referrals", ""]
    return "\n".join(lines + _footer(settings))


def live_link(settings: settings_module.Settings, conversation_id: Optional[str] = None) -> str:
    base = f"{settings.public_base_url.rstrip('/')}/staff/live"
    return f"{base}/{conversation_id}" if conversation_id else base


WAITING_SUBJECT = "A client is waiting for a person in the live chat"


def waiting_body(settings: settings_module.Settings, conversation_id: str, requested_at: datetime) -> str:
    """No name, no answer: that someone waits, since when, and the link (staff login needed)."""
    try:
        since = as_utc(requested_at).astimezone(ZoneInfo(settings.time_zone)).strftime("%H:%M")
    except (ZoneInfoNotFoundError, ValueError):
        since = as_utc(requested_at).strftime("%H:%M UTC")
    lines = [
        f"A client in the chat at {settings.clinic.name} asked for a person and is waiting for a practitioner to "
        f"join (since {since}).",
        "",
        f"Take the chat here (staff login needed): {live_link(settings, conversation_id)}",
        f"The live queue: {live_link(settings)}",
        "",
        "If nobody joins, the assistant tells the client when the clinic will reply and carries on.",
        "",
    ]
    return "\n".join(lines + _footer(settings))


def compose(settings: settings_module.Settings, batch: Sequence[outbox.Letter]) -> Tuple[str, str]:
    """The subject and body of one email for a batch of letters to one recipient."""
    waiting = [letter for letter in batch if letter.kind == outbox.KIND_LIVE_WAITING]
    referral_ids = sorted(
        {
            letter.referral_id
            for letter in batch
            if letter.referral_id is not None and letter.kind == outbox.KIND_NEW_REFERRAL
        }
    )
    if len(batch) == 1 or (not waiting and len(referral_ids) < 2):
        return batch[0].subject, batch[0].body
    if not waiting:
        return digest_subject(len(referral_ids)), digest_body(settings, referral_ids)
    # clients waiting in the live chat come first: someone is there now
    clients = "A client is" if len(waiting) == 1 else f"{len(waiting)} clients are"
    subject = f"{clients} waiting for a person in the live chat" + (
        f", and {len(referral_ids)} new referral{'s' if len(referral_ids) != 1 else ''}" if referral_ids else ""
    )
    lines = [
        f"{clients} waiting for a person in the live chat at {settings.clinic.name}.",
        f"The live queue (staff login needed): {live_link(settings)}",
        "",
    ]
    if referral_ids:
        lines.append("New pre-consultation referrals waiting for a practitioner (staff login needed):")
        for referral_id in referral_ids:
            lines.append(f"- Referral #{referral_id}: {referral_link(settings, referral_id)}")
            summary = _summary_line(settings, referral_id)
            if summary:
                lines.append(f"  {summary}")
        lines += ["", f"The queue: {settings.public_base_url.rstrip('/')}/staff/referrals", ""]
    return subject, "\n".join(lines + _footer(settings))


def waiting_key(conversation_id: str, requested_at: datetime) -> str:
    """The dedupe key's prefix of one request for a person (a new request in the same chat is a new notice)."""
    stamp = as_utc(requested_at).strftime("%Y%m%dT%H%M%S")
    return f"{outbox.KIND_LIVE_WAITING}:{conversation_id[:180]}:{stamp}:"


def queue_waiting_notices(
    settings: Optional[settings_module.Settings] = None, *, now: Optional[datetime] = None
) -> int:
    """One "a client is waiting" notice per recipient for each live chat waiting for a person, once per request:
    a request that already has a notice (sent or not, whoever the recipients were then) gets no other."""
    from bot.live import service

    settings = settings or settings_module.get()
    waiting = [c for c in service.queue() if c.state in ("waiting", "timed_out")]
    fresh = [c for c in waiting if not outbox.has_notice(waiting_key(c.conversation_id, c.requested_at))]
    if not fresh:
        return 0
    to = recipients(settings)
    drafts = [
        outbox.Draft(
            kind=outbox.KIND_LIVE_WAITING,
            dedupe_key=waiting_key(chat.conversation_id, chat.requested_at) + address.lower(),
            recipient=address,
            subject=WAITING_SUBJECT,
            body=waiting_body(settings, chat.conversation_id, chat.requested_at),
            referral_id=chat.referral_id,
        )
        for chat in fresh
        for address in to
    ]
    return outbox.enqueue(drafts, now=now, hold_seconds=settings.notify_digest_seconds)


def queue_referral_notices(
    settings: Optional[settings_module.Settings] = None, *, now: Optional[datetime] = None
) -> int:
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
        newly = outbox.enqueue(drafts, now=now, hold_seconds=settings.notify_digest_seconds)
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
    for batch in outbox.lease_batches(now=now):
        subject, body = compose(settings, batch)
        try:
            mail.send(server, sender, batch[0].recipient, subject, body)
        except mail.MailError as exc:
            for letter in batch:
                status = outbox.mark_failed(
                    letter.id, str(exc), max_attempts=settings.outbox_max_attempts, now=as_utc(now)
                )
            logger.warning(
                "notification not sent outbox_ids=%s attempt=%s status=%s error=%s",
                ",".join(str(letter.id) for letter in batch),
                batch[0].attempts + 1,
                status,
                type(exc.__cause__).__name__,
            )
            failed += 1
            continue
        for letter in batch:
            outbox.mark_sent(letter.id, now=now)
        sent += 1
    if sent or failed:
        logger.info("notifications round sent=%d failed=%d", sent, failed)
    return Round(0, sent, failed)


def run_once(settings: Optional[settings_module.Settings] = None, *, now: Optional[datetime] = None) -> Round:
    settings = settings or settings_module.get()
    queued = queue_referral_notices(settings, now=now) + queue_waiting_notices(settings, now=now)
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
