"""A practitioner takes over a client's chat live, and hands it back: the one API for the staff side and the chat.

State lives in the DATABASE only (table `live_chats`, bot/live/models.py; the messages are Rasa tracker events), so
any number of web, Rasa and action-server processes agree and any of them can restart mid-chat.

States: waiting (asked for, nobody has joined) -> taken (a practitioner is in the chat) -> returned (handed back to
the assistant) or ended (the practitioner closed it). timed_out: nobody joined within LIVE_WAIT_MINUTES during
opening hours; the client was told and offered a call back or the booking link; still takeable. While waiting,
taken or timed_out (`PAUSED`) the web app's chat proxy gives nothing the client writes to Rasa's NLU: it is stored
as a user event (`client_message`) and shown to the practitioner.

For the staff side (bot/web/live.py):
    queue(include_done=False), get(id), take(id, staff), send(id, staff, text), typing(id, staff),
    hand_back(id, staff), end(id, staff), thread(id, after=0), waiting_count()
For the assistant and the chat (actions/person_request.py, bot/web/clinic.py, bot/supervisor.py):
    request(id, resume_form=...), client_message(id, message_id, text), status(id), last_event_id(id),
    sweep(), forget(id)

CHANGED: LiveChat.consultation_id is a str (consultations.id is a 32-character hex string), not an int.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Sequence

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from bot import settings as settings_module
from bot.live import assistant
from bot.live import hours as hours_module
from bot.live.models import PAUSED, LiveChatRow
from bot.store import audit
from bot.store.db import as_utc, has_table, session_scope
from bot.store.models import Consultation, Referral
from bot.store.staff import SignedIn
from bot.store.tracker_events import EVENTS_TABLE
from bot.store.tracker_events import events as events_table

logger = logging.getLogger(__name__)

MAX_TEXT = 2000  # a practitioner's message, and a client's message while paused (the widget caps at 1000)
TYPING_SECONDS = 5.0
DONE = ("returned", "ended")
HANDED_OFF_SLOT = "handed_off"  # bot/rasa_pause.py SLOT: the assistant's own pause for this conversation


@dataclass(frozen=True)
class LiveChat:
    """One live hand-off of one conversation."""

    conversation_id: str
    consultation_id: Optional[str]
    referral_id: Optional[int]
    state: str  # "waiting" | "taken" | "returned" | "ended" | "timed_out"
    requested_at: datetime
    taken_by: Optional[int] = None  # staff id
    taken_by_name: Optional[str] = None  # first name
    taken_by_role: Optional[str] = None
    taken_at: Optional[datetime] = None
    last_client_message_at: Optional[datetime] = None
    reasons: List[str] = field(default_factory=list)  # reason codes so far
    after_hours: bool = False  # asked for while the clinic was closed (told the next opening time)
    typing: bool = False  # the practitioner is typing (for the client's stream)

    @property
    def paused(self) -> bool:
        return self.state in PAUSED


class LiveError(Exception):
    """A live-chat operation that cannot be done; the message can be shown to staff."""


class AlreadyTaken(LiveError):
    def __init__(self, by_name: str) -> None:
        super().__init__(f"{by_name} is already in this chat")
        self.by_name = by_name


class NotHolder(LiveError):
    """Only the practitioner who took the chat may write in it, hand it back or end it."""


class NotLive(LiveError):
    """No live chat for this conversation, or it is over (handed back or ended)."""


AssistantUnavailable = assistant.AssistantUnavailable


# ------------------------------------------------------------------------------------------------ wording


def _clinic() -> settings_module.Clinic:
    return settings_module.get().clinic


def opening_hours() -> hours_module.OpeningHours:
    return hours_module.load(settings_module.get().clinic_file)


def first_name(staff: Any) -> str:
    """A member of staff's first name as clients see it: their name when the account has one, else from the email
    (sam.jones@clinic -> Sam)."""
    for attribute in ("first_name", "name", "display_name"):
        value = getattr(staff, attribute, None)
        if isinstance(value, str) and value.strip():
            return value.strip().split()[0][:40]
    local = str(getattr(staff, "email", "") or "").split("@")[0]
    part = re.split(r"[._+\-]", local)[0] if local else ""
    return (part[:1].upper() + part[1:].lower())[:40] or "A practitioner"


def role_label(role: Optional[str]) -> str:
    return {"practitioner": "practitioner", "reception": "reception", "admin": "clinic team"}.get(
        role or "", "clinic team"
    )


def pause_reply(now: Optional[datetime] = None) -> str:
    """What the assistant says when a live chat is asked for: within opening hours, that a practitioner has been
    asked to join; outside them, when the clinic next opens and the option of a call back."""
    now = as_utc(now)
    clinic = _clinic()
    hours = opening_hours()
    if hours_module.is_open(hours, now):
        return (
            "I've paused the questions and asked a practitioner to join this chat; this usually takes a few "
            "minutes. Your answers so far are kept, and you can keep writing here: they'll see everything."
        )
    opening = hours_module.next_opening(hours, now)
    when = hours_module.describe(opening, now) if opening else f"during opening hours ({clinic.hours})"
    return (
        "I've paused the questions and passed your request on. The clinic is closed just now, so nobody can "
        f"join this chat until it opens again {when}. If you'd like a call back instead, write your phone "
        f"number here and a practitioner will ring you, or call {clinic.phone} ({clinic.hours}). Your answers "
        "so far are kept."
    )


def timeout_reply() -> str:
    clinic = _clinic()
    return (
        "I'm sorry, nobody has been able to join yet. Your request stays with the team: a practitioner can "
        "still reply here while this page is open. If you'd prefer a call back, write your phone number here, "
        f"or you can book a consultation at {clinic.booking_url} or call {clinic.phone}."
    )


ACK_WAITING = "Thank you, I've passed that on: the practitioner will see it when they join."


# ------------------------------------------------------------------------------------------------ reading


def _reasons(session: sa.orm.Session, consultation_id: Optional[str]) -> List[str]:
    """Reason codes so far: the stored reasons and what the answers stored so far would flag."""
    if not consultation_id:
        return []
    from bot.store import consultations as consultations_store

    shown = consultations_store.show(consultation_id) or {}
    codes = [r.get("code") for r in shown.get("reasons") or [] if r.get("code")]
    try:
        from bot.screening import judge, load_rules

        judgement = judge(shown.get("answers") or {}, load_rules())
        codes += [f.code for f in judgement.findings if getattr(f, "outcome", None) != "clear"]
    except Exception:  # the queue must show even when the rules file is being edited
        logger.exception("reasons so far not judged consultation_id=%s", consultation_id)
    if shown.get("requested_human"):
        codes.append("client_requested_human")
    return list(dict.fromkeys(codes))


def _chat(row: LiveChatRow, *, reasons: Optional[List[str]] = None, now: Optional[datetime] = None) -> LiveChat:
    now = as_utc(now)
    return LiveChat(
        conversation_id=row.conversation_id,
        consultation_id=row.consultation_id,
        referral_id=row.referral_id,
        state=row.state,
        requested_at=row.requested_at,
        taken_by=row.taken_by,
        taken_by_name=row.taken_by_name,
        taken_by_role=row.taken_by_role,
        taken_at=row.taken_at,
        last_client_message_at=row.last_client_message_at,
        reasons=list(reasons or []),
        after_hours=bool(row.after_hours),
        typing=bool(row.state == "taken" and row.typing_until is not None and row.typing_until > now),
    )


def get(conversation_id: str, *, with_reasons: bool = True) -> Optional[LiveChat]:
    """The conversation's live chat (in any state), or None when it never had one."""
    with session_scope(write=False) as session:
        row = session.get(LiveChatRow, conversation_id)
        if row is None:
            return None
        reasons = _reasons(session, row.consultation_id) if with_reasons else []
        return _chat(row, reasons=reasons)


