"""Practitioners' pages: the referral queue, one referral (claim, contacted, close, notes, hand back), its print."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot import rasa_pause
from bot.live import service as live_service
from bot.store import audit, consultation_reads, referrals
from bot.store.staff import SignedIn
from bot.web import auth, present
from bot.web.exceptions import BadRequest, NotFound
from bot.web.pages import render
from bot.web.referral_record import VIEWS, referral_view

router = APIRouter(include_in_schema=False)

PER_PAGE = 50
STEP_AUDIT = {"claim": "referral_claimed", "contact": "referral_contacted", "close": "referral_closed"}


def _referral_id(raw: str) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise NotFound("referral") from None
    if not 0 < value < 2**63:
        raise NotFound("referral")
    return value


@router.get("/staff/referrals", response_class=HTMLResponse)
def queue(request: Request, who: SignedIn = Depends(auth.need("read_referrals"))) -> Response:
    view = request.query_params.get("show", "open")
    if view not in VIEWS:
        view = "open"
    try:
        page = max(1, int(request.query_params.get("page", "1")))
    except ValueError:
        page = 1
    items, total = referrals.queue(VIEWS[view], page=page, per_page=PER_PAGE)
    audit.record(who.staff.email, "view_queue", detail=f"show={view} page={page}", ip=auth.client_ip(request))
    return render(
        request,
        who,
        "staff/referrals.html",
        {
            "items": items,
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "view": view,
            "views": list(VIEWS),
            "counts": referrals.counts(),
            "incomplete_marker": present.INCOMPLETE_MARKER,
        },
    )


@router.get("/staff/referrals/{raw_id}", response_class=HTMLResponse)
def referral_page(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("read_referrals"))) -> Response:
    referral_id = _referral_id(raw_id)
    view = referral_view(referral_id)
    if view is None:
        raise NotFound("referral")
    c = view["consultation"]
    audit.record(
        who.staff.email,
        "view_referral",
        "referral",
        str(referral_id),
        detail=f"consultation={c['id']}",
        ip=auth.client_ip(request),
    )
    chat = live_service.get(c["conversation_id"], with_reasons=False) if c["requested_human"] else None
    paused = (chat is not None and chat.paused) or (
        rasa_pause.is_paused(c["conversation_id"]) if c["requested_human"] else False
    )
    return render(
        request,
        who,
        "staff/referral.html",
        {
            **view,
            "c": c,
            "lines": consultation_reads.transcript(c["conversation_id"]),
            "paused": paused,
            "flash": request.query_params.get("done", ""),
            "incomplete_marker": present.INCOMPLETE_MARKER,
        },
    )


@router.get("/staff/referrals/{raw_id}/print", response_class=HTMLResponse)
def referral_print(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("read_referrals"))) -> Response:
    referral_id = _referral_id(raw_id)
    view = referral_view(referral_id)
    if view is None:
        raise NotFound("referral")
    audit.record(who.staff.email, "print_referral", "referral", str(referral_id), ip=auth.client_ip(request))
    return render(
        request,
        who,
        "staff/referral_print.html",
        {
            **view,
            "c": view["consultation"],
            "now": datetime.now(timezone.utc),
            "incomplete_marker": present.INCOMPLETE_MARKER,
        },
    )


OVERRIDE_ROLE = "admin"  # may close a referral someone else claimed, as an audited override
OVERRIDE_DETAIL = "admin override"  # the audit entry's detail of such a close (action referral_closed)


def view_claimer(referral_id: int) -> Optional[str]:
    consultation_id = referrals.consultation_of(referral_id)
    shown = consultation_reads.show(consultation_id) if consultation_id else None
    return (shown or {}).get("referral", {}).get("claimed_by") if shown and shown.get("referral") else None


def _hand_back(conversation_id: str, who: SignedIn) -> None:
    """The referral page's hand-back. A live chat still open (waiting, taken, timed out) is handed back through the
    live service, so the chat proxy stops keeping the client's messages and the open question is asked again; the
    practitioner takes it first if nobody has (one in the chat already keeps it: only they hand it back). Without
    a live chat, the assistant's own pause is cleared."""
    chat = live_service.get(conversation_id, with_reasons=False)
    try:
        if chat is not None and chat.paused:
            live_service.take(conversation_id, who)
            live_service.hand_back(conversation_id, who)
        else:
            rasa_pause.hand_back(conversation_id)
    except live_service.AlreadyTaken as exc:
        raise BadRequest(f"{exc.by_name} is in this chat live: only they can hand it back.") from None
    except live_service.LiveError as exc:
        raise BadRequest(f"Could not hand the conversation back: {exc}.") from None
    except (rasa_pause.HandBackError, live_service.AssistantUnavailable) as exc:
        raise BadRequest(f"Could not hand the conversation back: {exc}. Try again in a moment.") from None


@router.post("/staff/referrals/{raw_id}/{step}")
async def referral_step(raw_id: str, step: str, request: Request, who: SignedIn = Depends(auth.signed_in)) -> Response:
    """A practitioner's step on a referral. Closing a claimed one is the claimer's; an admin may close any open
    referral only as an override (the form's `override=yes`), audited as `referral_closed` with the detail
    "admin override (claimed by ...)", and recorded in the referral's history as `close_override`."""
    may_override = step == "close" and who.staff.role == OVERRIDE_ROLE
    if not auth.can(who, "work_referrals") and not may_override:
        raise auth.Forbidden("work_referrals")
    referral_id = _referral_id(raw_id)
    form = await request.form()
    auth.check_csrf(who, form.get(auth.CSRF_FIELD))  # type: ignore[arg-type]
    override = may_override and str(form.get("override") or "") == "yes"
    if may_override and not override:
        raise auth.Forbidden("work_referrals")  # an admin does not work referrals, only overrides a close
    note = str(form.get("note") or "")
    actor = who.staff.email
    ip = auth.client_ip(request)
    try:
        if override:
            claimer = view_claimer(referral_id) or "nobody"
            referrals.advance(referral_id, step, actor, note, override=True)
            audit.record(
                actor,
                STEP_AUDIT[step],
                "referral",
                str(referral_id),
                detail=f"{OVERRIDE_DETAIL} (claimed by {claimer})",
                ip=ip,
            )
        elif step in referrals.STEPS:
            referrals.advance(referral_id, step, actor, note)
            audit.record(actor, STEP_AUDIT[step], "referral", str(referral_id), ip=ip)
        elif step == "note":
            referrals.add_note(referral_id, actor, note)
            audit.record(actor, "referral_note", "referral", str(referral_id), ip=ip)
        elif step == "hand-back":
            consultation_id = referrals.consultation_of(referral_id)
            shown = consultation_reads.show(consultation_id) if consultation_id else None
            if shown is None:
                raise NotFound("referral")
            _hand_back(shown["conversation_id"], who)
            referrals.add_note(referral_id, actor, note or "Handed back to the assistant.", action="hand_back")
            audit.record(actor, "handed_back", "referral", str(referral_id), ip=ip)
        else:
            raise NotFound("action")
    except referrals.ReferralError as exc:
        raise BadRequest(str(exc)) from None
    return RedirectResponse(f"/staff/referrals/{referral_id}?done={step}", status_code=303)
