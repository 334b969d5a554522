"""Finding consultations for reception: search by name, email, phone or id; filter by date, status, outcome.

Every query is shaped to use an index at 100,000 consultations (bench/dashboard_bench.py measures them): newest first
rides `created_at` (or `status`/`outcome` + `created_at`), an email or phone is a prefix range on its own index, an
id is a key lookup. A name is matched anywhere in the name, ignoring case: one pass over the name index.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Dict, Iterator, List, Optional, Tuple

import sqlalchemy as sa

from bot.screening.answers import OUTCOMES, STATUSES
from bot.store.db import session_scope
from bot.store.models import Consultation, Referral

MAX_QUERY = 200
SCAN_ABOVE = 1000  # matches above which a name search reads rows in date order instead of through the name index
_HEX_ID = re.compile(r"^[0-9a-f]{6,32}$")
_PHONE = re.compile(r"^\+?[\d\s().-]{4,30}$")


@dataclass(frozen=True)
class Filters:
    """What reception asked for; `since`/`until` are aware datetimes (the day's bounds in the clinic's zone)."""

    q: str = ""
    status: Optional[str] = None
    outcome: Optional[str] = None
    since: Optional[datetime] = None
    until: Optional[datetime] = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "q", (self.q or "").strip()[:MAX_QUERY])
        if self.status not in STATUSES:
            object.__setattr__(self, "status", None)
        if self.outcome not in OUTCOMES:
            object.__setattr__(self, "outcome", None)

    def describe(self) -> str:
        """For the audit log: which filters were used, without the search text (it may be a client's name)."""
        parts = []
        if self.q:
            parts.append("search")
        for name in ("status", "outcome"):
            if getattr(self, name):
                parts.append(f"{name}={getattr(self, name)}")
        if self.since:
            parts.append(f"since={self.since.date().isoformat()}")
        if self.until:
            parts.append(f"until={self.until.date().isoformat()}")
        return " ".join(parts) or "all"


@dataclass(frozen=True)
class Row:
    id: str
    conversation_id: str
    created_at: datetime
    name: Optional[str]
    contact_email: Optional[str]
    contact_phone: Optional[str]
    status: str
    outcome: Optional[str]
    requested_human: bool
    referral_id: Optional[int]
    referral_status: Optional[str]

    def as_dict(self) -> Dict[str, Any]:
        return {
            "id": self.id,
            "conversation_id": self.conversation_id,
            "created_at": self.created_at.isoformat(),
            "name": self.name,
            "contact_email": self.contact_email,
            "contact_phone": self.contact_phone,
            "status": self.status,
            "outcome": self.outcome,
            "requested_human": self.requested_human,
            "referral_id": self.referral_id,
            "referral_status": self.referral_status,
        }


def _prefix(column: Any, value: str) -> Any:
    """column starts with value, as a range the column's index can serve."""
    return sa.and_(column >= value, column < value + "\U0010ffff")


def _name_contains(text: str, sqlite: bool, scan: bool = False) -> Any:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if not sqlite:
        return Consultation.name.ilike(pattern, escape="\\")
    if scan:  # many matches: reading rows newest first finds a page of them after a few hundred rows
        return Consultation.name.like(pattern, escape="\\")
    # SQLite's LIKE ignores ASCII case already. Matching inside the name index (name + rowid, a covering scan) and
    # then fetching those rows costs a few ms at 100,000 rows; filtering rows in date order would read every row.
    rowid = sa.literal_column("rowid")
    matching = sa.select(rowid).select_from(Consultation.__table__).where(Consultation.name.like(pattern, escape="\\"))
    return sa.literal_column("consultations.rowid").in_(matching)


def _search(q: str, sqlite: bool, scan: bool = False) -> Any:
    lowered = q.lower()
    if "@" in q:
        return _prefix(Consultation.contact_email, lowered)
    if _PHONE.match(q) and sum(ch.isdigit() for ch in q) >= 4:
        digits = re.sub(r"\D", "", q)
        return sa.or_(_prefix(Consultation.contact_phone, digits), _prefix(Consultation.contact_phone, "+" + digits))
    by_conversation = Consultation.conversation_id == q
    if _HEX_ID.match(lowered) and (len(lowered) == 32 or any(ch.isdigit() for ch in lowered)):
        return sa.or_(_prefix(Consultation.id, lowered), by_conversation)
    return sa.or_(by_conversation, _name_contains(q, sqlite, scan))


def _where(filters: Filters, sqlite: bool = True, scan: bool = False) -> List[Any]:
    where: List[Any] = []
    if filters.q:
        where.append(_search(filters.q, sqlite, scan))
    if filters.status:
        where.append(Consultation.status == filters.status)
    if filters.outcome:
        where.append(Consultation.outcome == filters.outcome)
    if filters.since:
        where.append(Consultation.created_at >= filters.since)
    if filters.until:
        where.append(Consultation.created_at < filters.until)
    return where


def _is_sqlite(session: Any) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _select(filters: Filters, sqlite: bool, scan: bool = False) -> Any:
    return (
        sa.select(
            Consultation.id,
            Consultation.conversation_id,
            Consultation.created_at,
            Consultation.name,
            Consultation.contact_email,
            Consultation.contact_phone,
            Consultation.status,
            Consultation.outcome,
            Consultation.requested_human,
            Referral.id.label("referral_id"),
            Referral.status.label("referral_status"),
        )
        .outerjoin(Referral, Referral.consultation_id == Consultation.id)
        .where(*_where(filters, sqlite, scan))
        .order_by(Consultation.created_at.desc())
    )


def _row(r: Any) -> Row:
    return Row(
        r.id,
        r.conversation_id,
        r.created_at,
        r.name,
        r.contact_email,
        r.contact_phone,
        r.status,
        r.outcome,
        bool(r.requested_human),
        r.referral_id,
        r.referral_status,
    )


def count(filters: Filters) -> int:
    with session_scope(write=False) as session:
        return int(
            session.execute(
                sa.select(sa.func.count()).select_from(Consultation).where(*_where(filters, _is_sqlite(session)))
            ).scalar_one()
        )


def find(filters: Filters, *, page: int = 1, per_page: int = 50) -> Tuple[List[Row], int]:
    """One page of matching consultations, newest first, and how many match in all."""
    page = max(1, page)
    with session_scope(write=False) as session:
        sqlite = _is_sqlite(session)
        total = int(
            session.execute(
                sa.select(sa.func.count()).select_from(Consultation).where(*_where(filters, sqlite))
            ).scalar_one()
        )
        # a common name: scan newest first and stop at the page; a rare one: look the few matches up by name
        scan = sqlite and total > SCAN_ABOVE and (page * per_page) < total // 2
        rows = session.execute(_select(filters, sqlite, scan).offset((page - 1) * per_page).limit(per_page)).all()
        return [_row(r) for r in rows], total


def each(filters: Filters, *, batch: int = 1000) -> Iterator[Row]:
    """Every matching consultation, newest first (for the CSV export), read in batches."""
    with session_scope(write=False) as session:
        result = session.execute(_select(filters, _is_sqlite(session)).execution_options(yield_per=batch))
        for r in result:
            yield _row(r)
