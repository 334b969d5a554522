"""The live chat on the staff side: the queue of clients waiting for a person, one conversation (take it, reply,
hand it back, end it), and the small JSON the pages poll (bot/web/static/staff/live.js).

State lives in the database (bot.live.service), so every web instance shows the same queue. Every page and poll
needs a login and a role (PERMISSIONS in bot.web.auth: read_live to see, work_live to act); every POST carries the
session's CSRF token; reading is audited (a live conversation is a consultation view), and so is every step, by the
service. Polls are audited at most once a minute per person and conversation, so the log stays readable.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from bot.live import service
from bot.store import audit
from bot.store import consultation_reads as consultations
from bot.store.staff import SignedIn
from bot.web import auth, present
from bot.web.exceptions import BadRequest, NotFound
from bot.web.pages import NO_STORE, render

router = APIRouter(include_in_schema=False)

MAX_REPLY_CHARS = service.MAX_TEXT  # a practitioner's one message to the client (the service checks it too)
POLL_AUDIT_SECONDS = 60  # a poll is written to the audit log at most this often per person and conversation
_CONVERSATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$")
STATE_WORDS = {
    "waiting": "Waiting for a person",
    "timed_out": "Waited, nobody joined (still takeable)",
    "taken": "Taken",
    "returned": "Handed back to the assistant",
    "ended": "Ended",
}
NOT_LIVE = "This chat is not with a person any more: it was handed back or ended."
UNAVAILABLE = "{what}: the assistant cannot be reached just now. Try again in a moment."
DONE_WORDS = {
    "take": "You have this chat: the client sees that a person has joined.",
    "hand-back": "Handed back to the assistant: it carries on with the open question.",
    "end": "The chat is ended.",
    "send": "Sent.",
    "answer": "Answer set: it is part of the consultation, and the assistant will not ask it again.",
}


def _conversation_id(raw: str) -> str:
    if not _CONVERSATION_ID.match(raw or ""):
        raise NotFound("live chat")
    return raw


def _chat(conversation_id: str) -> service.LiveChat:
    chat = service.get(_conversation_id(conversation_id))
    if chat is None:
        raise NotFound("live chat")
    return chat


def _consultation(chat: service.LiveChat, who: SignedIn) -> Optional[Dict[str, Any]]:
    shown = consultations.show(str(chat.consultation_id)) if chat.consultation_id is not None else None
    if shown is None:
        shown = consultations.show(chat.conversation_id)
    if shown is not None and not auth.can(who, "read_referrals"):
        shown = present.without_practitioner_notes(shown)  # reception never reads the practitioners' notes
    return shown


def _seconds_since(moment: Optional[datetime], now: datetime) -> Optional[int]:
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0, int((now - moment).total_seconds()))


def chat_json(
    chat: service.LiveChat, who: SignedIn, *, now: Optional[datetime] = None, shown: Optional[Dict[str, Any]] = None
) -> Dict[str, Any]:
    """One live chat as the queue and the conversation view show it (the answers so far included)."""
    now = now or datetime.now(timezone.utc)
    answers = (shown or {}).get("answers") or {}
    referral = (shown or {}).get("referral")
    referral_id = chat.referral_id or (referral or {}).get("id")
    return {
        "conversation_id": chat.conversation_id,
        "url": f"/staff/live/{chat.conversation_id}",
        "state": chat.state,
        "state_word": STATE_WORDS.get(chat.state, chat.state),
        "requested_at": present.iso(chat.requested_at),
        "waiting_seconds": _seconds_since(chat.requested_at, now) if chat.state in ("waiting", "timed_out") else None,
        "taken_by_name": chat.taken_by_name,
        "taken_by_role": chat.taken_by_role,
        "taken_at": present.iso(chat.taken_at) or None,
        "taken_by_me": chat.taken_by == who.staff.id and chat.state == "taken",
        "last_client_message_at": present.iso(chat.last_client_message_at) or None,
        "reasons": list(chat.reasons),
        "name": answers.get("name"),
        "answers": [list(row) for row in present.answer_rows(answers)],
        "consultation_id": (shown or {}).get("id") or chat.consultation_id,
        "referral_id": referral_id,
        "referral_url": f"/staff/referrals/{referral_id}" if referral_id and auth.can(who, "read_referrals") else None,
    }


def queue_json(who: SignedIn, *, include_done: bool = False) -> Dict[str, Any]:
    now = datetime.now(timezone.utc)
    chats = service.queue(include_done=include_done)
    return {
        "waiting": service.waiting_count(),
        "now": now.isoformat(),
        "chats": [chat_json(c, who, now=now, shown=_consultation(c, who)) for c in chats],
    }


def _audit_poll(
    who: SignedIn, action: str, target_type: Optional[str], target_id: Optional[str], detail: str, request: Request
) -> None:
    """Audit a poll unless the same person's same read was audited in the last POLL_AUDIT_SECONDS."""
    recent, _total = audit.entries(actor=who.staff.email, action=action, target_id=target_id, per_page=1)
    if recent:
        last = recent[0].at if recent[0].at.tzinfo else recent[0].at.replace(tzinfo=timezone.utc)
        if datetime.now(timezone.utc) - last < timedelta(seconds=POLL_AUDIT_SECONDS) and recent[0].detail == detail:
            return
    audit.record(who.staff.email, action, target_type, target_id, detail=detail, ip=auth.client_ip(request))