def status(conversation_id: str) -> Optional[LiveChat]:
    """`get` without the reasons: what the chat proxy and the client's stream need, cheaply."""
    return get(conversation_id, with_reasons=False)


def queue(*, include_done: bool = False) -> List[LiveChat]:
    """Waiting and timed-out chats (oldest first), then taken ones (oldest taken first); with include_done also
    the handed-back and ended ones (most recent first)."""
    order = {"waiting": 0, "timed_out": 0, "taken": 1, "returned": 2, "ended": 2}
    states = list(PAUSED) + (list(DONE) if include_done else [])
    with session_scope(write=False) as session:
        rows = session.execute(sa.select(LiveChatRow).where(LiveChatRow.state.in_(states))).scalars().all()
        chats = [_chat(row, reasons=_reasons(session, row.consultation_id)) for row in rows]

    def key(chat: LiveChat) -> Any:
        group = order[chat.state]
        if group == 0:
            return (0, chat.requested_at.timestamp())
        if group == 1:
            return (1, (chat.taken_at or chat.requested_at).timestamp())
        return (2, -chat.requested_at.timestamp())

    return sorted(chats, key=key)


def waiting_count() -> int:
    """Chats nobody has joined yet (waiting or timed out): the signal on every staff page."""
    with session_scope(write=False) as session:
        return int(
            session.execute(
                sa.select(sa.func.count())
                .select_from(LiveChatRow)
                .where(LiveChatRow.state.in_(("waiting", "timed_out")))
            ).scalar_one()
        )


