"""The outbox: emails waiting to go, with their attempts. Nothing is lost when mail is down: a row stays until sent.

Several delivery loops may run (one per instance): a loop leases the rows it sends (`locked_until`), so two never
send the same message, and a loop that dies mid-send frees its rows when the lease runs out.

A burst never becomes a flood: new-referral notices are still one row per referral and recipient (so each referral
shows its notices), but a notice waits `hold_seconds` (NOTIFY_DIGEST_SECONDS) and joins the recipient's batch
already waiting; `lease_batches` hands every waiting notice of a recipient over together, sent as one digest email.
"A client is waiting for a person" notices (KIND_LIVE_WAITING) follow the same rules, in the same digests.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.store.base import Base, UTCDateTime
from bot.store.db import as_utc, session_scope
from bot.store.models import Referral

logger = logging.getLogger(__name__)

STATUSES = ("pending", "sent", "failed")
KIND_NEW_REFERRAL = "new_referral"
KIND_LIVE_WAITING = "live_waiting"  # a client in the live chat is waiting for a person (bot.live), once per request
# notices that wait NOTIFY_DIGEST_SECONDS and go out together, one email per recipient
DIGEST_KINDS = (KIND_NEW_REFERRAL, KIND_LIVE_WAITING)
LOOKBACK_DAYS = 30  # referrals older than this that never had a notice are left alone (a first start on old data)

# the queue scan: referrals of the last days without a notice
ix_referrals_created_at = sa.Index("ix_referrals_created_at", Referral.created_at)


class OutboxMessage(Base):
    __tablename__ = "outbox"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    kind = sa.Column(sa.String(32), nullable=False)
    dedupe_key = sa.Column(sa.String(255), nullable=False, unique=True)
    referral_id = sa.Column(sa.Integer, sa.ForeignKey("referrals.id", ondelete="CASCADE"), nullable=True)
    recipient = sa.Column(sa.String(254), nullable=False)
    subject = sa.Column(sa.String(200), nullable=False)
    body = sa.Column(sa.Text, nullable=False)
    status = sa.Column(sa.String(16), nullable=False, default="pending")
    attempts = sa.Column(sa.Integer, nullable=False, default=0)
    created_at = sa.Column(UTCDateTime, nullable=False)
    next_attempt_at = sa.Column(UTCDateTime, nullable=False)
    locked_until = sa.Column(UTCDateTime, nullable=True)
    sent_at = sa.Column(UTCDateTime, nullable=True)
    last_error = sa.Column(sa.String(500), nullable=True)

    __table_args__ = (
        sa.CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status"),
        sa.Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
        sa.Index("ix_outbox_referral_id", "referral_id"),
    )


@dataclass(frozen=True)
class Letter:
    """One email to send or shown as undelivered."""

    id: int
    kind: str
    recipient: str
    subject: str
    body: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    last_error: Optional[str]
    referral_id: Optional[int]


def _letter(row: OutboxMessage) -> Letter:
    return Letter(
        row.id,
        row.kind,
        row.recipient,
        row.subject,
        row.body,
        row.status,
        row.attempts,
        row.created_at,
        row.next_attempt_at,
        row.last_error,
        row.referral_id,
    )


@dataclass(frozen=True)
class Draft:
    kind: str
    dedupe_key: str
    recipient: str
    subject: str
    body: str
    referral_id: Optional[int] = None


def _batch_due(session: sa.orm.Session, recipient: str, now: datetime) -> Optional[datetime]:
    """When the recipient's digest batch that is still waiting goes out, if one is waiting."""
    return session.execute(
        sa.select(sa.func.min(OutboxMessage.next_attempt_at)).where(
            OutboxMessage.kind.in_(DIGEST_KINDS),
            OutboxMessage.status == "pending",
            OutboxMessage.attempts == 0,
            sa.func.lower(OutboxMessage.recipient) == recipient.lower(),
            OutboxMessage.next_attempt_at > now,
            sa.or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now),
        )
    ).scalar_one_or_none()


