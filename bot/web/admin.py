"""Admin pages: staff accounts and the audit log; and the undelivered notifications (admins and practitioners)."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from bot.store import audit, outbox
from bot.store import staff as staff_store
from bot.store.staff import SignedIn, StaffError
from bot.web import auth
from bot.web.exceptions import BadRequest
from bot.web.pages import render

router = APIRouter(include_in_schema=False)

PER_PAGE = 50


@router.get("/staff/admin/staff", response_class=HTMLResponse)
def staff_list(request: Request, who: SignedIn = Depends(auth.need("manage_staff"))) -> Response:
    audit.record(who.staff.email, "view_page", detail="staff accounts", ip=auth.client_ip(request))
    return render(
        request,
        who,
        "staff/admin_staff.html",
        {
            "people": staff_store.all_staff(),
            "roles": staff_store.ROLES,
            "flash": request.query_params.get("done", ""),
            "min_password": staff_store.MIN_PASSWORD_LENGTH,
        },
    )


@router.post("/staff/admin/staff")
async def staff_add(request: Request, who: SignedIn = Depends(auth.need("manage_staff"))) -> Response:
    form = await request.form()
    auth.check_csrf(who, form.get(auth.CSRF_FIELD))  # type: ignore[arg-type]
    try:
        added = staff_store.add(
            str(form.get("email") or ""), str(form.get("password") or ""), str(form.get("role") or "")
        )
    except StaffError as exc:
        raise BadRequest(str(exc)) from None
    audit.record(
        who.staff.email, "staff_added", "staff", str(added.id), detail=f"role={added.role}", ip=auth.client_ip(request)
    )
    return RedirectResponse("/staff/admin/staff?done=added", status_code=303)


@router.post("/staff/admin/staff/{raw_id}")
async def staff_change(raw_id: str, request: Request, who: SignedIn = Depends(auth.need("manage_staff"))) -> Response:
    form = await request.form()
    auth.check_csrf(who, form.get(auth.CSRF_FIELD))  # type: ignore[arg-type]
    staff_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 12 else 0
    role = str(form.get("role") or "") or None
    active_raw = form.get("active")
    active = None if active_raw is None else active_raw == "yes"
    password = str(form.get("password") or "") or None
    target = staff_store.get(staff_id)
    if target is None:
        raise BadRequest("There is no such account.")
    removing_admin = target.role == "admin" and target.active and (active is False or (role and role != "admin"))
    if removing_admin and staff_store.count_active_admins() <= 1:
        raise BadRequest("This is the last active admin: make another admin first.")
    try:
        changed = staff_store.update(staff_id, role=role, active=active, password=password)
    except StaffError as exc:
        raise BadRequest(str(exc)) from None
    what = [f"role={changed.role}", f"active={changed.active}"] + (["password reset"] if password else [])
    audit.record(
        who.staff.email, "staff_changed", "staff", str(staff_id), detail=" ".join(what), ip=auth.client_ip(request)
    )
    return RedirectResponse("/staff/admin/staff?done=changed", status_code=303)


@router.get("/staff/admin/audit", response_class=HTMLResponse)
def audit_log(request: Request, who: SignedIn = Depends(auth.need("read_audit"))) -> Response:
    params = request.query_params
    try:
        page = max(1, int(params.get("page", "1")))
    except ValueError:
        page = 1
    action = params.get("action") or None
    if action not in audit.ACTIONS:
        action = None
    actor = (params.get("actor") or "").strip()[:254] or None
    target = (params.get("target") or "").strip()[:64] or None
    entries, total = audit.entries(actor=actor, action=action, target_id=target, page=page, per_page=PER_PAGE)
    audit.record(who.staff.email, "view_page", detail="audit log", ip=auth.client_ip(request))
    return render(
        request,
        who,
        "staff/audit.html",
        {
            "entries": entries,
            "total": total,
            "page": page,
            "pages": max(1, math.ceil(total / PER_PAGE)),
            "actions": audit.ACTIONS,
            "filters": {"action": action or "", "actor": actor or "", "target": target or ""},
        },
    )


@router.get("/staff/outbox", response_class=HTMLResponse)
def outbox_page(request: Request, who: SignedIn = Depends(auth.need("read_outbox"))) -> Response:
    letters, total = outbox.undelivered()
    audit.record(who.staff.email, "view_page", detail="undelivered notifications", ip=auth.client_ip(request))
    return render(
        request,
        who,
        "staff/outbox.html",
        {"letters": letters, "total": total, "flash": request.query_params.get("done", "")},
    )


@router.post("/staff/outbox/retry")
async def outbox_retry(request: Request, who: SignedIn = Depends(auth.need("retry_outbox"))) -> Response:
    form = await request.form()
    auth.check_csrf(who, form.get(auth.CSRF_FIELD))  # type: ignore[arg-type]
    count = outbox.retry()
    audit.record(
        who.staff.email, "outbox_retry", "outbox", None, detail=f"messages={count}", ip=auth.client_ip(request)
    )
    return RedirectResponse("/staff/outbox?done=retry", status_code=303)