def _iso(timestamp: Optional[float]) -> Optional[str]:
    return None if timestamp is None else datetime.fromtimestamp(timestamp, timezone.utc).isoformat()


_HIDDEN_USER_TEXT = ("EXTERNAL: ", "/session_start")  # trigger_intent and session starts: not the client's words


def thread(conversation_id: str, after: int = 0) -> List[Dict[str, Any]]:
    """Every message of the conversation after event id `after`, in order:
    {"id", "author": "client"|"assistant"|"staff", "name", "role", "text", "at", "buttons", "shown"}.
    `shown` is "reply" for what the chat proxy already answered the client with (the stream skips those)."""
    with session_scope(write=False) as session:
        if not has_table(session, EVENTS_TABLE):
            return []
        return _thread(session, conversation_id, after)


def snapshot(conversation_id: str, after: int = 0) -> tuple:
    """(status, thread after `after`) read in one transaction: what the client's stream polls for."""
    with session_scope(write=False) as session:
        row = session.get(LiveChatRow, conversation_id)
        chat = None if row is None else _chat(row)
        return chat, _thread(session, conversation_id, after)


def _thread(session: sa.orm.Session, conversation_id: str, after: int) -> List[Dict[str, Any]]:
    messages: List[Dict[str, Any]] = []
    rows = session.execute(
        sa.select(events_table.c.id, events_table.c.type_name, events_table.c.timestamp, events_table.c.data)
        .where(
            events_table.c.sender_id == conversation_id,
            events_table.c.type_name.in_(("user", "bot")),
            events_table.c.id > int(after or 0),
        )
        .order_by(events_table.c.id)
    ).all()
    offered: Dict[str, str] = {}
    for event_id, type_name, timestamp, raw in rows:
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            continue
        text = data.get("text")
        if not isinstance(text, str) or not text:
            continue
        metadata = data.get("metadata") or {}
        buttons = [b for b in ((data.get("data") or {}).get("buttons") or []) if isinstance(b, dict)]
        if type_name == "bot":
            if buttons:
                offered = {str(b.get("payload")): str(b.get("title")) for b in buttons if b.get("payload")}
            staff = metadata.get("author") == "staff"
            messages.append(
                {
                    "id": int(event_id),
                    "author": "staff" if staff else "assistant",
                    "name": metadata.get("name") if staff else None,
                    "role": metadata.get("role") if staff else None,
                    "text": text,
                    "at": _iso(timestamp),
                    "buttons": [
                        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))} for b in buttons
                    ],
                    "shown": metadata.get("shown"),
                    "kind": metadata.get("live"),
                }
            )
        else:
            if text.startswith(_HIDDEN_USER_TEXT):
                continue
            messages.append(
                {
                    "id": int(event_id),
                    "author": "client",
                    "name": None,
                    "role": None,
                    "text": offered.get(text, text),
                    "at": _iso(timestamp),
                    "buttons": [],
                    "shown": None,
                    "kind": metadata.get("live"),
                }
            )
    return messages


