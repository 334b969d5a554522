"""The staff audit log: every login (and failed one), consultation view, referral change and export.

Rows name the member of staff and what they touched (by id), never a client's name, contact or answer. Failed
logins are also what the login rate limit counts, so it holds across processes and restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

import sqlalchemy as sa

from bot.store.base import Base, UTCDateTime
from bot.store.db import as_utc, session_scope

ACTIONS = (
    "login",
    "login_failed",
    "login_limited",
    "logout",
    "view_consultation",
    "view_referral",
    "print_referral",
    "export",
    "referral_claimed",
    "referral_contacted",
    "referral_closed",
    "referral_note",
    "handed_back",
    "live_taken",
    "live_message",
    "live_handed_back",
    "live_ended",
    "live_answer_set",
    "staff_added",
    "staff_changed",
    "outbox_retry",
    "api_read",
    "list_consultations",
    "view_queue",
    "view_page",
)


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    at = sa.Column(UTCDateTime, nullable=False)
    actor = sa.Column(sa.String(254), nullable=True)  # staff email (for a failed login: the email tried)
    action = sa.Column(sa.String(32), nullable=False)
    target_type = sa.Column(sa.String(32), nullable=True)  # consultation, referral, staff, outbox
    target_id = sa.Column(sa.String(64), nullable=True)
    detail = sa.Column(sa.String(500), nullable=True)
    ip = sa.Column(sa.String(64), nullable=True)

    __table_args__ = (
        sa.Index("ix_audit_log_at", "at"),
        sa.Index("ix_audit_log_action_actor_at", "action", "actor", "at"),
        sa.Index("ix_audit_log_action_ip_at", "action", "ip", "at"),
        sa.Index("ix_audit_log_target_type_target_id", "target_type", "target_id"),
    )


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: Optional[str]
    action: str
    target_type: Optional[str]
    target_id: Optional[str]
    detail: Optional[str]
    ip: Optional[str]


def record(
    actor: Optional[str],
    action: str,
    target_type: Optional[str] = None,
    target_id: Optional[str] = None,
    detail: Optional[str] = None,
    ip: Optional[str] = None,
    *,
    now: Optional[datetime] = None,
) -> None:
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    with session_scope() as session:
        session.add(
            AuditEntry(
                at=as_utc(now),
                actor=(actor or None) and actor[:254],
                action=action,
                target_type=target_type,
                target_id=None if target_id is None else str(target_id)[:64],
                detail=None if detail is None else detail[:500],
                ip=None if ip is None else ip[:64],
            )
        )


def failed_logins(
    *, email: Optional[str] = None, ip: Optional[str] = None, minutes: int, now: Optional[datetime] = None
) -> int:
    """Failed logins in the last `minutes` for this email, or from this address."""
    since = as_utc(now) - timedelta(minutes=minutes)
    query = (
        sa.select(sa.func.count())
        .select_from(AuditEntry)
        .where(AuditEntry.action == "login_failed", AuditEntry.at >= since)
    )
    if email is not None:
        query = query.where(AuditEntry.actor == email)
    if ip is not None:
        query = query.where(AuditEntry.ip == ip)
    with session_scope(write=False) as session:
        return int(session.execute(query).scalar_one())


def entries(
    *,
    actor: Optional[str] = None,
    action: Optional[str] = None,
    target_id: Optional[str] = None,
    page: int = 1,
    per_page: int = 50,
) -> Tuple[List[Entry], int]:
    """A page of the log, newest first, and the number of matching rows."""
    query = sa.select(AuditEntry)
    if actor:
        query = query.where(AuditEntry.actor == actor.strip().lower())
    if action:
        query = query.where(AuditEntry.action == action)
    if target_id:
        query = query.where(AuditEntry.target_id == target_id.strip())
    with session_scope(write=False) as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one())
        rows = (
            session.execute(query.order_by(AuditEntry.id.desc()).offset((max(page, 1) - 1) * per_page).limit(per_page))
            .scalars()
            .all()
        )
        return [Entry(r.id, r.at, r.actor, r.action, r.target_type, r.target_id, r.detail, r.ip) for r in rows], total