def enqueue(drafts: Iterable[Draft], *, now: Optional[datetime] = None, hold_seconds: int = 0) -> int:
    """Add these messages unless one with the same dedupe key exists; returns how many were added.

    With `hold_seconds`, a digest notice (new referral, client waiting) is due when its recipient's waiting batch
    is, or `hold_seconds` from now if none is waiting: notices queued within that window go out together
    (`lease_batches`)."""
    now = as_utc(now)
    added = 0
    with session_scope() as session:
        for draft in drafts:
            if (
                session.execute(sa.select(OutboxMessage.id).where(OutboxMessage.dedupe_key == draft.dedupe_key)).first()
                is not None
            ):
                continue
            due = now
            if hold_seconds > 0 and draft.kind in DIGEST_KINDS:
                due = as_utc(_batch_due(session, draft.recipient, now) or now + timedelta(seconds=hold_seconds))
            try:
                with session.begin_nested():
                    session.add(
                        OutboxMessage(
                            kind=draft.kind,
                            dedupe_key=draft.dedupe_key[:255],
                            referral_id=draft.referral_id,
                            recipient=draft.recipient,
                            subject=draft.subject[:200],
                            body=draft.body,
                            status="pending",
                            attempts=0,
                            created_at=now,
                            next_attempt_at=due,
                        )
                    )
                added += 1
            except IntegrityError:  # another loop queued it at the same moment
                continue
    return added


def has_notice(dedupe_key_prefix: str) -> bool:
    """Whether a notice whose dedupe key starts with this prefix was ever queued (sent or not)."""
    with session_scope(write=False) as session:
        return (
            session.execute(
                sa.select(OutboxMessage.id)
                .where(OutboxMessage.dedupe_key.startswith(dedupe_key_prefix, autoescape=True))
                .limit(1)
            ).first()
            is not None
        )


def referrals_without_notice(*, now: Optional[datetime] = None, limit: int = 100) -> List[int]:
    """Referrals of the last LOOKBACK_DAYS that have no new-referral notice queued yet."""
    since = as_utc(now) - timedelta(days=LOOKBACK_DAYS)
    noticed = sa.exists().where(OutboxMessage.referral_id == Referral.id, OutboxMessage.kind == KIND_NEW_REFERRAL)
    with session_scope(write=False) as session:
        return list(
            session.execute(
                sa.select(Referral.id).where(Referral.created_at >= since, ~noticed).order_by(Referral.id).limit(limit)
            ).scalars()
        )


def lease_batches(*, now: Optional[datetime] = None, limit: int = 20, lease_seconds: int = 120) -> List[List[Letter]]:
    """Pending messages whose time has come, leased to the caller for `lease_seconds`, in batches: one email each.

    Digest notices (DIGEST_KINDS) go by recipient: once one of a recipient's is due, every other notice of theirs
    waiting (queued by now, not leased by another loop) joins it, however many, so a burst is one digest.
    Other messages are a batch each."""
    now = as_utc(now)
    free = sa.or_(OutboxMessage.locked_until.is_(None), OutboxMessage.locked_until < now)
    with session_scope() as session:
        postgres = session.bind is not None and session.bind.dialect.name == "postgresql"
        query = (
            sa.select(OutboxMessage)
            .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now, free)
            .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
            .limit(limit)
        )
        if postgres:
            query = query.with_for_update(skip_locked=True)
        rows = list(session.execute(query).scalars().all())
        recipients = sorted({r.recipient.lower() for r in rows if r.kind in DIGEST_KINDS})
        if recipients:
            taken = {r.id for r in rows}
            joining = (
                sa.select(OutboxMessage)
                .where(
                    OutboxMessage.status == "pending",
                    OutboxMessage.kind.in_(DIGEST_KINDS),
                    sa.func.lower(OutboxMessage.recipient).in_(recipients),
                    OutboxMessage.created_at <= now,
                    free,
                )
                .order_by(OutboxMessage.id)
            )
            if postgres:
                joining = joining.with_for_update(skip_locked=True)
            rows += [r for r in session.execute(joining).scalars().all() if r.id not in taken]
        batches: Dict[Tuple[str, str], List[OutboxMessage]] = {}
        for row in rows:
            row.locked_until = now + timedelta(seconds=lease_seconds)
            key = ("digest", row.recipient.lower()) if row.kind in DIGEST_KINDS else (row.kind, f"#{row.id}")
            batches.setdefault(key, []).append(row)
        return [[_letter(r) for r in sorted(batch, key=lambda r: r.id)] for batch in batches.values()]