def last_event_id(conversation_id: str) -> int:
    """The newest tracker event id of the conversation that is not a practitioner's (the client's stream starts
    after it, so a practitioner's message written meanwhile still arrives)."""
    with session_scope(write=False) as session:
        if not has_table(session, EVENTS_TABLE):
            return 0
        rows = session.execute(
            sa.select(events_table.c.id, events_table.c.data)
            .where(events_table.c.sender_id == conversation_id)
            .order_by(events_table.c.id.desc())
            .limit(50)
        ).all()
    for event_id, raw in rows:
        if '"staff"' not in (raw or "") and '"shown"' not in (raw or ""):
            return int(event_id)
    return int(rows[-1][0]) - 1 if rows else 0


def _find_event_id(conversation_id: str, marker: str) -> Optional[int]:
    with session_scope(write=False) as session:
        rows = session.execute(
            sa.select(events_table.c.id, events_table.c.data)
            .where(events_table.c.sender_id == conversation_id)
            .order_by(events_table.c.id.desc())
            .limit(50)
        ).all()
    return next((int(i) for i, raw in rows if marker in (raw or "")), None)


# ------------------------------------------------------------------------------------------------ the assistant's side


def _latest_ids(session: sa.orm.Session, conversation_id: str) -> tuple:
    consultation_id = session.execute(
        sa.select(Consultation.id)
        .where(Consultation.conversation_id == conversation_id)
        .order_by(Consultation.sequence.desc())
        .limit(1)
    ).scalar_one_or_none()
    referral_id = (
        None
        if consultation_id is None
        else session.execute(
            sa.select(Referral.id).where(Referral.consultation_id == consultation_id)
        ).scalar_one_or_none()
    )
    return consultation_id, referral_id


def request(conversation_id: str, *, resume_form: Optional[str] = None, now: Optional[datetime] = None) -> LiveChat:
    """The client asked for a person (the action server calls this once the request is stored): a live chat in
    the queue, waiting. A chat already waiting, taken or timed out stays as it is; one handed back or ended
    before is asked for again. `resume_form` is the form that was running and its open question,
    "consultation_form:concerns" (resumed there on hand-back)."""
    now = as_utc(now)
    after_hours = not hours_module.is_open(opening_hours(), now)
    for attempt in (1, 2):
        try:
            with session_scope() as session:
                consultation_id, referral_id = _latest_ids(session, conversation_id)
                row = session.get(LiveChatRow, conversation_id, with_for_update=True)
                if row is None:
                    row = LiveChatRow(
                        conversation_id=conversation_id,
                        state="waiting",
                        requested_at=now,
                        after_hours=after_hours,
                        updated_at=now,
                        version=1,
                        resume_form=resume_form,
                        consultation_id=consultation_id,
                        referral_id=referral_id,
                    )
                    session.add(row)
                    session.flush()
                elif row.state not in PAUSED:
                    row.state, row.requested_at, row.after_hours, row.resume_form = (
                        "waiting",
                        now,
                        after_hours,
                        resume_form,
                    )
                    row.taken_by = row.taken_by_name = row.taken_by_role = row.taken_at = None
                    row.ended_at = row.typing_until = None
                    row.consultation_id, row.referral_id = consultation_id, referral_id
                    row.updated_at, row.version = now, row.version + 1
                else:
                    row.consultation_id = consultation_id or row.consultation_id
                    row.referral_id = referral_id or row.referral_id
                    row.resume_form = row.resume_form or resume_form
                logger.info(
                    "live chat asked for conversation_id=%s state=%s after_hours=%s",
                    conversation_id,
                    row.state,
                    after_hours,
                )
                return _chat(row, now=now)
        except IntegrityError:  # two processes inserting the same conversation at once: the other one won
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def client_message(
    conversation_id: str, message_id: Optional[str], text: str, *, now: Optional[datetime] = None
) -> List[Dict[str, Any]]:
    """A message from the client while the chat is paused: stored in the tracker as a user event (no NLU, so it
    fills no slot and runs nothing) for the practitioner. Returns the replies for the chat proxy to answer with
    (an acknowledgement while nobody has joined; nothing once a practitioner is there: they answer themselves).
    A message id seen before is not stored twice. Raises NotLive when the chat is not paused."""
    now = as_utc(now)
    text = (text or "").strip()[:MAX_TEXT]
    chat = status(conversation_id)
    if chat is None or not chat.paused:
        raise NotLive("this chat is not with a person")
    message_id = (message_id or uuid.uuid4().hex)[:64]
    marker = json.dumps(message_id)
    if text and _find_event_id(conversation_id, f'"message_id": {marker}') is None:
        events = [assistant.user_event(text, message_id, {"live": "client"})]
        replies: List[Dict[str, Any]] = []
        if chat.state != "taken" and not _acknowledged_since_last_staff(conversation_id):
            events.append(assistant.bot_event(ACK_WAITING, {"live": "ack", "author": "assistant", "shown": "reply"}))
            replies.append({"recipient_id": conversation_id, "text": ACK_WAITING})
        assistant.append(conversation_id, events)
        with session_scope() as session:
            session.execute(
                sa.update(LiveChatRow)
                .where(LiveChatRow.conversation_id == conversation_id)
                .values(last_client_message_at=now)
                .execution_options(synchronize_session=False)
            )
        logger.info("live chat client message kept conversation_id=%s state=%s", conversation_id, chat.state)
        return replies
    return []


