"""Tables of the consultation aggregate: a consultation, its answers, the reasons it was flagged, its referral.

Rasa's own `events` table (the transcripts) lives in the same database but belongs to Rasa's tracker store; it is
read and deleted through `bot.store.tracker_events`, never declared here. Schema changes go through Alembic
(`bot/store/migrations`); `tests/store` checks that the migrations and these models agree.
"""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional

import sqlalchemy as sa
from sqlalchemy.orm import relationship

from bot.screening.answers import OUTCOMES, STATUSES
from bot.store.base import Base, UTCDateTime

REFERRAL_STATUSES = ("new", "claimed", "contacted", "closed")
SEVERITIES = ("review", "defer")  # the outcomes that create a referral, in order of severity


def _one_of(column: str, values: tuple) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Consultation(Base):
    """One pre-consultation in a chat; a restart in the same chat starts the next one (`sequence` + 1)."""

    __tablename__ = "consultations"

    id = sa.Column(sa.String(32), primary_key=True)  # uuid4 hex
    conversation_id = sa.Column(sa.String(255), nullable=False)  # Rasa's sender_id
    sequence = sa.Column(sa.Integer, nullable=False)  # 1, 2, ... within the conversation
    status = sa.Column(sa.String(16), nullable=False, default="in_progress")
    outcome = sa.Column(sa.String(16), nullable=True)  # null until judged
    rules_version = sa.Column(sa.String(64), nullable=True)
    requested_human = sa.Column(sa.Boolean, nullable=False, default=False)
    # copies of answers, for staff search (email stored lower-cased)
    name = sa.Column(sa.String(200), nullable=True)
    contact_email = sa.Column(sa.String(254), nullable=True)
    contact_phone = sa.Column(sa.String(64), nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)
    last_activity_at = sa.Column(UTCDateTime, nullable=False)
    completed_at = sa.Column(UTCDateTime, nullable=True)
    # when a restart ended it for the chat; null = still the chat's current one if it is the latest
    ended_at = sa.Column(UTCDateTime, nullable=True)

    answers: List[Answer] = relationship(
        "Answer", back_populates="consultation", cascade="all, delete-orphan", passive_deletes=True
    )
    reasons: List[Reason] = relationship(
        "Reason",
        back_populates="consultation",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Reason.id",
    )
    referral: Optional[Referral] = relationship(
        "Referral", back_populates="consultation", uselist=False, cascade="all, delete-orphan", passive_deletes=True
    )

    __table_args__ = (
        sa.UniqueConstraint("conversation_id", "sequence"),  # also the index for "latest of this conversation"
        sa.CheckConstraint(_one_of("status", STATUSES), name="status"),
        sa.CheckConstraint(f"outcome IS NULL OR {_one_of('outcome', OUTCOMES)}", name="outcome"),
        # staff list: newest first, filtered by status or outcome
        sa.Index("ix_consultations_created_at", "created_at"),
        sa.Index("ix_consultations_status_created_at", "status", "created_at"),
        sa.Index("ix_consultations_outcome_created_at", "outcome", "created_at"),
        # expire_idle
        sa.Index("ix_consultations_status_last_activity_at", "status", "last_activity_at"),
        # staff search
        sa.Index("ix_consultations_name", "name"),
        sa.Index("ix_consultations_contact_email", "contact_email"),
        sa.Index("ix_consultations_contact_phone", "contact_phone"),
    )


class Answer(Base):
    """One answer (see bot.screening.answers for keys); the value is JSON text."""

    __tablename__ = "answers"

    consultation_id = sa.Column(sa.String(32), sa.ForeignKey("consultations.id", ondelete="CASCADE"), primary_key=True)
    key = sa.Column(sa.String(64), primary_key=True)
    value = sa.Column(sa.Text, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)

    consultation = relationship("Consultation", back_populates="answers")


class Reason(Base):
    """A rule that flagged the consultation, as judged (a re-judgement replaces them all)."""

    __tablename__ = "reasons"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    consultation_id = sa.Column(sa.String(32), sa.ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False)
    code = sa.Column(sa.String(64), nullable=False)
    outcome = sa.Column(sa.String(16), nullable=False)
    rule = sa.Column(sa.String(128), nullable=False)
    detail = sa.Column(sa.Text, nullable=True)
    rationale = sa.Column(sa.Text, nullable=True)

    consultation = relationship("Consultation", back_populates="reasons")

    __table_args__ = (
        sa.Index("ix_reasons_consultation_id", "consultation_id"),
        sa.Index("ix_reasons_code", "code"),
    )


class Referral(Base):
    """The practitioners' work item for a flagged consultation: exactly one per consultation (unique key)."""

    __tablename__ = "referrals"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    consultation_id = sa.Column(
        sa.String(32), sa.ForeignKey("consultations.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    status = sa.Column(sa.String(16), nullable=False, default="new")
    severity = sa.Column(sa.String(16), nullable=False)
    rules_version = sa.Column(sa.String(64), nullable=True)
    created_at = sa.Column(UTCDateTime, nullable=False)
    updated_at = sa.Column(UTCDateTime, nullable=False)
    claimed_by = sa.Column(sa.String(255), nullable=True)
    claimed_at = sa.Column(UTCDateTime, nullable=True)
    contacted_by = sa.Column(sa.String(255), nullable=True)
    contacted_at = sa.Column(UTCDateTime, nullable=True)
    closed_by = sa.Column(sa.String(255), nullable=True)
    closed_at = sa.Column(UTCDateTime, nullable=True)
    outcome_note = sa.Column(sa.Text, nullable=True)
    # the client left before the end (idle expiry or a restart): judged on the answers given so far;
    # cleared when the consultation is completed after all
    incomplete = sa.Column(sa.Boolean, nullable=False, default=False, server_default=sa.false())

    consultation = relationship("Consultation", back_populates="referral")

    __table_args__ = (
        sa.CheckConstraint(_one_of("status", REFERRAL_STATUSES), name="status"),
        sa.CheckConstraint(_one_of("severity", SEVERITIES), name="severity"),
        # practitioners' queue: open referrals, oldest or newest first
        sa.Index("ix_referrals_status_created_at", "status", "created_at"),
    )


def utc(value: Optional[datetime]) -> Optional[str]:
    """ISO 8601 for the JSON contract."""
    return value.isoformat() if value is not None else None
