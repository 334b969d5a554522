"""Who is signed in, what their role allows, and the CSRF check every staff form passes.

Sessions live in the database (bot.store.staff): the cookie holds only a random token, logout deletes the row, and
every instance of the web app sees the same sessions. Forms carry the session's CSRF token; the login form, which has
no session yet, carries an HMAC of a short-lived cookie instead.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Callable, Iterable, Optional
from urllib.parse import quote

from fastapi import Request

from bot import settings as settings_module
from bot.store import staff as staff_store
from bot.store.staff import SignedIn

SESSION_COOKIE = "staff_session"
LOGIN_COOKIE = "staff_login"
CSRF_FIELD = "csrf_token"

# what each role may do (a role not listed for a permission is refused with 403)
PERMISSIONS = {
    "read_consultations": ("reception", "practitioner", "admin"),
    "export": ("reception", "admin"),
    "read_referrals": ("practitioner", "admin"),
    "work_referrals": ("practitioner",),
    "read_outbox": ("practitioner", "admin"),
    "retry_outbox": ("practitioner", "admin"),
    "manage_staff": ("admin",),
    "read_audit": ("admin",),
    # the live chat: everyone who reads transcripts sees the queue and a live conversation (read-only); only a
    # practitioner takes a chat, writes to the client, hands it back or ends it
    "read_live": ("reception", "practitioner", "admin"),
    "work_live": ("practitioner",),
}


class NotSignedIn(Exception):
    """No live session: pages redirect to the login form, the API answers 401."""


class Forbidden(Exception):
    """Signed in, but the role does not allow this (403)."""

    def __init__(self, permission: str) -> None:
        super().__init__(permission)
        self.permission = permission


class CsrfRejected(Exception):
    """A form arrived without the right CSRF token (400)."""


def settings() -> settings_module.Settings:
    return settings_module.get()


def client_ip(request: Request) -> Optional[str]:
    return request.client.host if request.client else None


def can(who: Optional[SignedIn], permission: str) -> bool:
    return who is not None and who.staff.role in PERMISSIONS[permission]


def is_background_poll(request: Request) -> bool:
    """The JSON a dashboard page fetches by itself every few seconds (bot/web/static/staff/live.js): the live
    queue, the waiting signal, a live thread. It does not keep a session alive, so an open tab still idles out."""
    path = request.url.path
    return request.method == "GET" and path.startswith(BACKGROUND_POLL_PREFIX) and path.endswith(".json")


BACKGROUND_POLL_PREFIX = "/staff/live/"


def current(request: Request) -> Optional[SignedIn]:
    """The signed-in member of staff for this request, if any (looked up once per request)."""
    if "staff_signed_in" in request.scope:
        return request.scope["staff_signed_in"]
    token = request.cookies.get(SESSION_COOKIE, "")
    who = (
        staff_store.resume_session(
            token, idle_minutes=settings().session_idle_minutes, touch=not is_background_poll(request)
        )
        if token
        else None
    )
    request.scope["staff_signed_in"] = who
    return who


def signed_in(request: Request) -> SignedIn:
    who = current(request)
    if who is None:
        raise NotSignedIn()
    return who


def need(permission: str) -> Callable[[Request], SignedIn]:
    """A FastAPI dependency: the signed-in member of staff, whose role allows `permission`."""
    if permission not in PERMISSIONS:
        raise ValueError(f"unknown permission {permission!r}")

    def dependency(request: Request) -> SignedIn:
        who = signed_in(request)
        if who.staff.role not in PERMISSIONS[permission]:
            raise Forbidden(permission)
        return who

    return dependency


def check_csrf(who: SignedIn, submitted: Optional[str]) -> None:
    if not submitted or not hmac.compare_digest(str(submitted), who.csrf_token):
        raise CsrfRejected()


def login_url(next_path: str) -> str:
    return "/staff/login?next=" + quote(next_path, safe="/")


def safe_next(raw: Optional[str]) -> str:
    """Only a path on this site under /staff (never //evil.example or https://...)."""
    if raw and raw.startswith("/staff") and not raw.startswith("//") and "\\" not in raw and "\n" not in raw:
        return raw
    return "/staff"


# -------------------------------------------------------------------------------------------- the login form's CSRF


def login_token(nonce: str) -> str:
    return hmac.new(settings().web_secret.encode(), f"login:{nonce}".encode(), hashlib.sha256).hexdigest()


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


def check_login_csrf(nonce: Optional[str], submitted: Optional[str]) -> None:
    if not nonce or not submitted or not hmac.compare_digest(login_token(nonce), str(submitted)):
        raise CsrfRejected()


def roles_allowed(permission: str) -> Iterable[str]:
    return PERMISSIONS[permission]
