"""Persistence: consultations and referrals beside Rasa's tracker events, in one database (SQLite or PostgreSQL).

Sessions are opened only by `bot.store.db`; the schema is made only by the Alembic migrations
(`python -m bot db upgrade`). Rasa's side is `bot.store.tracker_store.DatabaseTrackerStore` (not imported here, so
the action server and web app do not load Rasa).
"""

from bot.store.consultation_reads import show, transcript
from bot.store.consultations import (
    abandon_current,
    complete,
    current_consultation_id,
    expire_idle,
    flag_human_request,
    record_answers,
    touch,
)
from bot.store.db import clear_engine_cache, get_engine, session_scope
from bot.store.erasure import Removed, erase, erase_counts, export
from bot.store.retention import purge, purge_counts

# the staff side's tables: imported here so every use of the metadata (migrations, tests) knows them
from bot.store import audit, outbox, person_requests, referrals, staff  # noqa: E402,F401  (isort: skip)
from bot.store.migrate import upgrade

__all__ = [
    "Removed",
    "abandon_current",
    "clear_engine_cache",
    "complete",
    "current_consultation_id",
    "erase",
    "erase_counts",
    "expire_idle",
    "export",
    "flag_human_request",
    "get_engine",
    "purge",
    "purge_counts",
    "record_answers",
    "session_scope",
    "show",
    "touch",
    "transcript",
    "upgrade",
]
