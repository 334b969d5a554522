"""Rasa's SQL tracker store on the project's one database (settings.database_url), SQLite in WAL mode.

endpoints.yml:

    tracker_store:
      type: bot.store.tracker_store.DatabaseTrackerStore

Rasa builds a custom store as `Class(host=<url:>, domain=..., event_broker=..., **other keys)` and, if importing or
constructing it raises ImportError/AttributeError, silently falls back to an in-memory store (a warning only):
`rasa run` must start from the repo root (Rasa puts the working folder on sys.path) so `bot` imports.

Retrieval cache (`retrieve`, the latest session, once a turn): Rasa's SQLTrackerStore reads every event of the session
back and parses its JSON on every turn. This store keeps, per conversation (a bounded LRU, `tracker_cache_size:` in
endpoints.yml, default 256, 0 = off), the events it last read, and asks the database one indexed question each turn:
the sender's event count, sum and max of ids, min and max timestamps, with the rows after the last id it holds (one
statement, so one snapshot). When those figures are what the held rows plus the new rows add up to, only the new rows
are parsed (our own last save, or another Rasa process's); on any other difference (an erasure or purge from another
process deleted events, a conversation rewritten under the same id) it reads the conversation whole again, as Rasa
does. Not caught: an UPDATE of an event's data in place (nothing here does that). The tracker handed out is always
rebuilt from fresh copies of the event dicts (Rasa mutates what it retrieves); the cache holds them marshalled.
"""

from __future__ import annotations

import collections
import contextvars
import json
import logging
import marshal
import threading
from typing import Any, Awaitable, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import sqlalchemy as sa
import sqlalchemy.orm  # noqa: F401  (sa.orm.session)
from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import event
from sqlalchemy.pool import QueuePool

from bot.store import db

logger = logging.getLogger(__name__)

# SQLTrackerStore's own ways of naming a database; here the URL comes from DATABASE_URL instead.
_IGNORED = ("dialect", "db", "username", "password", "port", "login_db", "query")


DEFAULT_TRACKER_CACHE_SIZE = 256

# The sender's events in figures (count, sum of ids, max id, min and max timestamp), beside the rows after :after,
# in one statement (one snapshot of the database). Index on sender_id (ids are in it); timestamps read the rows.
_FINGERPRINT_AND_NEW_ROWS = sa.text(
    "SELECT f.n, f.id_sum, f.id_max, f.ts_min, f.ts_max, e.id, e.timestamp, e.type_name, e.data"
    " FROM (SELECT count(*) AS n, sum(id) AS id_sum, max(id) AS id_max, min(timestamp) AS ts_min,"
    " max(timestamp) AS ts_max FROM events WHERE sender_id = :sender_id) AS f"
    " LEFT JOIN events AS e ON e.sender_id = :sender_id AND e.id > :after"
    " ORDER BY e.id"
)


class TurnGuard:
    """One chat turn's say over its own save (set by bot/chat/rest.py for the request's task, read by `save`).

    Rasa writes a turn's events once, at its end, inside the conversation's lock. A turn whose actions could not reach
    the action server is void: `void()` says so there, before anything is written, so a failed turn is never stored
    (no roll-back afterwards, when the lock may already be another request's). `saved` and `before_id` (the sender's
    highest event id before the write) tell the caller which rows this turn wrote.
    """

    def __init__(self, sender_id: str, void: Callable[[], Awaitable[bool]]) -> None:
        self.sender_id = sender_id
        self.void = void
        self.consulted = False
        self.voided = False
        self.saved = False
        self.before_id: Optional[int] = None


current_turn: contextvars.ContextVar[Optional[TurnGuard]] = contextvars.ContextVar("clinic_current_turn", default=None)


class _Fingerprint(NamedTuple):
    event_count: int
    id_sum: int
    id_max: int
    ts_min: Optional[float]
    ts_max: Optional[float]


