"""A request for a person, and what a client writes after the hand-off: kept for the practitioner beside the referral.

`decide_person_request` (pure) says what a request for a person may do: with consent, or at least a phone number or
email to reach the client by, it refers (once per conversation: a repeated request updates the referral it has);
before consent and with no contact it stores nothing at all, and the assistant asks for a phone number or email or
gives the clinic's phone instead (`bot.store.consultations.record_person_request` applies it).

Messages written during a hand-off are kept only once the client has consented (`keep`); before, nothing they type is
kept in our tables (Rasa's own events of such a conversation are deleted by `bot.store.retention`).

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
    consultation_id = sa.Column(sa.String(32), sa.ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False)
    message_id = sa.Column(sa.String(64), nullable=False)  # Rasa's message id: a retried action keeps one row
    received_at = sa.Column(UTCDateTime, nullable=False)
    text = sa.Column(sa.Text, nullable=False)

    __table_args__ = (
        sa.UniqueConstraint("consultation_id", "message_id"),
        sa.Index("ix_handoff_messages_consultation_id", "consultation_id"),
    )


# what a request for a person does
REFER = "refer"  # a new referral (consent given, or a contact to reach the client by)
UPDATE = "update"  # the conversation has an open referral already: that one is updated, no second one
ASK_CONTACT = "ask_contact"  # no consent, no contact: nothing is stored; ask for a phone or email, give the clinic's


@dataclass(frozen=True)
class PersonDecision:
    action: str  # REFER, UPDATE or ASK_CONTACT
    reason: str  # consent, contact, referred, no_consent_no_contact

    @property
    def stores(self) -> bool:
        return self.action != ASK_CONTACT


def decide_person_request(*, consented: bool, has_contact: bool, referral_open: bool) -> PersonDecision:
    """What a request for a person may do (pure: the store and the actions apply it)."""
    if referral_open:
        return PersonDecision(UPDATE, "referred")
    if consented:
        return PersonDecision(REFER, "consent")
    if has_contact:
        return PersonDecision(REFER, "contact")
    return PersonDecision(ASK_CONTACT, "no_consent_no_contact")


@dataclass(frozen=True)
class Message:
    received_at: datetime
    text: str


def _latest_consultation_id(session: sa.orm.Session, conversation_id: str) -> Optional[str]:
    return session.execute(
        sa.select(Consultation.id)
        .where(Consultation.conversation_id == conversation_id)
        .order_by(Consultation.sequence.desc())
        .limit(1)
    ).scalar_one_or_none()


def keep(
    conversation_id: str, message_id: str, text: str, *, consent: Optional[bool] = None, now: Optional[datetime] = None
) -> Optional[str]:
    """Keep one client message for the practitioner (once per message id); returns the consultation id, or None
    when nothing was kept: no consultation to attach it to, or no consent (`consent` is the tracker's slot when the
    caller knows it; else the store's record, `bot.store.consent.given`)."""
    from bot.store import consent as consent_record

    now = as_utc(now)
    text = (text or "").strip()[:MAX_TEXT]
    if not text:
        return None
    with session_scope() as session:
        consultation_id = _latest_consultation_id(session, conversation_id)
        if consultation_id is None:
            return None
        if not consent_record.given(session, conversation_id, stated=consent):
            logger.info("hand-off message not kept (no consent) conversation_id=%s", conversation_id)
            return None
        exists = session.execute(
            sa.select(HandoffMessage.id).where(
                HandoffMessage.consultation_id == consultation_id, HandoffMessage.message_id == message_id[:64]
            )
        ).first()
        if exists is None:
            try:
                with session.begin_nested():
                    session.add(
                        HandoffMessage(
                            consultation_id=consultation_id, message_id=message_id[:64], received_at=now, text=text
                        )
                    )
            except IntegrityError:  # the same message, kept by a concurrent retry
                pass
            session.execute(
                sa.update(Consultation)
                .where(Consultation.id == consultation_id, Consultation.last_activity_at < now)
                .values(last_activity_at=now)
                .execution_options(synchronize_session=False)
            )
        logger.info("hand-off message kept conversation_id=%s consultation_id=%s", conversation_id, consultation_id)
        return consultation_id


def messages(consultation_id: str) -> List[Message]:
    with session_scope(write=False) as session:
        rows = session.execute(
            sa.select(HandoffMessage.received_at, HandoffMessage.text)
            .where(HandoffMessage.consultation_id == consultation_id)
            .order_by(HandoffMessage.id)
        ).all()
        return [Message(at, text) for at, text in rows]


import bot.live.models  # noqa: E402,F401  (registers the live_chats table on the metadata with bot.store)
