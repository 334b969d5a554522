"""Run the Alembic migrations (the only way the schema is made): `python -m bot db upgrade`."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

from alembic import command
from alembic.config import Config

from bot.store import db

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: Optional[str] = None) -> Config:
    """Alembic's config built in code, so the command works from any folder; alembic.ini at the repo root is
    only for developers running `alembic revision --autogenerate`."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # '%' is interpolation syntax in Alembic's config parser: escape it (passwords may contain it)
    config.set_main_option("sqlalchemy.url", db.database_url(url).replace("%", "%%"))
    return config


def upgrade(url: Optional[str] = None, revision: str = "head") -> None:
    """Bring the database up to `revision`; a no-op when it is already there, so it is safe on every start."""
    command.upgrade(alembic_config(url), revision)


def current_revision(url: Optional[str] = None) -> Optional[str]:
    from alembic.runtime.migration import MigrationContext

    with db.get_engine(url).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest migration's revision id (what `upgrade` brings a database to)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()
    assert head is not None, f"no migrations under {MIGRATIONS_DIR}"
    return head
