"""The FastAPI application: one app serves the clinic page (bot.web.clinic), the staff side (bot.web.staff) and the
staff JSON API (bot.web.api)."""

from __future__ import annotations

import importlib
from typing import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles

from bot.web import errors, limits, present
from bot.web.paths import STATIC_DIR, TEMPLATES_DIR

__all__ = ["STATIC_DIR", "TEMPLATES_DIR", "create_app"]  # the two paths re-exported (their home: bot.web.paths)

# Routers by module; each module exposes `router` (an APIRouter). Order matters only for overlapping paths.
ROUTERS = ("bot.web.clinic", "bot.web.staff", "bot.web.live", "bot.web.api")

# Request bodies are capped by bot.web.limits.BodyLimit (streamed bytes counted, chunked too): 64 KiB for staff
# forms and the API, 16 KiB for chat messages (/chat, /webhooks).
MAX_FORM_BYTES = limits.MAX_FORM_BYTES
STAFF_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # everything is served from here: no CDN, no inline script
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
}


def _is_staff(path: str) -> bool:
    return path.startswith("/staff") or path.startswith("/api/")


# Functions every router's templates may call. The public privacy notice (bot.web.clinic's templates) states the
# retention settings through privacy_facts.
TEMPLATE_GLOBALS = {"privacy_facts": present.privacy_facts}


def _give_template_globals(module: object) -> None:
    templates = getattr(module, "templates", None)
    if templates is not None:
        for name, value in TEMPLATE_GLOBALS.items():
            templates.env.globals.setdefault(name, value)


def create_app() -> FastAPI:
    # the schema lives at /api/openapi.json behind login (bot.web.api), not at the public /openapi.json
    app = FastAPI(title="Pre-consultation assistant: staff API", docs_url=None, redoc_url=None, openapi_url=None)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    @app.middleware("http")
    async def staff_guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        if not _is_staff(request.url.path):
            return await call_next(request)
        try:
            response = await call_next(request)
        except Exception as exc:  # caught here, so no traceback (which may quote a client's data) reaches the log
            if limits.too_large(exc):  # the body passed the cap while a route read it: not a crash
                return PlainTextResponse("Request too large.", status_code=413)
            response = errors.crashed(request, exc)
        for name, value in STAFF_HEADERS.items():
            response.headers.setdefault(name, value)
        return response

    errors.install(app)

    @app.exception_handler(limits.BodyTooLarge)
    async def too_large(request: Request, exc: limits.BodyTooLarge) -> Response:
        return PlainTextResponse("Request too large.", status_code=413)

    for name in ROUTERS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        app.include_router(module.router)
        _give_template_globals(module)
    # outermost of our middleware (added last): a body over the cap is refused before staff_guard or a route
    app.add_middleware(limits.BodyLimit)
    return app
