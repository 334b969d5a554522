"""Errors the staff side raises and how they look: an HTML page for people, JSON for the API; never a traceback."""

from __future__ import annotations

import logging
import traceback
from typing import Optional

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from bot.web import auth
from bot.web.exceptions import BadRequest, NotFound
from bot.web.pages import render

__all__ = ["BadRequest", "NotFound", "crashed", "install"]  # the two exceptions are re-exported

logger = logging.getLogger(__name__)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _page(request: Request, status: int, title: str, message: str) -> Response:
    if _wants_json(request):
        return JSONResponse(
            {"error": title, "detail": message}, status_code=status, headers={"Cache-Control": "no-store"}
        )
    who: Optional[auth.SignedIn] = None
    try:
        who = auth.current(request)
    except Exception:  # the database may be what failed: show the page without the person
        who = None
    return render(request, who, "staff/error.html", {"title": title, "message": message}, status_code=status)


def install(app: FastAPI) -> None:
    @app.exception_handler(auth.NotSignedIn)
    async def not_signed_in(request: Request, exc: auth.NotSignedIn) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {"error": "not signed in", "detail": "log in at /staff/login"},
                status_code=401,
                headers={"Cache-Control": "no-store"},
            )
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(auth.login_url(target if request.method == "GET" else "/staff"), status_code=303)

    @app.exception_handler(auth.Forbidden)
    async def forbidden(request: Request, exc: auth.Forbidden) -> Response:
        roles = ", ".join(auth.roles_allowed(exc.permission))
        return _page(request, 403, "Not allowed", f"Your role cannot do this (it needs: {roles}).")

    @app.exception_handler(auth.CsrfRejected)
    async def csrf_rejected(request: Request, exc: auth.CsrfRejected) -> Response:
        return _page(
            request,
            400,
            "Form expired",
            "This form was not sent from a current page of the dashboard. Go back, reload and try again.",
        )

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return _page(request, 404, "Not found", f"There is no such {exc.what}.")

    @app.exception_handler(BadRequest)
    async def bad_request(request: Request, exc: BadRequest) -> Response:
        return _page(request, 400, "Cannot do that", exc.message)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        if _wants_json(request):
            return JSONResponse(
                {
                    "error": "invalid request",
                    "detail": [{"loc": e.get("loc"), "msg": e.get("msg")} for e in exc.errors()],
                },
                status_code=422,
            )
        return _page(request, 400, "Cannot read that", "Part of the address or form was not understood.")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404:
            return _page(request, 404, "Not found", "There is no page at this address.")
        if exc.status_code == 405:
            return _page(request, 405, "Not allowed", "This address does not take that kind of request.")
        return _page(request, exc.status_code, "Error", str(exc.detail)[:200])


def crashed(request: Request, exc: Exception) -> Response:
    """The 500 page. Logs the error's type and where it was raised; not its message (a database error quotes the
    values it was given, which may be a client's details), nor the query string (search text)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f"{frames[-1].filename.rsplit('/', 1)[-1]}:{frames[-1].lineno}" if frames else "?"
    logger.error("staff request failed path=%s error=%s at=%s", request.url.path, type(exc).__name__, where)
    return _page(request, 500, "Something went wrong", "The error was logged. Try again in a moment.")