def _audit_view(
    who: SignedIn, chat: service.LiveChat, shown: Optional[Dict[str, Any]], request: Request, *, poll: bool
) -> None:
    """Reading a live conversation is a consultation view (target: the consultation, or the conversation before
    there is one)."""
    target_type, target_id = ("consultation", str(shown["id"])) if shown else ("conversation", chat.conversation_id)
    detail = f"live conversation={chat.conversation_id}"
    if poll:
        _audit_poll(who, "view_consultation", target_type, target_id, detail, request)
    else:
        audit.record(
            who.staff.email, "view_consultation", target_type, target_id, detail=detail, ip=auth.client_ip(request)
        )


def _json(body: Any, status_code: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status_code, headers=NO_STORE)


def _wants_json(request: Request) -> bool:
    return "application/json" in request.headers.get("accept", "")


# ------------------------------------------------------------------------------------------------------- reading


@router.get("/staff/live", response_class=HTMLResponse)
def queue_page(request: Request, who: SignedIn = Depends(auth.need("read_live"))) -> Response:
    audit.record(who.staff.email, "view_queue", detail="live", ip=auth.client_ip(request))
    return render(request, who, "staff/live.html", {"q": queue_json(who), "state_words": STATE_WORDS})


@router.get("/staff/live/queue.json")
def queue_poll(request: Request, who: SignedIn = Depends(auth.need("read_live"))) -> Response:
    _audit_poll(who, "view_queue", None, None, "live", request)
    return _json(queue_json(who))


@router.get("/staff/live/signal.json")
def signal(who: SignedIn = Depends(auth.need("read_live"))) -> Response:
    """What every dashboard page polls for its banner and sound: counts and times only, no client's data (so not
    audited)."""
    waiting = [c for c in service.queue() if c.state in ("waiting", "timed_out")]
    newest = max((c.requested_at for c in waiting), default=None)
    oldest = min((c.requested_at for c in waiting), default=None)
    return _json(
        {
            "waiting": service.waiting_count(),
            "newest_requested_at": present.iso(newest) or None,
            "oldest_waiting_seconds": _seconds_since(oldest, datetime.now(timezone.utc)),
            "can_take": auth.can(who, "work_live"),
        }
    )


@router.get("/staff/live/{raw_id}", response_class=HTMLResponse)
def conversation_page(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("read_live"))) -> Response:
    chat = _chat(raw_id)
    shown = _consultation(chat, who)
    _audit_view(who, chat, shown, request, poll=False)
    messages = service.thread(chat.conversation_id)
    return render(
        request,
        who,
        "staff/live_chat.html",
        {
            "chat": chat,
            "live": chat_json(chat, who, shown=shown),
            "c": shown,
            "messages": messages,
            "last_id": max((m["id"] for m in messages), default=0),
            "max_reply": MAX_REPLY_CHARS,
            "flash": DONE_WORDS.get(request.query_params.get("done", ""), ""),
            "incomplete_marker": present.INCOMPLETE_MARKER,
            "settable": service.settable_questions(),
        },
    )


def _after(raw: Optional[str]) -> int:
    try:
        return max(0, min(int(raw or "0"), 2**62))
    except ValueError:
        return 0


@router.get("/staff/live/{raw_id}/thread.json")
def thread_poll(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("read_live"))) -> Response:
    chat = _chat(raw_id)
    shown = _consultation(chat, who)
    _audit_view(who, chat, shown, request, poll=True)
    messages = service.thread(chat.conversation_id, after=_after(request.query_params.get("after")))
    return _json(
        {
            "chat": chat_json(chat, who, shown=shown),
            "messages": messages,
            "can_send": auth.can(who, "work_live") and chat.state == "taken" and chat.taken_by == who.staff.id,
        }
    )


# ------------------------------------------------------------------------------------------------------- acting


async def _form(request: Request, who: SignedIn) -> Dict[str, str]:
    form = await request.form()
    auth.check_csrf(who, form.get(auth.CSRF_FIELD))  # type: ignore[arg-type]
    return {k: str(v) for k, v in form.items() if isinstance(v, str)}


