"""Login, sessions, logout, rate limiting and CSRF: against the real app and a real database."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests

from bot.store import audit
from bot.store import staff as staff_store
from tests.web.server import log_in, login_token, make_password

# Every staff page and API endpoint, as (method, path): none may show anything without a login.
PROTECTED = [
    ("GET", "/staff"),
    ("GET", "/staff/consultations"),
    ("GET", "/staff/consultations/{cid}"),
    ("POST", "/staff/consultations/export"),
    ("GET", "/staff/referrals"),
    ("GET", "/staff/referrals/{rid}"),
    ("GET", "/staff/referrals/{rid}/print"),
    ("POST", "/staff/referrals/{rid}/claim"),
    ("POST", "/staff/referrals/{rid}/close"),
    ("POST", "/staff/referrals/{rid}/hand-back"),
    ("GET", "/staff/outbox"),
    ("POST", "/staff/outbox/retry"),
    ("GET", "/staff/admin/staff"),
    ("POST", "/staff/admin/staff"),
    ("GET", "/staff/admin/audit"),
    ("POST", "/staff/logout"),
    ("GET", "/api/consultations"),
    ("GET", "/api/consultations/{cid}"),
    ("GET", "/api/consultations/{cid}/transcript"),
    ("GET", "/api/referrals"),
    ("GET", "/api/referrals/{rid}"),
    ("GET", "/api/openapi.json"),
]


@pytest.mark.parametrize("method,path", PROTECTED)
def test_nobody_unauthenticated_sees_anything(web, flagged, method, path) -> None:
    url = web + path.format(cid=flagged["id"], rid=flagged["referral"]["id"])
    response = requests.request(method, url, allow_redirects=False, data={"note": "x"})

    if path.startswith("/api/"):
        assert response.status_code == 401
        assert response.json() == {"error": "not signed in", "detail": "log in at /staff/login"}
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/staff/login")
    assert "Jane" not in response.text and "anticoagulant" not in response.text


def test_the_public_openapi_address_is_not_served(web, database_url) -> None:
    assert requests.get(web + "/openapi.json").status_code == 404
    assert requests.get(web + "/docs").status_code == 404


def test_login_sets_an_httponly_samesite_cookie_and_is_audited(web, database_url) -> None:
    password = make_password()
    staff_store.add("ann@clinic.example", password, "reception")
    session = requests.Session()

    response = log_in(session, web, "Ann@Clinic.example", password)

    assert response.status_code == 303 and response.headers["location"] == "/staff/consultations"
    cookie = response.headers["set-cookie"]
    assert "staff_session=" in cookie and "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert session.get(web + "/staff/consultations").status_code == 200
    entries, _ = audit.entries(action="login")
    assert [(e.actor, e.target_type) for e in entries] == [("ann@clinic.example", "staff")]


def test_a_wrong_password_is_refused_and_audited_without_the_password(web, database_url) -> None:
    staff_store.add("ann@clinic.example", make_password(), "reception")
    session = requests.Session()
    wrong = make_password()

    response = log_in(session, web, "ann@clinic.example", wrong)

    assert response.status_code == 401
    assert "do not match" in response.text
    assert "staff_session" not in response.headers.get("set-cookie", "")
    entries, _ = audit.entries(action="login_failed")
    assert len(entries) == 1 and entries[0].actor == "ann@clinic.example" and entries[0].ip == "127.0.0.1"
    assert wrong not in repr(entries)


def test_an_inactive_account_cannot_log_in(web, database_url) -> None:
    password = make_password()
    person = staff_store.add("ann@clinic.example", password, "reception")
    staff_store.update(person.id, active=False)

    assert log_in(requests.Session(), web, "ann@clinic.example", password).status_code == 401


def test_login_is_rate_limited_per_account(web, database_url, monkeypatch) -> None:
    monkeypatch.setenv("STAFF_LOGIN_RATE", "3/15m")
    password = make_password()
    staff_store.add("ann@clinic.example", password, "reception")
    session = requests.Session()
    for _ in range(3):
        assert log_in(session, web, "ann@clinic.example", make_password()).status_code == 401

    # from this address, even the right password waits now (other addresses are only slowed: tests/security)
    limited = log_in(session, web, "ann@clinic.example", password)

    assert limited.status_code == 429
    assert limited.headers["retry-after"] == str(15 * 60)
    assert "Too many failed attempts" in limited.text
    assert audit.entries(action="login_limited")[1] == 1


def test_the_rate_limit_window_passes(web, database_url, monkeypatch) -> None:
    monkeypatch.setenv("STAFF_LOGIN_RATE", "2/15m")
    password = make_password()
    staff_store.add("ann@clinic.example", password, "reception")
    long_ago = datetime.now(timezone.utc) - timedelta(minutes=16)
    for _ in range(2):
        audit.record("ann@clinic.example", "login_failed", ip="127.0.0.1", now=long_ago)

    assert log_in(requests.Session(), web, "ann@clinic.example", password).status_code == 303


def test_login_without_its_csrf_token_is_rejected(web, database_url) -> None:
    password = make_password()
    staff_store.add("ann@clinic.example", password, "reception")
    session = requests.Session()
    login_token(session, web)  # the cookie is there, the form field is not

    response = session.post(
        web + "/staff/login", data={"email": "ann@clinic.example", "password": password}, allow_redirects=False
    )

    assert response.status_code == 400
    assert "staff_session" not in response.headers.get("set-cookie", "")


def test_a_login_token_from_another_browser_is_rejected(web, database_url) -> None:
    password = make_password()
    staff_store.add("ann@clinic.example", password, "reception")
    attacker_token = login_token(requests.Session(), web)
    victim = requests.Session()
    login_token(victim, web)

    response = victim.post(
        web + "/staff/login",
        data={"email": "ann@clinic.example", "password": password, "login_token": attacker_token},
        allow_redirects=False,
    )

    assert response.status_code == 400


def test_logout_ends_the_session_for_good(staff_as, web) -> None:
    reception = staff_as("reception")
    cookie = reception.cookies.get("staff_session")

    response = reception.form("/staff/logout")

    assert response.status_code == 303 and response.headers["location"].startswith("/staff/login")
    replay = requests.get(web + "/staff/consultations", cookies={"staff_session": cookie}, allow_redirects=False)
    assert replay.status_code == 303
    assert audit.entries(action="logout")[1] == 1


def test_logout_needs_the_csrf_token(staff_as) -> None:
    reception = staff_as("reception")

    assert reception.form("/staff/logout", csrf=None).status_code == 400
    assert reception.form("/staff/logout", csrf="forged").status_code == 400
    assert reception.page("/staff/consultations").status_code == 200  # still signed in


def test_an_idle_session_expires(staff_as, web) -> None:
    import sqlalchemy as sa

    from bot.store.db import session_scope
    from bot.store.staff import StaffSession

    reception = staff_as("reception")
    with session_scope() as session:
        session.execute(sa.update(StaffSession).values(last_seen_at=datetime.now(timezone.utc) - timedelta(minutes=31)))

    response = reception.page("/staff/consultations")

    assert response.status_code == 303 and response.headers["location"].startswith("/staff/login")


def test_an_open_dashboard_tab_still_idles_out(staff_as) -> None:
    """The live pages poll JSON every few seconds by themselves: those polls answer, but do not keep the session
    alive; a page the person opens does."""
    import sqlalchemy as sa

    from bot.store.db import session_scope
    from bot.store.staff import StaffSession

    def seen_minutes_ago(minutes: float) -> None:
        with session_scope() as session:
            session.execute(
                sa.update(StaffSession).values(last_seen_at=datetime.now(timezone.utc) - timedelta(minutes=minutes))
            )

    def last_seen() -> datetime:
        with session_scope(write=False) as session:
            return session.execute(sa.select(StaffSession.last_seen_at)).scalar_one()

    practitioner = staff_as("practitioner")
    seen_minutes_ago(29)
    before = last_seen()
    for path in ("/staff/live/signal.json", "/staff/live/queue.json"):
        assert practitioner.page(path).status_code == 200
    assert last_seen() == before  # polled, not touched
    seen_minutes_ago(31)
    assert practitioner.page("/staff/live/signal.json").status_code in (401, 303)  # idled out all the same

    again = staff_as("practitioner")
    seen_minutes_ago(29)
    before = last_seen()
    assert again.page("/staff/live").status_code == 200
    assert last_seen() > before  # a page the person opened keeps the session alive


def test_a_new_password_ends_existing_sessions(staff_as) -> None:
    reception = staff_as("reception")
    person = staff_store.by_email(reception.email)

    staff_store.update(person.id, password=make_password())

    assert reception.page("/staff/consultations").status_code == 303


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example", "/\\evil.example", "/other"])
def test_login_never_redirects_off_the_staff_site(web, database_url, target) -> None:
    password = make_password()
    staff_store.add("ann@clinic.example", password, "reception")

    response = log_in(requests.Session(), web, "ann@clinic.example", password, next_path=target)

    assert response.headers["location"] == "/staff/consultations"


def test_login_returns_to_the_page_asked_for(web, flagged) -> None:
    password = make_password()
    staff_store.add("pat@clinic.example", password, "practitioner")
    target = f"/staff/referrals/{flagged['referral']['id']}"

    response = log_in(requests.Session(), web, "pat@clinic.example", password, next_path=target)

    assert response.headers["location"] == target


def test_passwords_are_stored_as_argon2_hashes(database_url) -> None:
    import sqlalchemy as sa

    from bot.store.db import session_scope
    from bot.store.staff import StaffUser

    password = make_password()
    staff_store.add("ann@clinic.example", password, "admin")
    with session_scope() as session:
        stored = session.execute(sa.select(StaffUser.password_hash)).scalar_one()

    assert stored.startswith("$argon2id$") and password not in stored
    assert staff_store.authenticate("ann@clinic.example", password) is not None
    assert staff_store.authenticate("ann@clinic.example", password + "x") is None


@pytest.mark.parametrize(
    "email,password,role,message",
    [
        ("not-an-email", "long-enough-pw", "reception", "email"),
        ("a@b.example", "short", "reception", "at least"),
        ("a@b.example", "long-enough-pw", "surgeon", "role"),
    ],
)
def test_bad_accounts_are_refused_with_a_reason(database_url, email, password, role, message) -> None:
    with pytest.raises(staff_store.StaffError, match=message):
        staff_store.add(email, password, role)
