"""The practitioners' side of a referral: the queue, and each step new -> claimed -> contacted -> closed.

A referral is created by `bot.store.consultations` (exactly one per flagged consultation); here it moves on. Every
step is one conditional UPDATE (so two practitioners pressing "claim" at once cannot both win) plus a row in
`referral_events` saying who did it, when, and their note.

A claimed referral is closed only by the practitioner who claimed it; an admin may close it as an override
(`override=True`), recorded as the step `close_override` so the history and the audit log show it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Dict, List, Optional, Sequence, Tuple

import sqlalchemy as sa

from bot.store.base import Base, UTCDateTime
from bot.store.db import as_utc, session_scope
from bot.store.models import Consultation, Reason, Referral

logger = logging.getLogger(__name__)

OPEN = ("new", "claimed", "contacted")
# step -> (statuses it may start from, status it leads to)
STEPS: Dict[str, Tuple[Tuple[str, ...], str]] = {
    "claim": (("new",), "claimed"),
    "contact": (("new", "claimed"), "contacted"),
    "close": (("new", "claimed", "contacted"), "closed"),
}
MAX_NOTE = 4000


class ReferralEvent(Base):
    """One step or note on a referral: the history practitioners and auditors read."""

    __tablename__ = "referral_events"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    referral_id = sa.Column(sa.Integer, sa.ForeignKey("referrals.id", ondelete="CASCADE"), nullable=False)
    at = sa.Column(UTCDateTime, nullable=False)
    actor = sa.Column(sa.String(254), nullable=False)
    action = sa.Column(sa.String(16), nullable=False)  # claim, contact, close, note, hand_back
    from_status = sa.Column(sa.String(16), nullable=True)
    to_status = sa.Column(sa.String(16), nullable=True)
    note = sa.Column(sa.Text, nullable=True)

    __table_args__ = (sa.Index("ix_referral_events_referral_id", "referral_id"),)


class ReferralError(ValueError):
    """The step is not possible (unknown referral, wrong status, missing note); the message says which."""


class NotClaimer(ReferralError):
    """Someone other than the practitioner who claimed the referral tried to close it."""

    def __init__(self, referral_id: int, claimed_by: str) -> None:
        super().__init__(
            f"Referral #{referral_id} is claimed by {claimed_by}: only they can close it. Add a note "
            "for them instead, or ask an admin to close it as an override."
        )
        self.claimed_by = claimed_by


OVERRIDE_CLOSE = "close_override"  # the history's action for an admin's close of a referral


@dataclass(frozen=True)
class QueueItem:
    referral_id: int
    consultation_id: str
    conversation_id: str
    status: str
    severity: str
    created_at: datetime
    claimed_by: Optional[str]
    name: Optional[str]
    codes: Tuple[str, ...]
    messages: int  # messages the client wrote after the hand-off
    incomplete: bool = False  # the client left before the end: judged on the answers given so far


@dataclass(frozen=True)
class Step:
    at: datetime
    actor: str
    action: str
    from_status: Optional[str]
    to_status: Optional[str]
    note: Optional[str]


def _clean_note(note: Optional[str]) -> Optional[str]:
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise ReferralError(f"the note is too long (at most {MAX_NOTE} characters)")
    return note or None


def _severity_order() -> sa.sql.elements.ColumnElement:
    return sa.case((Referral.severity == "defer", 0), else_=1)


def queue(statuses: Sequence[str] = OPEN, *, page: int = 1, per_page: int = 50) -> Tuple[List[QueueItem], int]:
    """Referrals in these statuses, most severe first, then oldest first; and how many there are."""
    from bot.store.person_requests import HandoffMessage

    statuses = [s for s in statuses if s in STEPS["close"][0] + ("closed",)] or list(OPEN)
    where = Referral.status.in_(statuses)
    messages = (
        sa.select(sa.func.count())
        .select_from(HandoffMessage)
        .where(HandoffMessage.consultation_id == Referral.consultation_id)
        .scalar_subquery()
    )
    query = (
        sa.select(Referral, Consultation.conversation_id, Consultation.name, messages)
        .join(Consultation, Consultation.id == Referral.consultation_id)
        .where(where)
        .order_by(_severity_order(), Referral.created_at, Referral.id)
        .offset((max(page, 1) - 1) * per_page)
        .limit(per_page)
    )
    with session_scope(write=False) as session:
        total = int(session.execute(sa.select(sa.func.count()).select_from(Referral).where(where)).scalar_one())
        rows = session.execute(query).all()
        ids = [r.Referral.consultation_id for r in rows]
        codes: Dict[str, List[str]] = {}
        if ids:
            for cid, code in session.execute(
                sa.select(Reason.consultation_id, Reason.code)
                .where(Reason.consultation_id.in_(ids), Reason.outcome != "clear")
                .order_by(Reason.id)
            ):
                codes.setdefault(cid, []).append(code)
        items: List[QueueItem] = []
        for row in rows:
            referral = row[0]
            items.append(
                QueueItem(
                    referral.id,
                    referral.consultation_id,
                    row[1],
                    referral.status,
                    referral.severity,
                    referral.created_at,
                    referral.claimed_by,
                    row[2],
                    tuple(codes.get(referral.consultation_id, ())),
                    int(row[3] or 0),
                    bool(referral.incomplete),
                )
            )
        return items, total


def counts() -> Dict[str, int]:
    """How many referrals are in each status."""
    with session_scope(write=False) as session:
        found = dict(session.execute(sa.select(Referral.status, sa.func.count()).group_by(Referral.status)).all())
    return {status: int(found.get(status, 0)) for status in STEPS["close"][0] + ("closed",)}


def consultation_of(referral_id: int) -> Optional[str]:
    with session_scope(write=False) as session:
        return session.execute(
            sa.select(Referral.consultation_id).where(Referral.id == referral_id)
        ).scalar_one_or_none()


def history(referral_id: int) -> List[Step]:
    with session_scope(write=False) as session:
        rows = (
            session.execute(
                sa.select(ReferralEvent).where(ReferralEvent.referral_id == referral_id).order_by(ReferralEvent.id)
            )
            .scalars()
            .all()
        )
        return [Step(r.at, r.actor, r.action, r.from_status, r.to_status, r.note) for r in rows]


def advance(
    referral_id: int,
    step: str,
    actor: str,
    note: Optional[str] = None,
    *,
    now: Optional[datetime] = None,
    override: bool = False,
) -> str:
    """Move the referral on by `step` (claim, contact, close); returns the new status.

    Closing needs an outcome note, and a claimed referral is closed only by its claimer (NotClaimer otherwise);
    `override` (an admin's, the caller checks the role) closes it anyway, recorded as OVERRIDE_CLOSE. A step from
    the wrong status (someone else got there first, or a double click) raises ReferralError and changes nothing.
    """
    if override and step != "close":
        raise ReferralError("only closing can be an override")
    if step not in STEPS:
        raise ReferralError(f"unknown step {step!r}")
    now = as_utc(now)
    note = _clean_note(note)
    if step == "close" and not note:
        raise ReferralError("closing a referral needs an outcome note (what was decided)")
    sources, target = STEPS[step]
    values: Dict[str, object] = {"status": target, "updated_at": now, f"{target}_by": actor, f"{target}_at": now}
    if step == "close":
        values["outcome_note"] = note
    with session_scope() as session:
        current = session.execute(
            sa.select(Referral.status, Referral.claimed_by).where(Referral.id == referral_id)
        ).first()
        if current is None:
            raise ReferralError(f"no referral #{referral_id}")
        if current.status not in sources:
            raise ReferralError(f"referral #{referral_id} is {current.status}: it cannot be {target} now")
        if step == "close" and not override and current.claimed_by and current.claimed_by != actor:
            raise NotClaimer(referral_id, current.claimed_by)
        if step == "contact" and current.claimed_by is None:  # contacting it is taking it on
            values.update(claimed_by=actor, claimed_at=now)
        guard = [Referral.id == referral_id, Referral.status == current.status]
        if step == "close" and not override:  # the claimer read above is still the claimer
            guard.append(
                Referral.claimed_by.is_(None)
                if current.claimed_by is None
                else Referral.claimed_by == current.claimed_by
            )
        changed = session.execute(
            sa.update(Referral).where(*guard).values(**values).execution_options(synchronize_session=False)
        ).rowcount
        if not changed:  # PostgreSQL: another transaction moved it between our read and our update
            raise ReferralError(f"referral #{referral_id} was changed by someone else: reload the page")
        session.add(
            ReferralEvent(
                referral_id=referral_id,
                at=now,
                actor=actor,
                action=OVERRIDE_CLOSE if override else step,
                from_status=current.status,
                to_status=target,
                note=note,
            )
        )
    logger.info("referral step referral_id=%s step=%s", referral_id, OVERRIDE_CLOSE if override else step)
    return target


def add_note(referral_id: int, actor: str, note: str, *, action: str = "note", now: Optional[datetime] = None) -> None:
    note_text = _clean_note(note)
    if not note_text and action == "note":
        raise ReferralError("the note is empty")
    now = as_utc(now)
    with session_scope() as session:
        status = session.execute(sa.select(Referral.status).where(Referral.id == referral_id)).scalar_one_or_none()
        if status is None:
            raise ReferralError(f"no referral #{referral_id}")
        session.add(
            ReferralEvent(
                referral_id=referral_id,
                at=now,
                actor=actor,
                action=action,
                from_status=status,
                to_status=status,
                note=note_text,
            )
        )
