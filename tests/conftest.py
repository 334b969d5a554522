"""Fixtures shared by every test folder: a migrated temporary database (`database_url`)."""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import sys
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `pytest` run as a script does not put the repo root on the path
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")  # Rasa's tracker store uses pre-2.0 APIs


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An SQLite file migrated once per test session (Alembic, as in production); tests get copies of it."""
    from bot.store import db, migrate

    path = tmp_path_factory.mktemp("db-template") / "template.db"
    url = sqlite_url(path)
    migrate.upgrade(url)
    db.clear_engine_cache()
    with contextlib.closing(sqlite3.connect(path)) as connection:  # everything into the main file: a copy is whole
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path


@pytest.fixture
def database_url(migrated_sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A fresh, migrated SQLite file for this test; DATABASE_URL points at it (engines re-made for it)."""
    from bot.store import db

    path = tmp_path / "clinic.db"
    shutil.copyfile(migrated_sqlite_template, path)
    url = sqlite_url(path)
    monkeypatch.setenv("DATABASE_URL", url)
    db.clear_engine_cache()
    yield url
    db.clear_engine_cache()