def lease_due(*, now: Optional[datetime] = None, limit: int = 20, lease_seconds: int = 120) -> List[Letter]:
    """`lease_batches`, flat."""
    return [letter for batch in lease_batches(now=now, limit=limit, lease_seconds=lease_seconds) for letter in batch]


def backoff(attempts: int, *, base_seconds: float = 30.0, cap_seconds: float = 3600.0) -> timedelta:
    """The wait before attempt `attempts + 1`: 30 s, 1 min, 2 min, ... at most an hour."""
    return timedelta(seconds=min(cap_seconds, base_seconds * (2 ** max(0, attempts - 1))))


def mark_sent(message_id: int, *, now: Optional[datetime] = None) -> None:
    now = as_utc(now)
    with session_scope() as session:
        session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status="sent", sent_at=now, locked_until=None, last_error=None, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )


def mark_failed(
    message_id: int,
    error: str,
    *,
    max_attempts: int,
    now: Optional[datetime] = None,
    wait: Callable[[int], timedelta] = backoff,
) -> str:
    """One more failed attempt: try again after a backoff, or give up (status failed) after `max_attempts`.
    Returns the new status."""
    now = as_utc(now)
    with session_scope() as session:
        row = session.get(OutboxMessage, message_id)
        if row is None:
            return "gone"
        row.attempts += 1
        row.last_error = error[:500]
        row.locked_until = None
        if row.attempts >= max_attempts:
            row.status = "failed"
        else:
            row.next_attempt_at = now + wait(row.attempts)
        return row.status


def undelivered(*, limit: int = 100) -> Tuple[List[Letter], int]:
    """Messages not sent yet (pending or given up), oldest first, and how many there are."""
    where = OutboxMessage.status.in_(("pending", "failed"))
    with session_scope(write=False) as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(OutboxMessage).where(where)).scalar_one())
        rows = (
            session.execute(
                sa.select(OutboxMessage).where(where).order_by(OutboxMessage.created_at, OutboxMessage.id).limit(limit)
            )
            .scalars()
            .all()
        )
        return [_letter(r) for r in rows], total


def count_undelivered() -> int:
    with session_scope(write=False) as session:
        return int(
            session.execute(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status.in_(("pending", "failed")))
            ).scalar_one()
        )


def retry(ids: Optional[Sequence[int]] = None, *, now: Optional[datetime] = None) -> int:
    """Send these (default: every undelivered message) at the next round, attempts counted afresh."""
    now = as_utc(now)
    query = sa.update(OutboxMessage).where(OutboxMessage.status.in_(("pending", "failed")))
    if ids is not None:
        query = query.where(OutboxMessage.id.in_(list(ids)))
    with session_scope() as session:
        return int(
            session.execute(
                query.values(status="pending", attempts=0, next_attempt_at=now, locked_until=None).execution_options(
                    synchronize_session=False
                )
            ).rowcount
            or 0
        )


def by_referral(referral_id: int) -> List[Letter]:
    with session_scope(write=False) as session:
        rows = (
            session.execute(
                sa.select(OutboxMessage).where(OutboxMessage.referral_id == referral_id).order_by(OutboxMessage.id)
            )
            .scalars()
            .all()
        )
        return [_letter(r) for r in rows]
