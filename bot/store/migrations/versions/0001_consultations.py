"""consultations, answers, reasons, referrals

Revision ID: 0001_consultations
Revises:
Create Date: 2025-11-26
"""
from alembic import op
import sqlalchemy as sa

from bot.store.base import UTCDateTime

revision = "0001_consultations"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "consultations",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("conversation_id", sa.String(255), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=True),
        sa.Column("rules_version", sa.String(64), nullable=True),
        sa.Column("requested_human", sa.Boolean(), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("contact_email", sa.String(254), nullable=True),
        sa.Column("contact_phone", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("last_activity_at", UTCDateTime(), nullable=False),
        sa.Column("completed_at", UTCDateTime(), nullable=True),
        sa.Column("ended_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consultations"),
        sa.UniqueConstraint("conversation_id", "sequence", name="uq_consultations_conversation_id_sequence"),
        sa.CheckConstraint(
            "status IN ('in_progress', 'complete', 'abandoned', 'handed_off')", name=op.f("ck_consultations_status")
        ),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('clear', 'review', 'defer')", name=op.f("ck_consultations_outcome")
        ),
    )
    op.create_index("ix_consultations_created_at", "consultations", ["created_at"])
    op.create_index("ix_consultations_status_created_at", "consultations", ["status", "created_at"])
    op.create_index("ix_consultations_outcome_created_at", "consultations", ["outcome", "created_at"])
    op.create_index("ix_consultations_status_last_activity_at", "consultations", ["status", "last_activity_at"])
    op.create_index("ix_consultations_name", "consultations", ["name"])
    op.create_index("ix_consultations_contact_email", "consultations", ["contact_email"])
    op.create_index("ix_consultations_contact_phone", "consultations", ["contact_phone"])

    op.create_table(
        "answers",
        sa.Column("consultation_id", sa.String(32), nullable=False),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name="fk_answers_consultation_id_consultations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("consultation_id", "key", name="pk_answers"),
    )

    op.create_table(
        "reasons",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consultation_id", sa.String(32), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("rationale", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name="fk_reasons_consultation_id_consultations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reasons"),
    )
    op.create_index("ix_reasons_consultation_id", "reasons", ["consultation_id"])
    op.create_index("ix_reasons_code", "reasons", ["code"])

    op.create_table(
        "referrals",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("consultation_id", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=False),
        sa.Column("rules_version", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("contacted_by", sa.String(255), nullable=True),
        sa.Column("contacted_at", UTCDateTime(), nullable=True),
        sa.Column("closed_by", sa.String(255), nullable=True),
        sa.Column("closed_at", UTCDateTime(), nullable=True),
        sa.Column("outcome_note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["consultation_id"],
            ["consultations.id"],
            name="fk_referrals_consultation_id_consultations",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_referrals"),
        # exactly one referral per consultation, whatever retries or races do
        sa.UniqueConstraint("consultation_id", name="uq_referrals_consultation_id"),
        sa.CheckConstraint(
            "status IN ('new', 'claimed', 'contacted', 'closed')", name=op.f("ck_referrals_status")
        ),
        sa.CheckConstraint("severity IN ('review', 'defer')", name=op.f("ck_referrals_severity")),
    )
    op.create_index("ix_referrals_status_created_at", "referrals", ["status", "created_at"])


def downgrade() -> None:
    op.drop_table("referrals")
    op.drop_table("reasons")
    op.drop_table("answers")
    op.drop_table("consultations")
