"""Issue 9, finding 6 on PostgreSQL: erase and purge end with a VACUUM (scrub), and the engines hide parameters."""

from __future__ import annotations

from datetime import datetime, timezone

import sqlalchemy as sa

from bot.store import db
from tests.security.test_files_private import NAME, run_bot, store_a_client
from tests.store.conftest import postgres_server, postgres_url  # noqa: F401  (fixtures)


def last_vacuum(url: str, table: str):
    with db.get_engine(url).connect() as connection:
        return connection.execute(
            sa.text("SELECT last_vacuum FROM pg_stat_user_tables WHERE relname = :t"), {"t": table}
        ).scalar()


def test_erase_on_postgresql_vacuums(postgres_url: str) -> None:
    store_a_client("chat-erase-pg", when=datetime.now(timezone.utc))
    assert last_vacuum(postgres_url, "consultations") is None

    done = run_bot(postgres_url, "data", "erase", "chat-erase-pg", "--yes")

    assert "erased 1 consultation(s)" in done.stdout and "warning" not in done.stderr
    assert last_vacuum(postgres_url, "consultations") is not None
    with db.get_engine(postgres_url).connect() as connection:
        left = connection.execute(sa.text("SELECT count(*) FROM consultations WHERE name = :n"), {"n": NAME})
        assert left.scalar() == 0


def test_scrub_on_postgresql_reports_success(postgres_url: str) -> None:
    assert db.scrub(postgres_url) is True


def test_postgresql_engines_hide_parameters(postgres_url: str) -> None:
    from rasa.shared.core.domain import Domain

    from bot.store.tracker_store import DatabaseTrackerStore

    assert db.get_engine(postgres_url).hide_parameters is True
    assert DatabaseTrackerStore(domain=Domain.empty()).engine.hide_parameters is True  # Rasa's own engine