class _Cached(NamedTuple):
    fingerprint: _Fingerprint
    stamps: List[Optional[float]]  # timestamp of each held event (the latest session's, as Rasa selects them)
    session_start: Optional[float]  # latest SessionStarted timestamp among the sender's events, or None
    blob: bytes  # marshal of the held events' dicts


def _nullable_max(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return b if a is None else a if b is None else max(a, b)


def _nullable_min(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return b if a is None else a if b is None else min(a, b)


def _in_session(stamp: Optional[float], session_start: Optional[float]) -> bool:
    """Rasa's filter: `timestamp >= latest session start` (NULL never passes), or everything with no session start."""
    return session_start is None or (stamp is not None and stamp >= session_start)


def _on_sqlite_connect(dbapi_connection: Any, _record: Any) -> None:
    db.set_sqlite_pragmas(dbapi_connection)


class DatabaseTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` on DATABASE_URL (an SQLite file or postgresql://user:pw@host:port/db).

    Rasa creates its `events` table itself on start (`create_all`, checkfirst); our migrations leave it alone.
    """

    engine: Any  # SQLTrackerStore's SQLAlchemy engine (Rasa has no type information), replaced for SQLite below

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[str] = None,
        event_broker: Optional[EventBroker] = None,
        **kwargs: Any,
    ) -> None:
        cache_size = kwargs.pop("tracker_cache_size", None)
        self.tracker_cache_size = DEFAULT_TRACKER_CACHE_SIZE if cache_size is None else max(0, int(cache_size))
        self._cache: collections.OrderedDict[str, _Cached] = collections.OrderedDict()
        self._cache_lock = threading.Lock()
        self.cache_stats = {"hit": 0, "delta": 0, "miss": 0}
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
                url,
                poolclass=QueuePool,
                pool_size=5,
                max_overflow=10,
                hide_parameters=True,
                connect_args={"check_same_thread": False, "timeout": db.SQLITE_BUSY_TIMEOUT_MS / 1000},
            )
            event.listen(self.engine, "connect", _on_sqlite_connect)
            self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)
        else:
            # PostgreSQL: Rasa's engine does not test a pooled connection before use, so after a database restart
            # each one fails once (a chat turn answered 500 per stale connection); test each first, as
            # bot/store/db.py does (the pool's own setting: Rasa's pool sizes stay)
            self.engine.pool._pre_ping = True
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

    # ------------------------------------------------------------------------------------------------ saving

    async def save(self, tracker: DialogueStateTracker) -> None:
        """Rasa's save, unless the chat turn being run is void (TurnGuard): then nothing of it is written."""
        turn = current_turn.get()
        if turn is None or turn.sender_id != tracker.sender_id:
            await super().save(tracker)
            return
        turn.consulted = True
        if await turn.void():
            turn.voided = True
            logger.warning(
                "chat turn not stored (the action server went away during it) conversation_id=%r", tracker.sender_id
            )
            return
        with self.session_scope() as session:
            turn.before_id = int(
                session.execute(
                    sa.select(sa.func.coalesce(sa.func.max(self.SQLEvent.id), 0)).where(
                        self.SQLEvent.sender_id == tracker.sender_id
                    )
                ).scalar_one()
            )
        await super().save(tracker)
        turn.saved = True

    # ------------------------------------------------------------------------------------------ retrieval cache

    async def retrieve(self, sender_id: str) -> Optional[DialogueStateTracker]:
        """The latest session's tracker, as SQLTrackerStore.retrieve gives it, from the cache when still current."""
        if not self.tracker_cache_size:
            return await super().retrieve(sender_id)
        events = self._latest_session_events(sender_id)
        if self.domain and events:
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        return None

    def forget(self, sender_id: Optional[str] = None) -> None:
        """Drop one conversation (or all) from the cache; the next retrieval reads the database."""
        with self._cache_lock:
            if sender_id is None:
                self._cache.clear()
            else:
                self._cache.pop(sender_id, None)

    def _latest_session_events(self, sender_id: str) -> List[Dict[str, Any]]:
        """Fresh dicts of the latest session's events (a new list on every call: the caller may mutate it)."""
        with self._cache_lock:
            cached = self._cache.get(sender_id)
        if cached is not None:
            fingerprint, rows = self._query(sender_id, after=cached.fingerprint.id_max)
            if fingerprint.event_count == 0:
                self.forget(sender_id)
                return []
            if not rows and fingerprint == cached.fingerprint:
                self.cache_stats["hit"] += 1
                self._touch(sender_id)
                return marshal.loads(cached.blob)
            if rows and fingerprint == self._extended(cached.fingerprint, rows):
                self.cache_stats["delta"] += 1
                return self._store(
                    sender_id, fingerprint, marshal.loads(cached.blob), list(cached.stamps), cached.session_start, rows
                )
        # no entry, or the database differs from the held rows plus the new ones: read it all (one snapshot)
        self.cache_stats["miss"] += 1
        fingerprint, rows = self._query(sender_id, after=-1)
        if fingerprint.event_count == 0:
            self.forget(sender_id)
            return []
        return self._store(sender_id, fingerprint, [], [], None, rows)

    def _query(self, sender_id: str, after: int) -> Tuple[_Fingerprint, List[Any]]:
        with self.engine.connect() as connection:
            result = connection.execute(_FINGERPRINT_AND_NEW_ROWS, {"sender_id": sender_id, "after": after}).all()
        first = result[0]  # the figures' row always exists (count 0 for an unknown sender)
        fingerprint = _Fingerprint(
            int(first[0] or 0),
            int(first[1] or 0),
            int(first[2] or 0),
            None if first[3] is None else float(first[3]),
            None if first[4] is None else float(first[4]),
        )
        rows = [row[5:] for row in result if row[5] is not None]
        return fingerprint, rows

    @staticmethod
    def _extended(fingerprint: _Fingerprint, rows: Sequence[Any]) -> _Fingerprint:
        """The figures the database should show if `rows` were only appended after what the cache holds."""
        ts_min, ts_max = fingerprint.ts_min, fingerprint.ts_max
        for _id, stamp, _type, _data in rows:
            stamp = None if stamp is None else float(stamp)
            ts_min, ts_max = _nullable_min(ts_min, stamp), _nullable_max(ts_max, stamp)
        return _Fingerprint(
            fingerprint.event_count + len(rows),
            fingerprint.id_sum + sum(int(r[0]) for r in rows),
            int(rows[-1][0]),
            ts_min,
            ts_max,
        )

    def _store(
        self,
        sender_id: str,
        fingerprint: _Fingerprint,
        events: List[Dict[str, Any]],
        stamps: List[Optional[float]],
        session_start: Optional[float],
        rows: Sequence[Any],
    ) -> List[Dict[str, Any]]:
        """Append `rows` to the held events, keep the latest session's as Rasa's query would, cache, return."""
        for _id, stamp, type_name, _data in rows:
            if type_name == SessionStarted.type_name and stamp is not None:
                session_start = _nullable_max(session_start, float(stamp))
        if session_start is not None and not all(_in_session(stamp, session_start) for stamp in stamps):
            kept = [(e, t) for e, t in zip(events, stamps, strict=True) if _in_session(t, session_start)]
            events, stamps = [e for e, _ in kept], [t for _, t in kept]
        for _id, stamp, _type, data in rows:
            stamp = None if stamp is None else float(stamp)
            if _in_session(stamp, session_start):
                events.append(json.loads(data))
                stamps.append(stamp)
        entry = _Cached(fingerprint, stamps, session_start, marshal.dumps(events))
        with self._cache_lock:
            self._cache[sender_id] = entry
            self._cache.move_to_end(sender_id)
            while len(self._cache) > self.tracker_cache_size:
                self._cache.popitem(last=False)
        return events

    def _touch(self, sender_id: str) -> None:
        with self._cache_lock:
            if sender_id in self._cache:
                self._cache.move_to_end(sender_id)
