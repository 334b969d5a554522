"""live_chats: a practitioner joining the client's chat live (bot/live/)

Revision ID: 0004_live_chats
Revises: 0003_referral_incomplete
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

from bot.store.base import UTCDateTime

revision = "0004_live_chats"
down_revision = "0003_referral_incomplete"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "live_chats",
        sa.Column("conversation_id", sa.String(255), primary_key=True),
        sa.Column("consultation_id", sa.String(32), nullable=True),
        sa.Column("referral_id", sa.Integer, nullable=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("after_hours", sa.Boolean, nullable=False),
        sa.Column("taken_by", sa.Integer, nullable=True),
        sa.Column("taken_by_name", sa.String(100), nullable=True),
        sa.Column("taken_by_role", sa.String(32), nullable=True),
        sa.Column("taken_at", UTCDateTime(), nullable=True),
        sa.Column("last_client_message_at", UTCDateTime(), nullable=True),
        sa.Column("typing_until", UTCDateTime(), nullable=True),
        sa.Column("resume_form", sa.String(64), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.ForeignKeyConstraint(["consultation_id"], ["consultations.id"],
                                name="fk_live_chats_consultation_id_consultations", ondelete="CASCADE"),
        sa.CheckConstraint("state IN ('waiting', 'taken', 'returned', 'ended', 'timed_out')", name="live_state"),
    )
    op.create_index("ix_live_chats_state_requested_at", "live_chats", ["state", "requested_at"])


def downgrade() -> None:
    op.drop_index("ix_live_chats_state_requested_at", table_name="live_chats")
    op.drop_table("live_chats")