def _acknowledged_since_last_staff(conversation_id: str) -> bool:
    """Whether the assistant has already acknowledged a message since the chat was asked for: say it once."""
    for message in reversed(thread(conversation_id, max(0, last_event_id(conversation_id) - 200))):
        if message["author"] == "assistant":
            return message.get("kind") == "ack"
        if message["author"] == "staff":
            return False
    return False


# ------------------------------------------------------------------------------------------------ the staff side


def _staff_label(staff: SignedIn) -> tuple:
    member = staff.staff
    return member.id, first_name(member), member.role


def _holder_row(session: sa.orm.Session, conversation_id: str, staff: SignedIn) -> LiveChatRow:
    row = session.get(LiveChatRow, conversation_id, with_for_update=True)
    if row is None or row.state in DONE:
        raise NotLive("this chat is not with a person any more")
    if row.state != "taken" or row.taken_by != staff.staff.id:
        raise NotHolder("only the practitioner who took this chat can do that")
    return row


def take(conversation_id: str, staff: SignedIn, *, now: Optional[datetime] = None) -> LiveChat:
    """Join the chat. Raises AlreadyTaken(by_name) when another member of staff has it, NotLive when it is over;
    taking it again as its holder changes nothing. The client is told who joined; audited."""
    now = as_utc(now)
    staff_id, name, role = _staff_label(staff)
    with session_scope() as session:
        result = session.execute(
            sa.update(LiveChatRow)
            .where(LiveChatRow.conversation_id == conversation_id, LiveChatRow.state.in_(("waiting", "timed_out")))
            .values(
                state="taken",
                taken_by=staff_id,
                taken_by_name=name,
                taken_by_role=role,
                taken_at=now,
                typing_until=None,
                updated_at=now,
                version=LiveChatRow.version + 1,
            )
            .execution_options(synchronize_session=False)
        )
        won = result.rowcount == 1
    if not won:
        chat = status(conversation_id)
        if chat is None or chat.state in DONE:
            raise NotLive("this chat is not with a person any more")
        if chat.taken_by == staff_id:
            return get(conversation_id)  # type: ignore[return-value]
        raise AlreadyTaken(chat.taken_by_name or "Someone")
    try:
        assistant.append(
            conversation_id,
            [
                assistant.bot_event(
                    f"{name} ({role_label(role)}) has joined the chat.",
                    {"live": "joined", "author": "assistant", "name": name, "role": role},
                )
            ],
        )
    except AssistantUnavailable:
        logger.warning("live chat joined but the client was not told conversation_id=%s", conversation_id)
    audit.record(staff.staff.email, "live_taken", "conversation", conversation_id, now=now)
    logger.info("live chat taken conversation_id=%s staff_id=%s", conversation_id, staff_id)
    return get(conversation_id)  # type: ignore[return-value]


