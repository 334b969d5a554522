"""Rasa's SQL tracker store on the project's one database (settings.database_url), SQLite in WAL mode.

endpoints.yml:

    tracker_store:
      type: bot.store.tracker_store.DatabaseTrackerStore

Rasa builds a custom store as `Class(host=<url:>, domain=..., event_broker=..., **other keys)` and, if importing or
constructing it raises ImportError/AttributeError, silently falls back to an in-memory store (a warning only):
`rasa run` must start from the repo root (Rasa puts the working folder on sys.path) so `bot` imports.
"""
from __future__ import annotations

import logging
from typing import Any, Optional

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401  (sa.orm.session)
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from bot.store import db

logger = logging.getLogger(__name__)

# SQLTrackerStore's own ways of naming a database; here the URL comes from DATABASE_URL instead.
_IGNORED = ("dialect", "db", "username", "password", "port", "login_db", "query")


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    db.set_sqlite_pragmas(dbapi_connection)


class DatabaseTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` on DATABASE_URL (an SQLite file or postgresql://user:pw@host:port/db).

    Rasa creates its `events` table itself on start (`create_all`, checkfirst); our migrations leave it alone.
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        ignored = sorted(k for k in _IGNORED if kwargs.pop(k, None) is not None)
        if ignored:
            logger.warning(
                "tracker_store: %s ignored; the database is DATABASE_URL (or `url:` in endpoints.yml)",
                ", ".join(ignored),
            )
        url = self.engine_url(host)
        if db.is_sqlite(url):
            db.ensure_sqlite_folder(url)
            # WAL is a property of the file: switch it on before Rasa's first connection
            with db.get_engine(url).connect():
                pass
        # a URL with "://" in `host` is used as it is by SQLTrackerStore.get_db_url (dialect etc. unused)
        super().__init__(domain=domain, host=url, event_broker=event_broker, **kwargs)
        if db.is_sqlite(url):
            # Rasa's engine gets SQLAlchemy 1.4's NullPool for a file: a new connection for every read and write
            # of the tracker. Use a small pool instead, with our pragmas (WAL, busy_timeout) on each connection.
            self.engine.dispose()
            self.engine = sa.create_engine(
                url, poolclass=QueuePool, pool_size=5, max_overflow=10, hide_parameters=True,
                connect_args={"check_same_thread": False, "timeout": db.SQLITE_BUSY_TIMEOUT_MS / 1000},
            )
            event.listen(self.engine, "connect", _on_sqlite_connect)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        # a database error's text names the statement, never the values bound to it (a client's messages)
        self.engine.hide_parameters = True
        logger.info("tracker store on %s", db.url_for_display(url))

    @staticmethod
    def engine_url(host: Optional[str] = None) -> str:
        """The database URL: `url:` from endpoints.yml when it is a full URL, else settings.database_url."""
        if host and "://" in host:
            return db.database_url(host)
        if host:
            logger.warning("tracker_store: `url:` is not a full database URL (scheme://...); using DATABASE_URL")
        return db.database_url()
