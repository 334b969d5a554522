"""Whether a conversation has given consent to the health questions, as the store can tell.

The consent is a Rasa slot (`consent`), so its record is in Rasa's `events` table (same database): the latest
`consent` slot event of a conversation says where it stands (a restart clears it). Our own tables hold evidence too:
answers are stored only once consent is given (actions/consultation_form.py), so a consultation with an answer other
than the ones a request for a person may carry (`PERSON_REQUEST_KEYS`) was consented.

Read-only, no Rasa import: the action server, the web app and the sweeper use it.
"""

from __future__ import annotations

import json
from typing import Dict, Iterable, Optional, Set

import sqlalchemy as sa
from sqlalchemy.orm import Session

from bot.store.db import has_table
from bot.store.models import Answer, Consultation
from bot.store.tracker_events import EVENTS_TABLE, events

SLOT = "consent"
# answers a request for a person may store without consent: the flag and the contact the client gave for it
PERSON_REQUEST_KEYS = frozenset({"requested_human", "contact_email", "contact_phone"})
_CHUNK = 500


def _slot_value(raw: Optional[str]) -> Optional[object]:
    try:
        data = json.loads(raw) if raw else {}
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("name") != SLOT:
        return None
    return data.get("value", None)


def latest_in_events(session: Session, conversation_id: str) -> Optional[bool]:
    """The conversation's latest `consent` slot value in Rasa's events (True, False, or None: unset or never)."""
    if not has_table(session, EVENTS_TABLE):
        return None
    rows = session.execute(
        sa.select(events.c.data)
        .where(events.c.sender_id == conversation_id, events.c.type_name == "slot", events.c.data.like(f'%"{SLOT}"%'))
        .order_by(events.c.id.desc())
    ).scalars()
    for raw in rows:
        data = None
        try:
            data = json.loads(raw) if raw else None
        except ValueError:
            continue
        if isinstance(data, dict) and data.get("name") == SLOT:
            value = data.get("value")
            return True if value is True else (False if value is False else None)
    return None


def ever_in_events(session: Session, conversation_ids: Iterable[str]) -> Set[str]:
    """Those of these conversations that ever set the `consent` slot to True (in the events still kept)."""
    ids = list(dict.fromkeys(conversation_ids))
    found: Set[str] = set()
    if not ids or not has_table(session, EVENTS_TABLE):
        return found
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        for sender_id, raw in session.execute(
            sa.select(events.c.sender_id, events.c.data).where(
                events.c.sender_id.in_(chunk), events.c.type_name == "slot", events.c.data.like(f'%"{SLOT}"%')
            )
        ):
            if _slot_value(raw) is True:
                found.add(sender_id)
    return found


def answered(session: Session, conversation_ids: Iterable[str]) -> Set[str]:
    """Those of these conversations with a consultation holding an answer only consent allows (see the module)."""
    ids = list(dict.fromkeys(conversation_ids))
    found: Set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        found.update(
            session.execute(
                sa.select(Consultation.conversation_id)
                .join(Answer, Answer.consultation_id == Consultation.id)
                .where(Consultation.conversation_id.in_(chunk), Answer.key.notin_(sorted(PERSON_REQUEST_KEYS)))
                .distinct()
            ).scalars()
        )
        found.update(
            session.execute(  # judged or finished: only a consented consultation gets there
                sa.select(Consultation.conversation_id).where(
                    Consultation.conversation_id.in_(chunk),
                    sa.or_(Consultation.completed_at.isnot(None), Consultation.status == "complete"),
                )
            ).scalars()
        )
    return found


def given(session: Session, conversation_id: str, *, stated: Optional[bool] = None) -> bool:
    """Whether the conversation has consented: `stated` (the caller's tracker) when known, else Rasa's latest
    consent slot, else the evidence of our answers."""
    if stated is not None:
        return stated is True
    latest = latest_in_events(session, conversation_id)
    if latest is not None:
        return latest
    return conversation_id in answered(session, [conversation_id])


def by_conversation(session: Session, conversation_ids: Iterable[str]) -> Dict[str, bool]:
    ids = list(dict.fromkeys(conversation_ids))
    yes = ever_in_events(session, ids) | answered(session, ids)
    return {cid: cid in yes for cid in ids}
