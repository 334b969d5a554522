"""Reading consultations as staff and the CLI see them: one consultation's record (the consultation JSON, without the
dashboard's addresses, which bot.web.staff_urls adds) and a conversation's transcript. Reads only; the chat's writes
are in bot.store.consultations."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store import tracker_events
from bot.store.db import session_scope
from bot.store.models import Answer, Consultation, Reason, Referral, utc

NOTE = "clear"  # a finding that flags nothing


def latest(session: Session, conversation_id: str, *, lock: bool = False) -> Optional[Consultation]:
    """The conversation's latest consultation (with `lock`, locked for writing on PostgreSQL)."""
    query = (
        sa.select(Consultation)
        .where(Consultation.conversation_id == conversation_id)
        .order_by(Consultation.sequence.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update()  # PostgreSQL: queue concurrent writers of one chat; ignored by SQLite
    return session.execute(query).scalars().first()


def stored_answers(session: Session, consultation_id: str) -> Dict[str, Any]:
    rows = session.execute(
        sa.select(Answer.key, Answer.value).where(Answer.consultation_id == consultation_id).order_by(Answer.key)
    ).all()
    return {key: json.loads(value) for key, value in rows}


def by_any_id(session: Session, id_or_conversation_id: str) -> Optional[Consultation]:
    found = session.get(Consultation, id_or_conversation_id) if len(id_or_conversation_id) <= 32 else None
    return found or latest(session, id_or_conversation_id)


def _referral_dict(referral: Referral) -> Dict[str, Any]:
    return {
        "id": referral.id,
        "status": referral.status,
        "severity": referral.severity,
        "rules_version": referral.rules_version,
        "created_at": utc(referral.created_at),
        "updated_at": utc(referral.updated_at),
        "claimed_by": referral.claimed_by,
        "claimed_at": utc(referral.claimed_at),
        "contacted_by": referral.contacted_by,
        "contacted_at": utc(referral.contacted_at),
        "closed_by": referral.closed_by,
        "closed_at": utc(referral.closed_at),
        "outcome_note": referral.outcome_note,
        "incomplete": bool(referral.incomplete),
    }


def shown(session: Session, consultation: Consultation) -> Dict[str, Any]:
    """One consultation as a dict: the consultation JSON (docs/architecture.md) except `referral.transcript_url`."""
    answers = stored_answers(session, consultation.id)
    reasons = (
        session.execute(sa.select(Reason).where(Reason.consultation_id == consultation.id).order_by(Reason.id))
        .scalars()
        .all()
    )
    referral = session.execute(sa.select(Referral).where(Referral.consultation_id == consultation.id)).scalars().first()
    return {
        # the contract (docs/architecture.md, "The consultation JSON")
        "conversation_id": consultation.conversation_id,
        "status": consultation.status,
        "outcome": consultation.outcome,
        "reasons": [{"code": r.code, "rule": r.rule, "detail": r.detail} for r in reasons if r.outcome != NOTE],
        "answers": answers,
        "referral": _referral_dict(referral) if referral is not None else None,
        # additions
        "id": consultation.id,
        "sequence": consultation.sequence,
        "rules_version": consultation.rules_version,
        "requested_human": bool(consultation.requested_human),
        # every stored finding, flags first, with outcome and rationale (practitioners' view)
        "findings": [
            {"code": r.code, "outcome": r.outcome, "rule": r.rule, "detail": r.detail, "rationale": r.rationale}
            for r in reasons
        ],
        "notes": [{"code": r.code, "rule": r.rule, "detail": r.detail} for r in reasons if r.outcome == NOTE],
        "created_at": utc(consultation.created_at),
        "updated_at": utc(consultation.updated_at),
        "last_activity_at": utc(consultation.last_activity_at),
        "completed_at": utc(consultation.completed_at),
    }


def show(id_or_conversation_id: str) -> Optional[Dict[str, Any]]:
    """`shown()` of a consultation id, or of a conversation's latest consultation; None if there is none. For the
    whole contract (with the transcript's address) ask bot.web.staff_urls.show."""
    with session_scope(write=False) as session:
        consultation = by_any_id(session, id_or_conversation_id)
        return shown(session, consultation) if consultation is not None else None


def transcript(
    conversation_id: str, *, since: Optional[datetime] = None, until: Optional[datetime] = None
) -> List[Dict[str, Any]]:
    """The conversation as staff read it: [{"time", "sender": "client"|"assistant", "text", "buttons"}]."""
    with session_scope(write=False) as session:
        return tracker_events.transcript(session, conversation_id, since=since, until=until)