def send(conversation_id: str, staff: SignedIn, text: str, *, now: Optional[datetime] = None) -> Dict[str, Any]:
    """The holder writes to the client: a bot event in Rasa's tracker marked {"author": "staff", "name", "role"}.
    Returns the message as `thread` shows it. Raises NotHolder, NotLive, ValueError (empty or too long); audited
    (without the text)."""
    now = as_utc(now)
    text = (text or "").strip()
    if not text:
        raise ValueError("write a message first")
    if len(text) > MAX_TEXT:
        raise ValueError(f"a message can be at most {MAX_TEXT} characters")
    with session_scope() as session:
        row = _holder_row(session, conversation_id, staff)
        name, role = row.taken_by_name, row.taken_by_role
        row.typing_until = None
        row.updated_at = now
    marker = uuid.uuid4().hex
    assistant.append(
        conversation_id,
        [assistant.bot_event(text, {"live": "message", "author": "staff", "name": name, "role": role, "mid": marker})],
    )
    audit.record(staff.staff.email, "live_message", "conversation", conversation_id, now=now)
    event_id = _find_event_id(conversation_id, marker)
    return {"id": event_id, "author": "staff", "name": name, "role": role, "text": text, "at": now.isoformat()}


def typing(conversation_id: str, staff: SignedIn, *, now: Optional[datetime] = None) -> None:
    """The holder is typing: the client sees it for a few seconds (call again while they type)."""
    now = as_utc(now)
    with session_scope() as session:
        row = _holder_row(session, conversation_id, staff)
        row.typing_until = now + timedelta(seconds=TYPING_SECONDS)


def _leave(conversation_id: str, staff: SignedIn, state: str, now: datetime) -> LiveChatRow:
    with session_scope() as session:
        row = _holder_row(session, conversation_id, staff)
        session.expunge(row)
    return row


def _finish(conversation_id: str, staff_id: int, state: str, now: datetime) -> None:
    with session_scope() as session:
        session.execute(
            sa.update(LiveChatRow)
            .where(
                LiveChatRow.conversation_id == conversation_id,
                LiveChatRow.state == "taken",
                LiveChatRow.taken_by == staff_id,
            )
            .values(state=state, ended_at=now, typing_until=None, updated_at=now, version=LiveChatRow.version + 1)
            .execution_options(synchronize_session=False)
        )


def _questions_done(conversation_id: str) -> bool:
    with session_scope(write=False) as session:
        done = session.execute(
            sa.select(Consultation.status, Consultation.completed_at)
            .where(Consultation.conversation_id == conversation_id)
            .order_by(Consultation.sequence.desc())
            .limit(1)
        ).first()
    return done is not None and (done[0] == "complete" or done[1] is not None)


SETTABLE_ANSWERS = ("yes", "no", "unsure")


def settable_questions() -> List[Dict[str, str]]:
    """The answers a practitioner may set during a live chat: the yes/no questions, with their staff labels."""
    from bot.dialogue import questions
    from bot.screening.answers import YES_NO_KEYS

    listed = []
    for key in YES_NO_KEYS:
        question = questions.question(key)
        listed.append({"key": key, "label": (question.staff if question is not None else None) or key})
    return listed


def set_answer(conversation_id: str, staff: SignedIn, key: str, value: str, *, now: Optional[datetime] = None) -> None:
    """The holder corrects or adds a yes/no answer from what the client said in the chat ("I take warfarin" when the
    assistant had "no"). It becomes the consultation's answer: set in the tracker (the questions then treat it as
    answered, the summary shows it, the finish judges it) and stored at once. Raises ValueError for a key or value
    that cannot be set, NotHolder, NotLive, AssistantUnavailable (nothing changed then); audited with the key only."""
    from bot.screening.answers import YES_NO_KEYS
    from bot.store import consultations as consultations_store

    if key not in YES_NO_KEYS:
        raise ValueError("that answer cannot be set here")
    if value not in SETTABLE_ANSWERS:
        raise ValueError("an answer is yes, no or not sure")
    now = as_utc(now)
    with session_scope() as session:
        _holder_row(session, conversation_id, staff)
    assistant.append(conversation_id, [assistant.slot_event(key, value)])
    consultations_store.record_answers(conversation_id, {key: value}, now=now)
    audit.record(staff.staff.email, "live_answer_set", "conversation", conversation_id, detail=f"key={key}", now=now)
    logger.info("live chat answer set by staff conversation_id=%s key=%s", conversation_id, key)


