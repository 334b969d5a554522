"""The schema comes from the Alembic migrations, matches the models, and SQLite runs in WAL mode."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from bot.store import db, migrate
from bot.store.base import metadata
from bot.store.models import Consultation

TABLES = {"consultations", "answers", "reasons", "referrals"}


def test_upgrade_creates_the_schema_on_an_empty_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'sub' / 'fresh.db'}"  # the folder does not exist yet

    migrate.upgrade(url)

    inspector = sa.inspect(db.get_engine(url))
    assert set(inspector.get_table_names()) >= TABLES
    assert "events" not in inspector.get_table_names()  # Rasa's tracker store creates its own table
    assert migrate.current_revision(url) == migrate.head_revision()
    indexes = {ix["name"] for ix in inspector.get_indexes("consultations")}
    assert {
        "ix_consultations_created_at",
        "ix_consultations_status_created_at",
        "ix_consultations_name",
        "ix_consultations_contact_email",
        "ix_consultations_contact_phone",
    } <= indexes
    referral_unique = inspector.get_unique_constraints("referrals")
    assert [u["column_names"] for u in referral_unique] == [["consultation_id"]]


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    migrate.upgrade(database_url)
    migrate.upgrade(database_url)

    assert migrate.current_revision(database_url) == migrate.head_revision()


def test_migrations_and_models_agree(database_url: str) -> None:
    with db.get_engine(database_url).connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diff = compare_metadata(context, metadata)

    assert diff == []


def test_sqlite_runs_in_wal_mode_with_foreign_keys(database_url: str) -> None:
    with db.get_engine(database_url).connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == db.SQLITE_BUSY_TIMEOUT_MS


def test_check_constraints_refuse_unknown_status(database_url: str, now) -> None:
    with pytest.raises(sa.exc.IntegrityError), db.session_scope() as session:
        session.add(
            Consultation(
                id="x" * 32,
                conversation_id="c",
                sequence=1,
                status="finished",
                requested_human=False,
                created_at=now,
                updated_at=now,
                last_activity_at=now,
            )
        )


def test_downgrade_removes_our_tables_only(database_url: str) -> None:
    from alembic import command

    command.downgrade(migrate.alembic_config(database_url), "base")

    assert not TABLES & set(sa.inspect(db.get_engine(database_url)).get_table_names())
