"""The clinic's public side: the demo page with the chat widget, the privacy notice, and the widget's health check."""
from __future__ import annotations

from typing import Dict
from urllib.error import URLError
from urllib.request import urlopen

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.templating import Jinja2Templates

from bot import settings as settings_module
from bot.web.app import TEMPLATES_DIR

router = APIRouter()
templates = Jinja2Templates(directory=str(TEMPLATES_DIR))

# The widget asks this while the assistant is unreachable; one second is plenty on one machine.
HEALTH_TIMEOUT_SECONDS = 1.0


def _page(request: Request, template: str) -> HTMLResponse:
    settings = settings_module.get()
    return templates.TemplateResponse(
        request,
        template,
        {"clinic": settings.clinic, "rasa_url": settings.public_rasa_url},
        headers={"Cache-Control": "no-cache"},
    )


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def clinic_page(request: Request) -> HTMLResponse:
    return _page(request, "clinic/index.html")


@router.get("/privacy", response_class=HTMLResponse, include_in_schema=False)
def privacy_notice(request: Request) -> HTMLResponse:
    return _page(request, "clinic/privacy.html")


def _answers(url: str) -> bool:
    try:
        with urlopen(url, timeout=HEALTH_TIMEOUT_SECONDS) as response:  # noqa: S310 (our own local servers)
            return 200 <= response.status < 300
    except (URLError, OSError, ValueError):
        return False


@router.get("/chat/health", include_in_schema=False)
def chat_health() -> JSONResponse:
    """Whether the Rasa server and the action server answer, for the widget's reconnect loop.

    The action server listens on 127.0.0.1 only, so the browser cannot ask it; this says nothing about anyone's data,
    so any site embedding the widget may read it."""
    settings = settings_module.get()
    body: Dict[str, str] = {
        "rasa": "up" if _answers(f"http://127.0.0.1:{settings.rasa_port}/") else "down",
        "actions": "up" if _answers(f"http://127.0.0.1:{settings.actions_port}/health") else "down",
    }
    return JSONResponse(body, headers={"Access-Control-Allow-Origin": "*", "Cache-Control": "no-store"})
