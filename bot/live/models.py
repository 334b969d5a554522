"""The live hand-off's table: one row per conversation, the state of its live chat with a practitioner.

The messages themselves are Rasa tracker events (`events`, bot.store.tracker_events), not rows here, so the
transcript, export, erasure and retention treat them like every other message. Made by the Alembic migration
0004_live_chats; registered on the metadata through bot.store.person_requests (imported by bot.store).
"""

from __future__ import annotations

import sqlalchemy as sa

from bot.store.base import Base, UTCDateTime

STATES = ("waiting", "taken", "returned", "ended", "timed_out")
PAUSED = ("waiting", "taken", "timed_out")  # the assistant is paused; client messages are kept, not read by NLU


class LiveChatRow(Base):
    __tablename__ = "live_chats"

    conversation_id = sa.Column(sa.String(255), primary_key=True)
    # erasure and purge delete the consultation, and with it this row (as bot.store.person_requests' messages)
    consultation_id = sa.Column(sa.String(32), sa.ForeignKey("consultations.id", ondelete="CASCADE"), nullable=True)
    referral_id = sa.Column(sa.Integer, nullable=True)
    state = sa.Column(sa.String(16), nullable=False)
    requested_at = sa.Column(UTCDateTime, nullable=False)
    after_hours = sa.Column(sa.Boolean, nullable=False, default=False)
    taken_by = sa.Column(sa.Integer, nullable=True)  # staff_users.id
    taken_by_name = sa.Column(sa.String(100), nullable=True)
    taken_by_role = sa.Column(sa.String(32), nullable=True)
    taken_at = sa.Column(UTCDateTime, nullable=True)
    last_client_message_at = sa.Column(UTCDateTime, nullable=True)
    typing_until = sa.Column(UTCDateTime, nullable=True)
    resume_form = sa.Column(sa.String(64), nullable=True)  # the form that was running when the chat was asked for
    ended_at = sa.Column(UTCDateTime, nullable=True)
    updated_at = sa.Column(UTCDateTime, nullable=False)
    version = sa.Column(sa.Integer, nullable=False, default=1)  # bumped on every change: the stream's status cue

    __table_args__ = (
        sa.CheckConstraint("state IN ('waiting', 'taken', 'returned', 'ended', 'timed_out')", name="live_state"),
        sa.Index("ix_live_chats_state_requested_at", "state", "requested_at"),
    )
