"""referrals.incomplete: the referral of a consultation the client left part-way

Revision ID: 0003_referral_incomplete
Revises: 0002_staff
Create Date: 2025-12-02
"""
from alembic import op
import sqlalchemy as sa

revision = "0003_referral_incomplete"
down_revision = "0002_staff"
branch_labels = None
depends_on = None


# Plain ALTER TABLE, not batch mode: on SQLite a batch with this server default (an SQL expression) would copy the
# table and drop the old one, and with foreign keys on that drop cascades into outbox and referral_events.
# SQLite has had ADD and DROP COLUMN since 3.35.


def upgrade() -> None:
    # existing rows read false: until now no referral was marked incomplete (expire_idle marks the hand-offs a
    # client left unfinished on its next rounds)
    op.add_column("referrals", sa.Column("incomplete", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("referrals", "incomplete")
