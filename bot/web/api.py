"""The staff JSON API under /api (same login and roles as the pages; every read of a consultation is audited).

`GET /api/consultations/{id}` serves `python -m bot consultation show ID --json` (the contract: docs/architecture.md,
"The consultation JSON"), except that for reception (a role that does not read referrals) `referral.outcome_note`,
the practitioner's closing note, is null, as the reception page never shows it.
The OpenAPI schema is at /api/openapi.json, behind login too.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Dict, List, Optional, Union

from fastapi import APIRouter, Depends, Query, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from bot.store import audit, consultation_reads, referrals, search
from bot.store.staff import SignedIn
from bot.web import auth, present, staff_urls
from bot.web.exceptions import NotFound
from bot.web.referral_record import VIEWS, referral_view

router = APIRouter(prefix="/api", tags=["staff"])


class ApiModel(BaseModel):
    """pydantic v1 writes Optional fields as plain types in OpenAPI; mark them as also allowing null."""

    class Config:
        @staticmethod
        def schema_extra(schema: Dict[str, Any], model: Any) -> None:
            for field in model.__fields__.values():
                if not field.allow_none:
                    continue
                prop = schema.get("properties", {}).get(field.alias)
                if prop is None or "anyOf" in prop and {"type": "null"} in prop["anyOf"]:
                    continue
                title = prop.pop("title", None)
                description = prop.pop("description", None)
                inner = dict(prop)
                prop.clear()
                prop["anyOf"] = [inner, {"type": "null"}] if inner else [{}, {"type": "null"}]
                if title:
                    prop["title"] = title
                if description:
                    prop["description"] = description
                prop["nullable"] = True


class Reason(ApiModel):
    code: str
    rule: str
    detail: Optional[str]


class Finding(ApiModel):
    code: str
    outcome: str
    rule: str
    detail: Optional[str]
    rationale: Optional[str]


class Note(ApiModel):
    code: str
    rule: str
    detail: Optional[str]


class ReferralOut(ApiModel):
    id: int
    status: str
    severity: str
    rules_version: Optional[str]
    created_at: str
    updated_at: str
    claimed_by: Optional[str]
    claimed_at: Optional[str]
    contacted_by: Optional[str]
    contacted_at: Optional[str]
    closed_by: Optional[str]
    closed_at: Optional[str]
    outcome_note: Optional[str]  # the practitioner's closing note: null for reception
    transcript_url: str


class ConsultationOut(ApiModel):
    """The contract (conversation_id, status, outcome, reasons, answers, referral; docs/architecture.md) and more."""

    conversation_id: str
    status: str
    outcome: Optional[str]
    reasons: List[Reason]
    answers: Dict[str, Any]
    referral: Optional[ReferralOut]
    id: str
    sequence: int
    rules_version: Optional[str]
    requested_human: bool
    findings: List[Finding]
    notes: List[Note]
    created_at: str
    updated_at: str
    last_activity_at: str
    completed_at: Optional[str]


class ConsultationRow(ApiModel):
    id: str
    conversation_id: str
    created_at: str
    name: Optional[str]
    contact_email: Optional[str]
    contact_phone: Optional[str]
    status: str
    outcome: Optional[str]
    requested_human: bool
    referral_id: Optional[int]
    referral_status: Optional[str]


class ConsultationPage(ApiModel):
    total: int
    page: int
    per_page: int
    items: List[ConsultationRow]


class Line(ApiModel):
    time: Optional[str]
    sender: str = Field(..., description="client or assistant")
    text: Optional[str]
    buttons: List[str]


class QueueItemOut(ApiModel):
    referral_id: int
    consultation_id: str
    status: str
    severity: str
    created_at: str
    claimed_by: Optional[str]
    name: Optional[str]
    codes: List[str]
    messages: int


class QueuePage(ApiModel):
    total: int
    page: int
    items: List[QueueItemOut]


class StepOut(ApiModel):
    at: str
    actor: str
    action: str
    from_status: Optional[str]
    to_status: Optional[str]
    note: Optional[str]


class MessageOut(ApiModel):
    received_at: str
    text: str


class ReferralDetail(ApiModel):
    referral: ReferralOut
    consultation: ConsultationOut
    history: List[StepOut]
    messages: List[MessageOut]


class ErrorOut(ApiModel):
    error: str
    detail: Any = None


ERRORS: Dict[Union[int, str], Dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "not signed in"},
    403: {"model": ErrorOut, "description": "the role does not allow it"},
}


@router.get("/consultations", response_model=ConsultationPage, responses=ERRORS)
def list_consultations(
    request: Request,
    q: str = Query("", max_length=search.MAX_QUERY, description="name, email, phone, consultation or conversation id"),
    status: Optional[str] = Query(None, pattern="^(in_progress|complete|abandoned|handed_off)$"),
    outcome: Optional[str] = Query(None, pattern="^(clear|review|defer)$"),
    date_from: Optional[date] = Query(None, alias="from"),
    date_to: Optional[date] = Query(None, alias="to"),
    page: int = Query(1, ge=1, le=1_000_000),
    per_page: int = Query(50, ge=1, le=200),
    who: SignedIn = Depends(auth.need("read_consultations")),
) -> Dict[str, Any]:
    since, until = present.day_bounds(date_from, date_to)
    filters = search.Filters(q=q, status=status, outcome=outcome, since=since, until=until)
    rows, total = search.find(filters, page=page, per_page=per_page)
    audit.record(
        who.staff.email,
        "list_consultations",
        detail=f"api {filters.describe()} page={page}",
        ip=auth.client_ip(request),
    )
    return {"total": total, "page": page, "per_page": per_page, "items": [r.as_dict() for r in rows]}


@router.get(
    "/consultations/{consultation_id}",
    response_model=ConsultationOut,
    responses={**ERRORS, 404: {"model": ErrorOut, "description": "no such consultation"}},
)
def get_consultation(
    consultation_id: str, request: Request, who: SignedIn = Depends(auth.need("read_consultations"))
) -> JSONResponse:
    shown = staff_urls.show(consultation_id[:255])
    if shown is None:
        raise NotFound("consultation")
    audit.record(
        who.staff.email, "view_consultation", "consultation", shown["id"], detail="api", ip=auth.client_ip(request)
    )
    if not auth.can(who, "read_referrals"):  # reception: no practitioner's notes, as on the page
        shown = present.without_practitioner_notes(shown)
    # show()'s JSON (the CLI's), with referral.outcome_note null for roles that do not read referrals
    return JSONResponse(shown, headers={"Cache-Control": "no-store"})


@router.get(
    "/consultations/{consultation_id}/transcript",
    response_model=List[Line],
    responses={**ERRORS, 404: {"model": ErrorOut, "description": "no such consultation"}},
)
def get_transcript(
    consultation_id: str, request: Request, who: SignedIn = Depends(auth.need("read_consultations"))
) -> List[Dict[str, Any]]:
    shown = consultation_reads.show(consultation_id[:255])
    if shown is None:
        raise NotFound("consultation")
    audit.record(
        who.staff.email,
        "view_consultation",
        "consultation",
        shown["id"],
        detail="api transcript",
        ip=auth.client_ip(request),
    )
    return consultation_reads.transcript(shown["conversation_id"])


def _iso(value: Optional[datetime]) -> Optional[str]:
    return value.isoformat() if value is not None else None


@router.get("/referrals", response_model=QueuePage, responses=ERRORS)
def list_referrals(
    request: Request,
    show: str = Query("open", pattern="^(open|new|claimed|contacted|closed)$"),
    page: int = Query(1, ge=1, le=1_000_000),
    who: SignedIn = Depends(auth.need("read_referrals")),
) -> Dict[str, Any]:
    items, total = referrals.queue(VIEWS[show], page=page)
    audit.record(who.staff.email, "view_queue", detail=f"api show={show} page={page}", ip=auth.client_ip(request))
    return {
        "total": total,
        "page": page,
        "items": [
            {
                "referral_id": i.referral_id,
                "consultation_id": i.consultation_id,
                "status": i.status,
                "severity": i.severity,
                "created_at": _iso(i.created_at),
                "claimed_by": i.claimed_by,
                "name": i.name,
                "codes": list(i.codes),
                "messages": i.messages,
            }
            for i in items
        ],
    }


@router.get(
    "/referrals/{referral_id}",
    response_model=ReferralDetail,
    responses={**ERRORS, 404: {"model": ErrorOut, "description": "no such referral"}},
)
def get_referral(
    referral_id: int, request: Request, who: SignedIn = Depends(auth.need("read_referrals"))
) -> Dict[str, Any]:
    view = referral_view(referral_id) if 0 < referral_id < 2**63 else None
    if view is None:
        raise NotFound("referral")
    audit.record(
        who.staff.email,
        "view_referral",
        "referral",
        str(referral_id),
        detail=f"api consultation={view['consultation']['id']}",
        ip=auth.client_ip(request),
    )
    return {
        "referral": view["referral"],
        "consultation": view["consultation"],
        "history": [
            {
                "at": _iso(s.at),
                "actor": s.actor,
                "action": s.action,
                "from_status": s.from_status,
                "to_status": s.to_status,
                "note": s.note,
            }
            for s in view["history"]
        ],
        "messages": [{"received_at": _iso(m.received_at), "text": m.text} for m in view["messages"]],
    }


@router.get("/openapi.json", include_in_schema=False)
def openapi_schema(request: Request, who: SignedIn = Depends(auth.signed_in)) -> JSONResponse:
    app = request.app
    if not getattr(app.state, "api_schema", None):
        app.state.api_schema = get_openapi(
            title="Pre-consultation assistant: staff API",
            version="1",
            description="Read-only staff API. Sign in at /staff/login; the session cookie authenticates.",
            routes=[r for r in app.routes if getattr(r, "path", "").startswith("/api/")],
        )
    return JSONResponse(app.state.api_schema)
