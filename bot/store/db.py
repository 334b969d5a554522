"""The one place that opens database connections and sessions (SQLite in WAL mode, or PostgreSQL)."""
from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy.pool import QueuePool
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session

from bot import settings

logger = logging.getLogger(__name__)

# How long a writer waits for another writer's lock before SQLite gives up ("database is locked").
SQLITE_BUSY_TIMEOUT_MS = 15_000

_engines: Dict[str, Engine] = {}
_engines_lock = threading.Lock()


def database_url(url: Optional[str] = None) -> str:
    """The URL to use: the one given, else settings.database_url; `postgres://` is accepted as PostgreSQL."""
    url = url or settings.get().database_url
    if url.startswith("postgres://"):  # Heroku-style; SQLAlchemy 1.4 only knows "postgresql"
        url = "postgresql://" + url[len("postgres://"):]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of an SQLite file (the default lives under var/, which may not exist yet)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def set_sqlite_pragmas(dbapi_connection: Any) -> None:
    """WAL lets readers (staff dashboard, Rasa) run beside one writer; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL: a power cut can lose the last commit, never corrupt
    finally:
        cursor.close()


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite starts transactions lazily and never for SELECT, so a read-then-write is not one transaction and
    # SAVEPOINT is unreliable. Take over BEGIN (SQLAlchemy's documented recipe): writers take the write lock up front
    # with BEGIN IMMEDIATE, so two writers queue (busy_timeout) instead of one failing mid-transaction.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        set_sqlite_pragmas(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        connection.exec_driver_sql(f"BEGIN {mode}")


def get_engine(url: Optional[str] = None) -> Engine:
    """The engine for `url` (default: settings.database_url), made once per URL and process."""
    url = database_url(url)
    with _engines_lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _make_engine(url)
            _engines[url] = engine
        return engine


def _make_engine(url: str) -> Engine:
    kwargs: Dict[str, Any] = {"future": True}
    if is_sqlite(url):
        ensure_sqlite_folder(url)
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        # SQLAlchemy 1.4 gives file databases a NullPool: a new connection (and its pragmas) for every session,
        # which was a quarter of the action server's time per turn. Keep a few open instead.
        kwargs["poolclass"] = QueuePool
        kwargs["pool_size"] = 5
        kwargs["max_overflow"] = 10
        engine = sa.create_engine(url, **kwargs)
        _configure_sqlite(engine)
    else:
        kwargs["pool_pre_ping"] = True  # survive a database restart without a failed request
        engine = sa.create_engine(url, **kwargs)
    return engine


def clear_engine_cache() -> None:
    """Dispose of every cached engine (tests switch DATABASE_URL between databases)."""
    with _engines_lock:
        engines = list(_engines.values())
        _engines.clear()
    for engine in engines:
        engine.dispose()


@contextlib.contextmanager
def session_scope(url: Optional[str] = None, *, write: bool = True) -> Iterator[Session]:
    """A session for one unit of work: commit on success, roll back on error, always close.

    `write=False` is for reads: on SQLite it starts a deferred transaction that does not block writers.
    """
    engine = get_engine(url)
    if not write and engine.dialect.name == "sqlite":
        engine = engine.execution_options(sqlite_begin="DEFERRED")
    session = Session(engine, future=True, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(now: Optional[datetime]) -> datetime:
    """`now` as an aware UTC datetime (default: the current time); a naive datetime is refused, not guessed."""
    if now is None:
        return utcnow()
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware (UTC), e.g. datetime.now(timezone.utc)")
    return now.astimezone(timezone.utc)


def has_table(session: Session, name: str) -> bool:
    return sa.inspect(session.connection()).has_table(name)


def url_for_display(url: str) -> str:
    """The URL with any password masked, for messages."""
    return make_url(url).render_as_string(hide_password=True)


__all__: Tuple[str, ...] = (
    "as_utc",
    "clear_engine_cache",
    "database_url",
    "get_engine",
    "has_table",
    "is_sqlite",
    "session_scope",
    "set_sqlite_pragmas",
    "utcnow",
)
