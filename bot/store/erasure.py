"""A client's rights over what is stored: access (`export`) and erasure (`erase`), and the deletion of consultations
(answers, reasons, referral) that erasure and both retention purges (bot.store.retention) share."""

from __future__ import annotations

import logging
from typing import Any, Dict, NamedTuple, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store import tracker_events
from bot.store.consultation_reads import shown
from bot.store.db import as_utc, session_scope
from bot.store.models import Answer, Consultation, Reason, Referral

logger = logging.getLogger(__name__)


class Removed(NamedTuple):
    consultations: int
    events: int


def delete_consultations(session: Session, ids: Sequence[str]) -> int:
    """Delete these consultations and their answers, reasons and referral; returns how many consultations."""
    if not ids:
        return 0
    for model in (Answer, Reason, Referral):
        session.execute(
            sa.delete(model).where(model.consultation_id.in_(ids)).execution_options(synchronize_session=False)
        )
    result = session.execute(
        sa.delete(Consultation).where(Consultation.id.in_(ids)).execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


def erase_counts(conversation_id: str) -> Removed:
    """`erase()`, also counting the Rasa events removed."""
    with session_scope() as session:
        ids = list(
            session.execute(sa.select(Consultation.id).where(Consultation.conversation_id == conversation_id)).scalars()
        )
        consultations = delete_consultations(session, ids)
        events = tracker_events.delete_conversation(session, conversation_id)
    logger.info("erased conversation_id=%s consultations=%d events=%d", conversation_id, consultations, events)
    return Removed(consultations, events)


def erase(conversation_id: str) -> int:
    """Right to erasure: delete every consultation of this conversation and its whole transcript. Returns the
    number of consultations deleted."""
    return erase_counts(conversation_id).consultations


def export(conversation_id: str) -> Dict[str, Any]:
    """Right of access: every consultation of the conversation (`consultation_reads.shown` each; bot.web.staff_urls
    .export adds the dashboard's addresses) and the whole transcript, read in one transaction."""
    with session_scope(write=False) as session:
        consultations = (
            session.execute(
                sa.select(Consultation)
                .where(Consultation.conversation_id == conversation_id)
                .order_by(Consultation.sequence)
            )
            .scalars()
            .all()
        )
        records = [shown(session, c) for c in consultations]
        lines = tracker_events.transcript(session, conversation_id)
    return {
        "conversation_id": conversation_id,
        "exported_at": as_utc(None).isoformat(),
        "consultations": records,
        "transcript": lines,
    }
