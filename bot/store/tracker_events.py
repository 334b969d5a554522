"""Reading and deleting Rasa's tracker `events` table: transcripts for staff, retention and erasure.

The table belongs to Rasa's SQL tracker store (it creates it on start, with `create_all`), so it is described here
as a lightweight table, not declared in our metadata or migrations; until Rasa has run once it does not exist.
Rasa's columns: id, sender_id (= conversation id), type_name, timestamp (epoch seconds, float), intent_name,
action_name, data (the event as JSON text).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store.db import has_table

logger = logging.getLogger(__name__)

EVENTS_TABLE = "events"

events = sa.table(
    EVENTS_TABLE,
    sa.column("id", sa.Integer),
    sa.column("sender_id", sa.String),
    sa.column("type_name", sa.String),
    sa.column("timestamp", sa.Float),
    sa.column("data", sa.Text),
)

_SPOKEN = ("user", "bot")


def _epoch(value: datetime) -> float:
    if value.tzinfo is None:
        raise ValueError("since/until must be timezone-aware datetimes")
    return value.timestamp()


def _iso(timestamp: Optional[float]) -> Optional[str]:
    if timestamp is None:
        return None
    return datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


def _buttons(data: Dict[str, Any]) -> List[Dict[str, Any]]:
    extra = data.get("data") or {}
    found = []
    for key in ("buttons", "quick_replies"):
        for button in extra.get(key) or []:
            if isinstance(button, dict):
                found.append(button)
    return found


def transcript(
    session: Session,
    conversation_id: str,
    *,
    since: Optional[datetime] = None,
    until: Optional[datetime] = None,
) -> List[Dict[str, Any]]:
    """What the client, the assistant and staff said, oldest first: {"time", "sender", "text", "buttons"}; sender is
    "client", "assistant" or "staff" (a practitioner in the live chat: a bot event whose metadata has author "staff"),
    and a staff line also has their "name" and "role".

    A button the client pressed arrives as its payload ("/affirm"); it is shown as the button's title when the
    assistant's previous message offered it, so staff read what the client saw.
    """
    if not has_table(session, EVENTS_TABLE):
        return []
    query = (
        sa.select(events.c.type_name, events.c.timestamp, events.c.data)
        .where(events.c.sender_id == conversation_id, events.c.type_name.in_(_SPOKEN))
        .order_by(events.c.id)
    )
    if since is not None:
        query = query.where(events.c.timestamp >= _epoch(since))
    if until is not None:
        query = query.where(events.c.timestamp < _epoch(until))

    lines: List[Dict[str, Any]] = []
    offered: Dict[str, str] = {}  # payload -> title, from the assistant's latest buttons
    for type_name, timestamp, raw in session.execute(query):
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            logger.warning("unreadable tracker event skipped conversation_id=%s", conversation_id)
            continue
        text = data.get("text")
        if type_name == "bot":
            buttons = _buttons(data)
            if buttons:
                offered = {str(b.get("payload")): str(b.get("title")) for b in buttons if b.get("payload")}
            line = {
                "time": _iso(timestamp),
                "sender": "assistant",
                "text": text,
                "buttons": [str(b.get("title", "")) for b in buttons],
            }
            metadata = data.get("metadata")
            if not isinstance(metadata, dict):
                metadata = {}
            if metadata.get("author") == "staff":  # a practitioner wrote it in the live chat (bot/live)
                line.update(
                    sender="staff",
                    name=str(metadata.get("name") or "") or None,
                    role=str(metadata.get("role") or "") or None,
                )
            lines.append(line)
        else:
            if text in offered:
                text = offered[text]
            lines.append({"time": _iso(timestamp), "sender": "client", "text": text, "buttons": []})
    return lines


def delete_conversation(session: Session, conversation_id: str) -> int:
    """Delete every event of one conversation; returns how many."""
    if not has_table(session, EVENTS_TABLE):
        return 0
    result = session.execute(sa.delete(events).where(events.c.sender_id == conversation_id))
    return int(result.rowcount or 0)


def purge_before(session: Session, cutoff: datetime) -> int:
    """Delete events older than `cutoff`, never cutting a conversation session in half.

    A conversation that went quiet before the cutoff goes entirely. One still active keeps the session that was
    running at the cutoff (Rasa rebuilds a tracker from its latest `session_started` event, so that session must stay
    whole) and loses everything before it.
    """
    if not has_table(session, EVENTS_TABLE):
        return 0
    limit = _epoch(cutoff)
    deleted = 0

    quiet = sa.select(events.c.sender_id).group_by(events.c.sender_id).having(sa.func.max(events.c.timestamp) < limit)
    result = session.execute(sa.delete(events).where(events.c.sender_id.in_(quiet)))
    deleted += int(result.rowcount or 0)

    # conversations that have old events and recent ones: cut at the last session start before the cutoff
    recent = sa.select(events.c.sender_id).where(events.c.timestamp >= limit)
    boundaries = session.execute(
        sa.select(events.c.sender_id, sa.func.max(events.c.timestamp))
        .where(
            events.c.type_name == "session_started",
            events.c.timestamp <= limit,
            events.c.sender_id.in_(recent),
        )
        .group_by(events.c.sender_id)
    ).all()
    for sender_id, boundary in boundaries:
        result = session.execute(
            sa.delete(events).where(events.c.sender_id == sender_id, events.c.timestamp < boundary)
        )
        deleted += int(result.rowcount or 0)
    return deleted
