"""bot/store/lock_store.py on the cluster's PostgreSQL: two lock stores (as two Rasa replicas) take turns on one
conversation, not on two; a nested lock of the same turn enters at once; a dead holder's lock is freed; a waiter
gives up with Rasa's LockError."""

from __future__ import annotations

import asyncio
from typing import Any, List

import pytest
import sqlalchemy as sa
from rasa.core.lock_store import LockError

from bot.store.lock_store import PostgresLockStore, lock_key


@pytest.fixture
def stores(cluster: Any) -> Any:
    made = [PostgresLockStore(url=cluster.database_url), PostgresLockStore(url=cluster.database_url)]
    yield made
    for store in made:
        store.engine.dispose()


async def _turn(store: PostgresLockStore, conversation: str, name: str, log: List[str], hold: float) -> None:
    async with store.lock(conversation):
        log.append(f"{name} in")
        await asyncio.sleep(hold)
        log.append(f"{name} out")


def test_two_replicas_take_turns_on_one_conversation(stores: Any) -> None:
    log: List[str] = []

    async def both() -> None:
        first = asyncio.create_task(_turn(stores[0], "conv-a", "first", log, 0.5))
        await asyncio.sleep(0.1)  # the first holds the lock
        await asyncio.gather(first, _turn(stores[1], "conv-a", "second", log, 0.0))

    asyncio.run(both())
    assert log == ["first in", "first out", "second in", "second out"]
    assert stores[1].stats["waited"] == 1


def test_two_conversations_do_not_wait_for_each_other(stores: Any) -> None:
    log: List[str] = []

    async def both() -> None:
        first = asyncio.create_task(_turn(stores[0], "conv-b", "b", log, 0.5))
        await asyncio.sleep(0.1)
        await asyncio.gather(first, _turn(stores[1], "conv-c", "c", log, 0.0))

    asyncio.run(both())
    assert log == ["b in", "c in", "c out", "b out"]


def test_a_nested_lock_of_the_same_turn_enters_at_once(stores: Any) -> None:
    async def nested() -> bool:
        async with stores[0].lock("conv-d"):
            async with stores[0].lock("conv-d"):
                inside = stores[1].held_elsewhere("conv-d")
            return inside and stores[1].held_elsewhere("conv-d")

    assert asyncio.run(nested()) is True
    assert stores[1].held_elsewhere("conv-d") is False  # released after the outer block


def test_a_holder_whose_connection_dies_frees_the_conversation(stores: Any, cluster: Any) -> None:
    """A Rasa replica killed mid-turn: PostgreSQL ends its session, and with it the lock (no 60 s to wait out)."""
    holder = stores[0]._try(lock_key("conv-e"))
    assert holder is not None and stores[1].held_elsewhere("conv-e")
    pid = holder.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
    engine = sa.create_engine(cluster.database_url, future=True)
    with engine.connect() as connection:
        assert connection.execute(sa.text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    engine.dispose()
    for _ in range(50):
        if not stores[1].held_elsewhere("conv-e"):
            break
        asyncio.run(asyncio.sleep(0.1))
    assert stores[1].held_elsewhere("conv-e") is False
    stores[0]._release(holder, lock_key("conv-e"), "conv-e")  # the broken connection: logged, not raised


def test_a_waiter_gives_up_with_rasas_lock_error(stores: Any) -> None:
    stores[1].wait_seconds = 0.3

    async def blocked() -> None:
        async with stores[0].lock("conv-f"):
            with pytest.raises(LockError):
                async with stores[1].lock("conv-f"):
                    pass

    asyncio.run(blocked())
    assert stores[1].stats["timed_out"] == 1


def test_the_store_refuses_sqlite() -> None:
    with pytest.raises(LockError, match="PostgreSQL"):
        PostgresLockStore(url="sqlite:///var/nothing.db")
