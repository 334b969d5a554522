"""The one place that opens database connections and sessions (SQLite in WAL mode, or PostgreSQL)."""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, Iterator, Optional, Tuple

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session
from sqlalchemy.pool import QueuePool

from bot import settings
from bot.redact import mask_url

logger = logging.getLogger(__name__)

# How long a writer waits for another writer's lock before SQLite gives up ("database is locked").
SQLITE_BUSY_TIMEOUT_MS = 15_000

_engines: Dict[str, Engine] = {}
_engines_lock = threading.Lock()


def database_url(url: Optional[str] = None) -> str:
    """The URL to use: the one given, else settings.database_url; `postgres://` is accepted as PostgreSQL."""
    url = url or settings.get().database_url
    if url.startswith("postgres://"):  # Heroku-style; SQLAlchemy 1.4 only knows "postgresql"
        url = "postgresql://" + url[len("postgres://") :]
    return url


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


# The database holds health details: its folder is the owner's alone, and so are the files SQLite makes in it
# (the main file, its -wal and -shm, which SQLite creates with the main file's mode, and a rollback -journal).
PRIVATE_DIR_MODE = 0o700
PRIVATE_FILE_MODE = 0o600
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


def sqlite_path(url: str) -> Optional[Path]:
    """The file of an SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if (
        parsed.get_backend_name() != "sqlite"
        or not parsed.database
        or parsed.database == ":memory:"
        or parsed.database.startswith("file:")
    ):
        return None
    return Path(parsed.database).expanduser()


def make_private_dir(folder: Path, *, fix_existing: bool = True) -> None:
    """Create `folder` (and parents) as 0700; with `fix_existing`, take an existing one we own down to 0700 (var/
    made before this, or by a process without our umask)."""
    existed = folder.is_dir()
    folder.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    if fix_existing or not existed:
        _chmod_if_mine(folder, PRIVATE_DIR_MODE)


def _chmod_if_mine(path: Path, mode: int) -> None:
    """chmod a path this user owns (never a shared folder such as /tmp, or someone else's file)."""
    try:
        info = path.stat()
        if info.st_uid == os.geteuid() and (info.st_mode & 0o7777) != mode:
            os.chmod(path, mode)
    except FileNotFoundError:
        pass
    except PermissionError:  # pragma: no cover - a read-only mount: nothing we can do, and nothing to block on
        logger.warning("could not restrict the permissions of %s", path)


def ensure_sqlite_folder(url: str) -> None:
    """Create the folder of an SQLite file as 0700 (the default lives under var/, which may not exist yet), create
    the file itself as 0600 so its -wal and -shm follow, and take existing ones down to 0700 / 0600."""
    path = sqlite_path(url)
    if path is None:
        return
    # a folder we make is 0700; an existing one only if it is var/ (DATABASE_URL may name a file in a folder that
    # holds other things, such as a home folder: its mode is the operator's, the files' modes are ours)
    folder = path.parent
    make_private_dir(folder, fix_existing=_same_dir(folder, settings.VAR_DIR))
    with contextlib.suppress(FileExistsError):
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE))
    protect_sqlite_files(url)


def _same_dir(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == Path(b).resolve()
    except OSError:  # pragma: no cover
        return False


def protect_sqlite_files(url: str) -> None:
    """chmod 0600 the database file and its -wal, -shm and -journal, where they exist."""
    path = sqlite_path(url)
    if path is None:
        return
    for suffix in SQLITE_SIDE_FILES:
        _chmod_if_mine(Path(f"{path}{suffix}"), PRIVATE_FILE_MODE)


def set_sqlite_pragmas(dbapi_connection: Any) -> None:
    """WAL lets readers (staff dashboard, Rasa) run beside one writer; foreign keys are off by default in SQLite."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(
            "PRAGMA synchronous=NORMAL"
        )  # safe with WAL: a power cut can lose the last commit, never corrupt
        # deleted rows are overwritten with zeros, not left in free pages: erase and purge leave nothing to read
        cursor.execute("PRAGMA secure_delete=ON")
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
    # hide_parameters: a database error's text (logged, or shown in a traceback) names the statement, never the
    # values bound to it (a client's name, medicines, notes)
    kwargs: Dict[str, Any] = {"future": True, "hide_parameters": True}
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
        with engine.connect():  # the first connection makes -wal and -shm: check their modes once they exist
            pass
        protect_sqlite_files(url)
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
    """The URL with any password (and secret-looking query value) masked, for messages and logs."""
    return mask_url(url)


def scrub(url: Optional[str] = None) -> bool:
    """After an erase or a purge: leave no copy of the deleted rows readable on disk.

    SQLite: with secure_delete on, the deleted rows are zeroed in the database pages, but the WAL still holds the
    pages as they were before the delete; `PRAGMA wal_checkpoint(TRUNCATE)` copies the zeroed pages home and
    empties the WAL file. True when the WAL could be emptied (False: another process held a read open throughout
    the busy timeout; the next checkpoint empties it).
    PostgreSQL: a plain VACUUM (autocommit) so the dead rows' space is reused soon; the bytes stay in the data
    files until overwritten (VACUUM FULL rewrites them, under an exclusive lock: the operator's call), and in the
    server's WAL archive and backups. Never raises for a failed VACUUM (the erase itself is already committed).
    """
    url = database_url(url)
    engine = get_engine(url)
    if engine.dialect.name == "sqlite":
        if sqlite_path(url) is None:
            return True
        raw = engine.raw_connection()  # autocommit (isolation_level None): a checkpoint cannot run in a transaction
        try:
            cursor = raw.cursor()
            cursor.execute("PRAGMA secure_delete=ON")
            busy, _log, _done = cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            cursor.close()
        finally:
            raw.close()
        protect_sqlite_files(url)
        if busy:
            logger.warning(
                "the database's write-ahead log could not be emptied now (another process is reading); "
                "erased data stays in %s-wal until the next checkpoint",
                sqlite_path(url),
            )
        return not busy
    if engine.dialect.name == "postgresql":
        try:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.exec_driver_sql("VACUUM")
        except Exception as exc:  # noqa: BLE001 - best effort, see above
            logger.warning("VACUUM after erase/purge failed (%s); run VACUUM on the database", type(exc).__name__)
            return False
    return True


__all__: Tuple[str, ...] = (
    "as_utc",
    "clear_engine_cache",
    "database_url",
    "get_engine",
    "has_table",
    "is_sqlite",
    "scrub",
    "url_for_display",
    "session_scope",
    "set_sqlite_pragmas",
    "utcnow",
)
