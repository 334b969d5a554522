"""Retention: the long purge of consultations untouched for days (`purge`, `python -m bot data purge`), and the
conversations that never gave consent, deleted, transcript and all, after CONSENTLESS_PURGE_HOURS (`sweep`).

A client who declines the health questions, or leaves before answering the consent question, has only Rasa's events
for the turns they had (what they typed is in them) and, if they asked for a person with a phone number or email, a
referral with that contact. Once such a conversation has been quiet for `older_than_hours` (default 24), its events
and every row of ours for it (consultation, answers, reasons, referral and its history, hand-off messages, notices)
are deleted. A referral still open, or changed within the window, keeps its conversation until the team has dealt
with it (then the next sweep after the window deletes it).

A conversation counts as consented when Rasa's events still show the `consent` slot set to True, or our tables hold
an answer only consent allows (bot.store.consent); those are left to the long retention (`python -m bot data purge`).
A conversation whose events are all gone already is left alone (nothing tells whether it consented).

The supervisor's sweeper (bot/serve.py) calls `sweep()` every round; it runs the purge at most every
PURGE_EVERY_SECONDS, then checkpoints and truncates SQLite's WAL (`bot.store.db.scrub`, when present) so deleted
text does not linger in the log file.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta
from typing import List, NamedTuple, Optional

import sqlalchemy as sa

from bot import settings as settings_module
from bot.store import consent, db, tracker_events
from bot.store.db import as_utc, has_table, session_scope
from bot.store.erasure import Removed, delete_consultations
from bot.store.models import Consultation, Referral
from bot.store.tracker_events import EVENTS_TABLE, events

logger = logging.getLogger(__name__)

PURGE_EVERY_SECONDS = 600.0
_BATCH = 200
_PURGE_BATCH = 500  # consultations deleted per short transaction by purge()
_lock = threading.Lock()
_last_run: Optional[float] = None


class Purged(NamedTuple):
    conversations: int
    consultations: int
    events: int


def _quiet_conversations(session: sa.orm.Session, cutoff: datetime) -> List[str]:
    """Conversations whose latest Rasa event is older than `cutoff`."""
    if not has_table(session, EVENTS_TABLE):
        return []
    return list(
        session.execute(
            sa.select(events.c.sender_id)
            .group_by(events.c.sender_id)
            .having(sa.func.max(events.c.timestamp) < cutoff.timestamp())
        ).scalars()
    )


def consentless(older_than_hours: int, *, now: Optional[datetime] = None) -> List[str]:
    """The conversations `purge_consentless` would delete now (none consented, quiet for `older_than_hours`)."""
    now = as_utc(now)
    cutoff = now - timedelta(hours=older_than_hours)
    with session_scope(write=False) as session:
        quiet = _quiet_conversations(session, cutoff)
        consented = {cid for cid, yes in consent.by_conversation(session, quiet).items() if yes}
        candidates = [cid for cid in quiet if cid not in consented]
        if not candidates:
            return []
        kept = set()
        for start in range(0, len(candidates), 500):
            chunk = candidates[start : start + 500]
            kept.update(
                session.execute(
                    sa.select(Consultation.conversation_id)
                    .outerjoin(Referral, Referral.consultation_id == Consultation.id)
                    .where(
                        Consultation.conversation_id.in_(chunk),
                        sa.or_(
                            Consultation.last_activity_at >= cutoff,
                            Consultation.updated_at >= cutoff,
                            sa.and_(
                                Referral.id.isnot(None),
                                sa.or_(Referral.status != "closed", Referral.updated_at >= cutoff),
                            ),
                        ),
                    )
                ).scalars()
            )
        return [cid for cid in candidates if cid not in kept]


def purge_consentless(older_than_hours: int, *, now: Optional[datetime] = None) -> Purged:
    """Delete the conversations that never consented and have been quiet for `older_than_hours`: their Rasa events
    and every row of ours for them (see the module notes). Returns what was deleted."""
    if older_than_hours < 1:
        raise ValueError("older_than_hours must be at least 1")
    now = as_utc(now)
    cutoff = now - timedelta(hours=older_than_hours)
    doomed = consentless(older_than_hours, now=now)
    conversations = consultations = removed_events = 0
    for start in range(0, len(doomed), _BATCH):
        chunk = doomed[start : start + _BATCH]
        with session_scope() as session:
            # checked again in the deleting transaction: a client who came back meanwhile keeps everything
            still_quiet = set(
                session.execute(
                    sa.select(events.c.sender_id)
                    .where(events.c.sender_id.in_(chunk))
                    .group_by(events.c.sender_id)
                    .having(sa.func.max(events.c.timestamp) < cutoff.timestamp())
                ).scalars()
            )
            consented = {cid for cid, yes in consent.by_conversation(session, list(still_quiet)).items() if yes}
            for conversation_id in chunk:
                if conversation_id not in still_quiet or conversation_id in consented:
                    continue
                ids = list(
                    session.execute(
                        sa.select(Consultation.id).where(Consultation.conversation_id == conversation_id)
                    ).scalars()
                )
                consultations += delete_consultations(session, ids)
                removed_events += tracker_events.delete_conversation(session, conversation_id)
                conversations += 1
    if conversations:
        logger.info(
            "consent-less conversations purged conversations=%d consultations=%d events=%d cutoff=%s",
            conversations,
            consultations,
            removed_events,
            cutoff.isoformat(),
        )
    return Purged(conversations, consultations, removed_events)


def purge_counts(older_than_days: int, *, now: Optional[datetime] = None) -> Removed:
    """`purge()`, also counting the Rasa events removed."""
    now = as_utc(now)
    if older_than_days < 1:
        raise ValueError("older_than_days must be at least 1")
    cutoff = now - timedelta(days=older_than_days)
    recent_referral = sa.exists().where(Referral.consultation_id == Consultation.id, Referral.updated_at >= cutoff)
    with session_scope(write=False) as session:
        ids = list(
            session.execute(
                sa.select(Consultation.id).where(
                    Consultation.updated_at < cutoff, Consultation.last_activity_at < cutoff, ~recent_referral
                )
            ).scalars()
        )
    consultations = 0
    for start in range(0, len(ids), _PURGE_BATCH):  # short transactions: the chat keeps writing meanwhile
        with session_scope() as session:
            consultations += delete_consultations(session, ids[start : start + _PURGE_BATCH])
    with session_scope() as session:
        events = tracker_events.purge_before(session, cutoff)
    logger.info("purge done cutoff=%s consultations=%d events=%d", cutoff.isoformat(), consultations, events)
    return Removed(consultations, events)


def purge(older_than_days: int, *, now: Optional[datetime] = None) -> int:
    """Retention: delete consultations (answers, reasons, referral) untouched for `older_than_days`, and Rasa
    events older than that (whole conversations when quiet since; see tracker_events.purge_before). Returns the
    number of consultations deleted."""
    return purge_counts(older_than_days, now=now).consultations


def scrub() -> None:
    """Checkpoint and truncate SQLite's WAL after deleting (bot.store.db.scrub, when that exists)."""
    scrubber = getattr(db, "scrub", None)
    if callable(scrubber):
        scrubber()


def sweep(
    settings: Optional[settings_module.Settings] = None, *, now: Optional[datetime] = None, force: bool = False
) -> Optional[Purged]:
    """The sweeper's call: purge consent-less conversations (at most every PURGE_EVERY_SECONDS unless `force`),
    then scrub. Never raises: an error is logged and the next round tries again. Returns what was purged, or None
    when it did not run."""
    global _last_run
    settings = settings or settings_module.get()
    with _lock:
        moment = time.monotonic()
        if not force and _last_run is not None and moment - _last_run < PURGE_EVERY_SECONDS:
            return None
        _last_run = moment
    try:
        purged = purge_consentless(settings.consentless_purge_hours, now=now)
        if purged.conversations:
            scrub()
        return purged
    except Exception as exc:  # keep sweeping; the next round tries again
        logger.error("consent-less purge failed: %s", type(exc).__name__)
        return None
