"""What a client writes after the hand-off to a person: kept for the practitioner beside the referral.

Rasa's transcript has these messages too, but retention may trim Rasa's events sooner; these rows live and die with
the consultation (foreign key, ON DELETE CASCADE), so erasure and purge remove them with it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot.store.base import Base, UTCDateTime
from bot.store.db import as_utc, session_scope
from bot.store.models import Consultation

logger = logging.getLogger(__name__)

MAX_TEXT = 5000


class HandoffMessage(Base):
    __tablename__ = "handoff_messages"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    consultation_id = sa.Column(
        sa.String(32), sa.ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False
    )
    message_id = sa.Column(sa.String(64), nullable=False)  # Rasa's message id: a retried action keeps one row
    received_at = sa.Column(UTCDateTime, nullable=False)
    text = sa.Column(sa.Text, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("consultation_id", "message_id"),
        sa.Index("ix_handoff_messages_consultation_id", "consultation_id"),
    )


@dataclass(frozen=True)
class Message:
    received_at: datetime
    text: str


def _latest_consultation_id(session: sa.orm.Session, conversation_id: str) -> Optional[str]:
    return session.execute(
        sa.select(Consultation.id).where(Consultation.conversation_id == conversation_id)
        .order_by(Consultation.sequence.desc()).limit(1)
    ).scalar_one_or_none()


def keep(conversation_id: str, message_id: str, text: str, *, now: Optional[datetime] = None) -> Optional[str]:
    """Keep one client message for the practitioner (once per message id); returns the consultation id, or None
    when the conversation has no consultation to attach it to."""
    now = as_utc(now)
    text = (text or "").strip()[:MAX_TEXT]
    if not text:
        return None
    with session_scope() as session:
        consultation_id = _latest_consultation_id(session, conversation_id)
        if consultation_id is None:
            return None
        exists = session.execute(
            sa.select(HandoffMessage.id).where(HandoffMessage.consultation_id == consultation_id,
                                               HandoffMessage.message_id == message_id[:64])
        ).first()
        if exists is None:
            try:
                with session.begin_nested():
                    session.add(HandoffMessage(consultation_id=consultation_id, message_id=message_id[:64],
                                               received_at=now, text=text))
            except IntegrityError:  # the same message, kept by a concurrent retry
                pass
            session.execute(
                sa.update(Consultation).where(Consultation.id == consultation_id,
                                              Consultation.last_activity_at < now)
                .values(last_activity_at=now).execution_options(synchronize_session=False)
            )
        logger.info("hand-off message kept conversation_id=%s consultation_id=%s", conversation_id, consultation_id)
        return consultation_id


def messages(consultation_id: str) -> List[Message]:
    with session_scope(write=False) as session:
        rows = session.execute(
            sa.select(HandoffMessage.received_at, HandoffMessage.text)
            .where(HandoffMessage.consultation_id == consultation_id).order_by(HandoffMessage.id)
        ).all()
        return [Message(at, text) for at, text in rows]
