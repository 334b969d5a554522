"""A Rasa lock store that holds across Rasa replicas: a PostgreSQL advisory lock per conversation, for the whole turn.

endpoints.yml (the cluster writes it: bot/cluster.py):

    lock_store:
      type: bot.store.lock_store.PostgresLockStore

Why not Rasa's own: `InMemoryLockStore` is per process, so two replicas take two turns of one conversation at once;
`RedisLockStore` keeps Rasa's ticket queue as one JSON value that each replica reads, changes and writes back with no
atomicity (GET, then SET), so two replicas can both be issued the same ticket and both "hold" the lock (rasa#9213;
the atomic ConcurrentRedisLockStore is Rasa Pro only). Either way the two turns' events interleave in the tracker
store and a user event can be lost or doubled (SQLTrackerStore.save appends after what it read).

Here `lock(conversation_id)` (the only method Rasa calls: rasa/core/agent.py `handle_message`,
rasa/core/processor.py `handle_reminder`, rasa/server.py's tracker endpoints, and bot/chat/rest.py) takes
`pg_try_advisory_lock(key)` on a connection of its own, retrying every few tens of milliseconds without blocking
the event loop, and keeps that connection, so the lock is held until the turn's `async with` ends (actions run,
tracker saved), then `pg_advisory_unlock`. The key is 64 bits of BLAKE2b of the conversation id (a collision only
makes two conversations take turns). PostgreSQL drops a session's advisory locks when its connection ends, so a
Rasa replica that dies mid-turn frees its conversations at once (no 60 s ticket to wait out); a database restart
frees them too (the turn in flight then fails on the database anyway).

A waiter gives up after TICKET_LOCK_LIFETIME seconds (Rasa's setting, 60 s by default) with Rasa's LockError.
Unlike Rasa's ticket lock, a turn that runs longer than that keeps its lock: two turns of one conversation never
overlap. Rasa's `ticket` interface (issue_ticket, get_lock...) is not used by Rasa 3.6 outside `lock()`; it is
refused here rather than half-implemented.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator, Dict, Optional

import sqlalchemy as sa
from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

from bot.store import db

logger = logging.getLogger(__name__)

POLL_START_SECONDS = 0.01  # first retry; doubles up to POLL_CAP_SECONDS
POLL_CAP_SECONDS = 0.1


def lock_key(conversation_id: str) -> int:
    """The advisory lock key of a conversation: a signed 64-bit integer (PostgreSQL's bigint)."""
    digest = hashlib.blake2b(conversation_id.encode("utf-8"), digest_size=8, person=b"clinic-lock").digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLockStore(LockStore):
    """Rasa's LockStore interface on PostgreSQL advisory locks (DATABASE_URL, or `url:` in endpoints.yml)."""

    reentrant = True  # bot/chat/rest.py may hold one turn's lock around its own look-ups and Rasa's turn

    def __init__(self, endpoint_config: Any = None, url: Optional[str] = None, **_: Any) -> None:
        configured = getattr(endpoint_config, "url", None) if endpoint_config is not None else None
        kwargs = getattr(endpoint_config, "kwargs", None) or {}
        self.url = db.database_url(url or configured or None)
        if db.is_sqlite(self.url):
            raise LockError(
                "PostgresLockStore needs a PostgreSQL DATABASE_URL (SQLite runs one Rasa server: leave "
                "lock_store out of endpoints.yml)"
            )
        self.wait_seconds = float(kwargs.get("wait_seconds") or LOCK_LIFETIME)
        # One connection per turn holding a lock (waiters borrow one only for each try).
        self.engine = sa.create_engine(
            self.url,
            future=True,
            pool_size=10,
            max_overflow=50,
            pool_pre_ping=True,
            isolation_level="AUTOCOMMIT",
            hide_parameters=True,
        )
        self.stats = {"acquired": 0, "waited": 0, "timed_out": 0}
        # The conversations whose lock this task (a request, and what it awaits) holds through this store: a nested
        # lock() of the same conversation inside a held one enters at once instead of waiting for itself. Each
        # asyncio task gets its own copy of the context, so another request never shares it.
        self._held: contextvars.ContextVar[Dict[str, int]] = contextvars.ContextVar(f"clinic_locks_{id(self)}")
        super().__init__()
        with self.engine.connect() as connection:  # fail at start, not at the first message, when unreachable
            connection.execute(sa.text("SELECT 1"))
        logger.info(
            "lock store: PostgreSQL advisory locks on %s (held for the whole turn; waiters give up after %.0f s)",
            db.url_for_display(self.url),
            self.wait_seconds,
        )

    # ------------------------------------------------------------------------------------------------ the lock

    def _try(self, key: int) -> Optional[Any]:
        """A connection holding the advisory lock `key`, or None when another session holds it."""
        connection = self.engine.connect()
        try:
            got = connection.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar_one()
        except Exception:
            connection.invalidate()
            connection.close()
            raise
        if got:
            return connection
        connection.close()
        return None

    def _release(self, connection: Any, key: int, conversation_id: str) -> None:
        try:
            connection.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        except Exception as exc:  # the connection broke (database restarted): its locks went with it
            logger.warning(
                "lock store: could not unlock (%s); the server freed it with the connection conversation_id=%r",
                type(exc).__name__,
                conversation_id,
            )
            connection.invalidate()
        finally:
            connection.close()

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[TicketLock, None]:
        """Hold the conversation's advisory lock for the `async with` body (Rasa's signature; `lock_lifetime` and
        `wait_time_in_seconds` are Rasa's ticket settings: the wait here is `wait_seconds`, the hold unbounded)."""
        held = self._held.get(None)
        if held is None:
            held = {}
            self._held.set(held)
        if held.get(conversation_id):
            held[conversation_id] += 1
            try:
                yield TicketLock(conversation_id)
            finally:
                held[conversation_id] -= 1
            return
        key = lock_key(conversation_id)
        deadline = time.monotonic() + self.wait_seconds
        delay = POLL_START_SECONDS
        waited = False
        while True:
            try:
                connection = self._try(key)
            except Exception as exc:
                raise LockError(f"Could not reach the lock store's database: {type(exc).__name__}") from exc
            if connection is not None:
                break
            if time.monotonic() >= deadline:
                self.stats["timed_out"] += 1
                logger.warning(
                    "lock store: gave up waiting %.0f s for a turn of this conversation conversation_id=%r",
                    self.wait_seconds,
                    conversation_id,
                )
                raise LockError(f"Could not acquire lock for conversation_id '{conversation_id}'.")
            waited = True
            await asyncio.sleep(delay)
            delay = min(POLL_CAP_SECONDS, delay * 2)
        self.stats["acquired"] += 1
        if waited:
            self.stats["waited"] += 1
        held[conversation_id] = 1
        try:
            yield TicketLock(conversation_id)
        finally:
            held.pop(conversation_id, None)
            self._release(connection, key, conversation_id)

    def held_elsewhere(self, conversation_id: str) -> bool:
        """Whether some session (another turn, another replica) holds the conversation's lock now (for tests)."""
        connection = self._try(lock_key(conversation_id))
        if connection is None:
            return True
        self._release(connection, lock_key(conversation_id), conversation_id)
        return False

    # ------------------------------------------------------------------- Rasa's ticket interface: not used here

    def _no_tickets(self, *_: Any, **__: Any) -> Any:
        raise NotImplementedError("PostgresLockStore has no tickets: use `async with lock_store.lock(id)`")

    get_lock = delete_lock = save_lock = issue_ticket = update_lock = get_or_create_lock = _no_tickets
    is_someone_waiting = finish_serving = cleanup = _no_tickets
