"""Run inside the stack's environment (its DATABASE_URL): expire idle consultations, then print every consultation
of the given conversations as the contract JSON (`bot.store.show`, what `python -m bot consultation show ID --json`
prints) with its number of referral rows. One process for many conversations: a CLI call each costs seconds.

    echo '{"expire": true, "conversations": ["sim-1-ab"]}' | python -m tests.simulator.store_probe
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, Dict

MARKER = "STORE-PROBE-JSON:"


def expire() -> str:
    """Abandon every in-progress consultation now, as `consultation expire` does once they have been idle.

    `bot consultation expire --idle-minutes 0` is refused (the CLI wants a positive number, and 0 would fall back to
    ABANDON_AFTER_MINUTES) and `expire_idle(0)` raises, so the store function is called with a clock 5 minutes on."""
    from bot.store import consultations

    try:
        count = consultations.expire_idle(1, now=datetime.now(timezone.utc) + timedelta(minutes=5))
        return f"expire_idle(1, now=+5 min): {count}"
    except TypeError:  # a signature without `now`
        count = consultations.expire_idle(0)
        return f"expire_idle(0): {count}"


def probe(request: Dict[str, Any]) -> Dict[str, Any]:
    import sqlalchemy as sa

    from bot.store import consultations
    from bot.store.db import session_scope
    from bot.store.models import Consultation, Referral

    expired = None
    if request.get("expire"):
        try:
            expired = expire()
        except Exception as error:  # reported; the consultations are still read
            expired = f"expiry failed: {type(error).__name__}: {str(error)[:300]}"
    out: Dict[str, Any] = {}
    with session_scope(write=False) as session:
        for conversation in request.get("conversations") or []:
            rows = (
                session.execute(
                    sa.select(Consultation.id)
                    .where(Consultation.conversation_id == conversation)
                    .order_by(Consultation.sequence)
                )
                .scalars()
                .all()
            )
            items = []
            for consultation_id in rows:
                referrals = session.execute(
                    sa.select(sa.func.count(Referral.id)).where(Referral.consultation_id == consultation_id)
                ).scalar_one()
                items.append({"id": consultation_id, "referrals": int(referrals)})
            out[conversation] = items
    for items in out.values():
        for item in items:
            item["show"] = consultations.show(item["id"])
    return {"expired": expired, "consultations": out}


def main() -> int:
    request = json.loads(sys.stdin.read() or "{}")
    print(MARKER + json.dumps(probe(request), ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
