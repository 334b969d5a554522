"""Rendering staff pages: one Jinja2 environment (autoescaped), the signed-in person and their CSRF token in every
page, and the count of undelivered notifications for those who act on it."""

from __future__ import annotations

from typing import Any, Dict, Optional
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from bot import settings as settings_module
from bot.store import outbox
from bot.store.staff import SignedIn
from bot.web import auth, present
from bot.web.paths import TEMPLATES_DIR

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.globals.update(
    when=present.when,
    clock=present.clock,
    iso=present.iso,
    age=present.age,
    status_word=present.status_word,
    outcome_word=present.outcome_word,
    answer_rows=present.answer_rows,
    can=auth.can,
)

NO_STORE = {"Cache-Control": "no-store"}  # staff pages hold personal data: never kept in a shared cache


def query_with(params: Dict[str, Any], **changes: Any) -> str:
    merged = {k: v for k, v in {**params, **changes}.items() if v not in (None, "")}
    return "?" + urlencode(merged) if merged else "?"


templates.env.globals["query_with"] = query_with


def render(
    request: Request,
    who: Optional[SignedIn],
    template: str,
    context: Optional[Dict[str, Any]] = None,
    status_code: int = 200,
) -> HTMLResponse:
    undelivered = 0
    if who is not None and auth.can(who, "read_outbox"):
        undelivered = outbox.count_undelivered()
    settings = settings_module.get()
    base = {
        "who": who,
        "csrf_token": who.csrf_token if who else "",
        "clinic": settings.clinic,
        "undelivered": undelivered,
        "smtp_configured": bool(settings.smtp_url),
        "path": request.url.path,
    }
    base.update(context or {})
    return templates.TemplateResponse(request, template, base, status_code=status_code, headers=NO_STORE)