def _refused(request: Request, conversation_id: str, status: int, error: str, message: str) -> Response:
    if _wants_json(request):
        return _json({"error": error, "detail": message}, status_code=status)
    raise BadRequest(message)


def _done(request: Request, conversation_id: str, step: str, body: Optional[Dict[str, Any]] = None) -> Response:
    if _wants_json(request):
        return _json({"ok": True, **(body or {})})
    return RedirectResponse(f"/staff/live/{conversation_id}?done={step}", status_code=303)


@router.post("/staff/live/{raw_id}/take")
async def take(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("work_live"))) -> Response:
    await _form(request, who)
    chat = _chat(raw_id)
    try:
        service.take(chat.conversation_id, who)
    except service.AlreadyTaken as exc:
        return _refused(
            request,
            chat.conversation_id,
            409,
            "already_taken",
            f"{exc.by_name or 'Someone else'} has already taken this chat.",
        )
    except service.NotLive:
        return _refused(request, chat.conversation_id, 409, "not_live", NOT_LIVE)
    return _done(request, chat.conversation_id, "take")


@router.post("/staff/live/{raw_id}/send")
async def send(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("work_live"))) -> Response:
    form = await _form(request, who)
    chat = _chat(raw_id)
    text = form.get("text", "").strip()
    if not text:
        return _refused(request, chat.conversation_id, 400, "empty", "Write a message before sending.")
    if len(text) > MAX_REPLY_CHARS:
        return _refused(
            request,
            chat.conversation_id,
            400,
            "too_long",
            f"A message can be at most {MAX_REPLY_CHARS} characters; split it in two.",
        )
    try:
        sent = service.send(chat.conversation_id, who, text)
    except service.NotHolder:
        return _refused(request, chat.conversation_id, 409, "not_holder", _not_holder_message(chat))
    except service.NotLive:
        return _refused(request, chat.conversation_id, 409, "not_live", NOT_LIVE)
    except service.AssistantUnavailable:
        return _refused(request, chat.conversation_id, 503, "unavailable", UNAVAILABLE.format(what="Not sent"))
    except ValueError as exc:  # empty or too long, as the service counts
        return _refused(request, chat.conversation_id, 400, "invalid", f"Not sent: {exc}.")
    return _done(request, chat.conversation_id, "send", {"message": sent})


def _not_holder_message(chat: service.LiveChat) -> str:
    fresh = service.get(chat.conversation_id) or chat
    if fresh.state == "taken" and fresh.taken_by_name:
        return f"{fresh.taken_by_name} has this chat: only they can write to the client."
    return "Take the chat first: only the practitioner who has it can write to the client."


@router.post("/staff/live/{raw_id}/typing")
async def typing(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("work_live"))) -> Response:
    await _form(request, who)
    chat = _chat(raw_id)
    try:
        service.typing(chat.conversation_id, who)
    except service.LiveError:
        return _json({"error": "not_holder", "detail": _not_holder_message(chat)}, status_code=409)
    return _json({"ok": True})


def _holder_step(request: Request, chat: service.LiveChat, step: str, what: str, act: Callable[[], object]) -> Response:
    """One of the holder's steps (hand back, end, set an answer): done, or refused with a word on why."""
    try:
        act()
    except service.NotHolder:
        return _refused(request, chat.conversation_id, 409, "not_holder", _not_holder_message(chat))
    except service.NotLive:
        return _refused(request, chat.conversation_id, 409, "not_live", NOT_LIVE)
    except service.AssistantUnavailable:
        return _refused(request, chat.conversation_id, 503, "unavailable", UNAVAILABLE.format(what=what))
    except ValueError as exc:  # a value the service cannot take (an answer key or value)
        return _refused(request, chat.conversation_id, 400, "invalid", f"{what}: {exc}.")
    return _done(request, chat.conversation_id, step)


@router.post("/staff/live/{raw_id}/hand-back")
async def hand_back(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("work_live"))) -> Response:
    await _form(request, who)
    chat = _chat(raw_id)
    return _holder_step(
        request, chat, "hand-back", "Not handed back", lambda: service.hand_back(chat.conversation_id, who)
    )


@router.post("/staff/live/{raw_id}/end")
async def end(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("work_live"))) -> Response:
    await _form(request, who)
    chat = _chat(raw_id)
    return _holder_step(request, chat, "end", "Not ended", lambda: service.end(chat.conversation_id, who))


@router.post("/staff/live/{raw_id}/answer")
async def set_answer(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("work_live"))) -> Response:
    """The holder corrects or adds a yes/no answer from what the client said in the chat."""
    form = await _form(request, who)
    chat = _chat(raw_id)
    key, value = form.get("key", ""), form.get("value", "")
    return _holder_step(
        request, chat, "answer", "Not set", lambda: service.set_answer(chat.conversation_id, who, key, value)
    )
