"""The staff side under /staff: login and logout here; reception, practitioner and admin pages in their modules."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Optional

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from bot.settings import LoginRate
from bot.store import audit
from bot.store import staff as staff_store
from bot.store.staff import SignedIn
from bot.web import auth
from bot.web.admin import router as admin_router
from bot.web.consultations import router as consultations_router
from bot.web.pages import render
from bot.web.referrals import router as referrals_router

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)

LOGIN_COOKIE_MAX_AGE = 3600


# Per-account backoff: once an account has had `failures` failed logins in the window (from any address), every
# further attempt on it waits BASE * 2**(n - failures) seconds, at most CAP, before its password is checked.
LOGIN_BACKOFF_BASE_SECONDS = 0.5
LOGIN_BACKOFF_CAP_SECONDS = 8.0
# per client address, over all accounts: this many times the per-account allowance
ADDRESS_FACTOR = 4


@dataclass(frozen=True)
class LoginCheck:
    """What the login limit says about one attempt: refused (why), or let through after `delay` seconds."""

    refused: Optional[str] = None  # "account_from_address" | "address"
    delay: float = 0.0

    def message(self, rate: LoginRate) -> str:
        if self.refused == "address":
            return (
                f"Too many failed attempts from this network. Wait {rate.minutes} minutes and try again, "
                "or ask an admin."
            )
        return (
            f"Too many failed attempts for this account from this device or network. Wait {rate.minutes} "
            "minutes, sign in from your usual device, or ask an admin to set a new password."
        )


def login_backoff(account_failures: int, allowed: int) -> float:
    """Seconds an attempt on an account waits, given its failed logins in the window from every address."""
    over = account_failures - allowed
    if over < 0:
        return 0.0
    return min(LOGIN_BACKOFF_BASE_SECONDS * (2 ** min(over, 32)), LOGIN_BACKOFF_CAP_SECONDS)


def login_verdict(*, pair_failures: int, address_failures: int, account_failures: int, rate: LoginRate) -> LoginCheck:
    """The rule, without the database. Failures are counted per (address, account) and per address, so an attacker
    locks out only themselves: the owner, from their own address, is never refused for someone else's guesses, and
    guesses at one account from many addresses are slowed (backoff), not turned into a lock-out."""
    if pair_failures >= rate.failures:
        return LoginCheck(refused="account_from_address")
    if address_failures >= rate.failures * ADDRESS_FACTOR:
        return LoginCheck(refused="address")
    return LoginCheck(delay=login_backoff(account_failures, rate.failures))


def login_check(email: str, ip: Optional[str], rate: LoginRate) -> LoginCheck:
    minutes = rate.minutes
    return login_verdict(
        # no address (a unix socket): the account's failures from everywhere stand in for this address's
        pair_failures=audit.failed_logins(email=email, ip=ip or None, minutes=minutes),
        address_failures=audit.failed_logins(ip=ip, minutes=minutes) if ip else 0,
        account_failures=audit.failed_logins(email=email, minutes=minutes),
        rate=rate,
    )


def _home_for(who: SignedIn) -> str:
    return "/staff/referrals" if who.staff.role == "practitioner" else "/staff/consultations"


@router.get("/staff", response_class=HTMLResponse)
@router.get("/staff/", response_class=HTMLResponse)
def home(who: SignedIn = Depends(auth.signed_in)) -> Response:
    return RedirectResponse(_home_for(who), status_code=303)


def _login_page(request: Request, *, error: str = "", email: str = "", status_code: int = 200) -> Response:
    nonce = auth.new_login_nonce()
    response = render(
        request,
        None,
        "staff/login.html",
        {
            "login_token": auth.login_token(nonce),
            "next": auth.safe_next(request.query_params.get("next")),
            "error": error,
            "email": email,
        },
        status_code=status_code,
    )
    settings = auth.settings()
    response.set_cookie(
        auth.LOGIN_COOKIE,
        nonce,
        max_age=LOGIN_COOKIE_MAX_AGE,
        httponly=True,
        samesite="strict",
        secure=settings.cookie_secure,
        path="/staff/login",
    )
    return response


@router.get("/staff/login", response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    who = auth.current(request)
    if who is not None:
        return RedirectResponse(auth.safe_next(request.query_params.get("next")), status_code=303)
    return _login_page(request)


@router.post("/staff/login")
async def login(request: Request) -> Response:
    form = await request.form()
    auth.check_login_csrf(request.cookies.get(auth.LOGIN_COOKIE), form.get("login_token"))  # type: ignore[arg-type]
    email = str(form.get("email") or "").strip().lower()[:254]
    password = str(form.get("password") or "")
    ip = auth.client_ip(request)  # the TCP peer, or what a proxy in TRUSTED_PROXIES says (never a client's header)
    settings = auth.settings()
    rate = settings.staff_login_rate
    check = await run_in_threadpool(login_check, email, ip, rate)
    if check.refused:
        audit.record(email or None, "login_limited", ip=ip, detail=check.refused)
        response = _login_page(request, email=email, status_code=429, error=check.message(rate))
        response.headers["Retry-After"] = str(rate.minutes * 60)
        return response
    if check.delay:
        await asyncio.sleep(check.delay)  # slows guessing at this account from anywhere; never refuses the owner
    staff = await run_in_threadpool(staff_store.authenticate, email, password)  # argon2: off the event loop
    if staff is None:
        audit.record(email or None, "login_failed", ip=ip)
        return _login_page(
            request, email=email, status_code=401, error="That email and password do not match an active account."
        )
    token, who = staff_store.start_session(
        staff, idle_minutes=settings.session_idle_minutes, max_hours=settings.session_max_hours
    )
    audit.record(staff.email, "login", "staff", str(staff.id), detail=staff.role, ip=ip)
    next_path = auth.safe_next(str(form.get("next") or ""))
    response = RedirectResponse(_home_for(who) if next_path == "/staff" else next_path, status_code=303)
    response.set_cookie(
        auth.SESSION_COOKIE,
        token,
        max_age=settings.session_max_hours * 3600,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        path="/",
    )
    response.delete_cookie(auth.LOGIN_COOKIE, path="/staff/login")
    return response


@router.post("/staff/logout")
async def logout(request: Request, who: SignedIn = Depends(auth.signed_in)) -> Response:
    form = await request.form()
    auth.check_csrf(who, form.get(auth.CSRF_FIELD))  # type: ignore[arg-type]
    staff_store.end_session(request.cookies.get(auth.SESSION_COOKIE, ""))
    audit.record(who.staff.email, "logout", "staff", str(who.staff.id), ip=auth.client_ip(request))
    response = RedirectResponse("/staff/login?signed_out=1", status_code=303)
    response.delete_cookie(auth.SESSION_COOKIE, path="/")
    return response


router.include_router(consultations_router)
router.include_router(referrals_router)
router.include_router(admin_router)