def _form_slots(form: str) -> List[str]:
    """The form's questions in order (domain.yml), without the two it moves into place itself."""
    import yaml

    from bot.settings import ROOT

    domain = yaml.safe_load((ROOT / "domain.yml").read_text(encoding="utf-8")) or {}
    listed = ((domain.get("forms") or {}).get(form) or {}).get("required_slots") or []
    return [s for s in listed if s not in ("volunteer_confirm", "restart_confirm")]


def _question_to_resume(conversation_id: str, form: str, slot: Optional[str]) -> Optional[str]:
    """The question to ask on hand-back: the one open when the person was asked for, unless the practitioner has
    answered it during the chat; then the next one not answered yet (the form's order, skipping what does not apply)."""
    if not slot:
        return slot
    try:
        now_slots = assistant.slots(conversation_id)
    except assistant.AssistantUnavailable:
        return slot  # resuming needs the assistant too: it says so then
    if now_slots.get(slot) is None:
        return slot
    from bot.dialogue import questions

    order = _form_slots(form)
    after = order.index(slot) + 1 if slot in order else 0
    for name in order[after:] + order[:after]:  # the next ones first; an earlier gap only after them
        question = questions.question(name)
        if now_slots.get(name) is None and not (question is not None and question.skipped(now_slots)):
            return name
    return slot


def hand_back(conversation_id: str, staff: SignedIn, *, now: Optional[datetime] = None) -> None:
    """The holder hands the chat back: the client is told, and the assistant carries on with the question that was
    open (or the summary when the questions were done). Raises NotHolder, NotLive, AssistantUnavailable (nothing
    changed then); audited."""
    now = as_utc(now)
    row = _leave(conversation_id, staff, "returned", now)
    name = row.taken_by_name or "The practitioner"
    resume = bool(row.resume_form) and not _questions_done(conversation_id)
    said = (
        f"{name} has left the chat and handed you back to me. Let's carry on where we left off."
        if resume
        else f"{name} has left the chat and handed you back to me. Thank you for waiting."
    )
    assistant.append(
        conversation_id,
        [
            assistant.slot_event(HANDED_OFF_SLOT, None),
            assistant.bot_event(said, {"live": "left", "author": "assistant", "name": name, "role": row.taken_by_role}),
        ],
    )
    if resume:
        form, _, slot = (row.resume_form or "").partition(":")
        assistant.resume(conversation_id, form, _question_to_resume(conversation_id, form, slot or None))
    _finish(conversation_id, staff.staff.id, "returned", now)
    audit.record(staff.staff.email, "live_handed_back", "conversation", conversation_id, now=now)
    logger.info("live chat handed back conversation_id=%s resumed=%s", conversation_id, resume)


def end(conversation_id: str, staff: SignedIn, *, now: Optional[datetime] = None) -> None:
    """The holder ends the chat: the client is told (and that the assistant is there if they want to carry on).
    Raises NotHolder, NotLive, AssistantUnavailable; audited."""
    now = as_utc(now)
    row = _leave(conversation_id, staff, "ended", now)
    name = row.taken_by_name or "The practitioner"
    clinic = _clinic()
    assistant.append(
        conversation_id,
        [
            assistant.slot_event(HANDED_OFF_SLOT, None),
            assistant.bot_event(
                f"{name} has ended the chat and left. Thank you for talking with us. If you'd like to go on with the "
                f"questions, just say so; you can also call {clinic.phone}.",
                {"live": "ended", "author": "assistant", "name": name, "role": row.taken_by_role},
            ),
        ],
    )
    _finish(conversation_id, staff.staff.id, "ended", now)
    audit.record(staff.staff.email, "live_ended", "conversation", conversation_id, now=now)
    logger.info("live chat ended conversation_id=%s", conversation_id)


