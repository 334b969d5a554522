"""Alembic environment: migrates the database of settings.database_url (or the URL the caller put in the config)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

# every module that defines tables, imported so that they register on the metadata (for autogenerate)
import bot.store.audit  # noqa: F401
import bot.store.models  # noqa: F401
import bot.store.outbox  # noqa: F401
import bot.store.person_requests  # noqa: F401
import bot.store.referrals  # noqa: F401
import bot.store.staff  # noqa: F401
from bot.store import db
from bot.store.base import metadata

config = context.config
if config.config_file_name:  # the developer's `alembic` command; the app configures its own logging
    from logging.config import fileConfig

    fileConfig(config.config_file_name, disable_existing_loggers=False)

# Several instances may run `python -m bot db upgrade` at start-up at once; on PostgreSQL they queue on this lock
# (SQLite's BEGIN IMMEDIATE already serialises them).
MIGRATION_LOCK_ID = 720_301


def _url() -> str:
    return db.database_url(config.get_main_option("sqlalchemy.url") or None)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(),
        target_metadata=metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = db.get_engine(_url())
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=True,  # SQLite cannot ALTER most things: later migrations copy-and-move
            compare_type=True,
            transaction_per_migration=False,
        )
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                connection.execute(sa.text("SELECT pg_advisory_xact_lock(:id)"), {"id": MIGRATION_LOCK_ID})
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