# ------------------------------------------------------------------------------------------------ housekeeping


def wait_minutes() -> float:
    return float(getattr(settings_module.get(), "live_wait_minutes", 5.0))


def sweep(*, now: Optional[datetime] = None) -> int:
    """Time out chats nobody joined within LIVE_WAIT_MINUTES (asked for within opening hours): the client is told
    and offered a call back or the booking link; the chat stays takeable. Safe in several processes at once: each
    chat is moved by one conditional UPDATE, and only the process that moved it tells the client. Returns how many
    timed out."""
    now = as_utc(now)
    cutoff = now - timedelta(minutes=wait_minutes())
    with session_scope(write=False) as session:
        if not has_table(session, LiveChatRow.__tablename__):
            return 0
        due = (
            session.execute(
                sa.select(LiveChatRow.conversation_id).where(
                    LiveChatRow.state == "waiting",
                    LiveChatRow.after_hours.is_(False),
                    LiveChatRow.requested_at <= cutoff,
                )
            )
            .scalars()
            .all()
        )
    timed_out = 0
    for conversation_id in due:
        with session_scope() as session:
            moved = (
                session.execute(
                    sa.update(LiveChatRow)
                    .where(LiveChatRow.conversation_id == conversation_id, LiveChatRow.state == "waiting")
                    .values(state="timed_out", updated_at=now, version=LiveChatRow.version + 1)
                    .execution_options(synchronize_session=False)
                ).rowcount
                == 1
            )
        if not moved:
            continue  # another process, or a practitioner, got there first
        try:
            assistant.append(
                conversation_id, [assistant.bot_event(timeout_reply(), {"live": "timed_out", "author": "assistant"})]
            )
        except AssistantUnavailable:
            with session_scope() as session:  # try again on the next round
                session.execute(
                    sa.update(LiveChatRow)
                    .where(LiveChatRow.conversation_id == conversation_id, LiveChatRow.state == "timed_out")
                    .values(state="waiting")
                    .execution_options(synchronize_session=False)
                )
            logger.warning("live chat timeout not told, retried later conversation_id=%s", conversation_id)
            continue
        timed_out += 1
        logger.info("live chat timed out conversation_id=%s", conversation_id)
    return timed_out


def forget(conversation_id: str) -> int:
    """Erasure: delete the conversation's live chat row (its messages are tracker events, erased with them)."""
    with session_scope() as session:
        if not has_table(session, LiveChatRow.__tablename__):
            return 0
        return int(
            session.execute(sa.delete(LiveChatRow).where(LiveChatRow.conversation_id == conversation_id)).rowcount or 0
        )


def forget_orphans() -> int:
    """Retention: delete finished live-chat rows whose consultation has been purged."""
    with session_scope() as session:
        if not has_table(session, LiveChatRow.__tablename__):
            return 0
        orphaned = sa.select(Consultation.id).where(Consultation.id == LiveChatRow.consultation_id).exists()
        return int(
            session.execute(
                sa.delete(LiveChatRow)
                .where(LiveChatRow.consultation_id.isnot(None), ~orphaned)
                .execution_options(synchronize_session=False)
            ).rowcount
            or 0
        )


def open_conversations(conversation_ids: Sequence[str]) -> List[str]:
    """Of these conversations, those with a live chat still paused (retention keeps them)."""
    if not conversation_ids:
        return []
    with session_scope(write=False) as session:
        return list(
            session.execute(
                sa.select(LiveChatRow.conversation_id).where(
                    LiveChatRow.conversation_id.in_(list(conversation_ids)), LiveChatRow.state.in_(PAUSED)
                )
            ).scalars()
        )


def sweep_safely() -> int:
    """`sweep` and `forget_orphans` for the supervisor's sweeper (bot/serve.py): never raises, logs no client data."""
    try:
        timed_out = sweep()
        forget_orphans()
        return timed_out
    except Exception as exc:  # keep sweeping; the next round tries again
        logger.warning("live chat sweep failed: %s", type(exc).__name__)
        return 0
