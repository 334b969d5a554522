"""Issue 9, finding 4: forged X-Forwarded-For, and locking an owner out by guessing at their account.

Against the real web app over HTTP (served as `python -m bot web serve` serves it) and a real database: proxy
headers count only from TRUSTED_PROXIES, the audit log names the real peer, failures are limited per (address,
account) and per address, and an account under attack is slowed (backoff), never closed to its owner.
"""

from __future__ import annotations

import os
import time
from typing import Dict, Iterator

import pytest
import requests

from bot.settings import LoginRate
from bot.store import audit
from bot.store import staff as staff_store
from tests.web.server import log_in, make_password, running_app

os.environ.setdefault("WEB_SECRET", "test-web-secret-" + "x" * 16)

ATTACKER = "203.0.113.7"
OWNER_HOME = "198.51.100.20"


@pytest.fixture(scope="module")
def web() -> Iterator[str]:
    """The web app with no trusted proxy (the default): every request's address is its TCP peer, 127.0.0.1."""
    with running_app() as base:
        yield base


@pytest.fixture(scope="module")
def behind_proxy() -> Iterator[str]:
    """The web app with TRUSTED_PROXIES=127.0.0.1: the test plays the proxy, naming each client's address."""
    with running_app(("127.0.0.1",)) as base:
        yield base


@pytest.fixture
def quick_backoff(monkeypatch: pytest.MonkeyPatch) -> float:
    from bot.web import staff as staff_pages

    monkeypatch.setattr(staff_pages, "LOGIN_BACKOFF_BASE_SECONDS", 0.05)
    monkeypatch.setattr(staff_pages, "LOGIN_BACKOFF_CAP_SECONDS", 0.4)
    return 0.4


def attempt(base: str, email: str, password: str, forwarded_for: str) -> requests.Response:
    session = requests.Session()
    session.headers["X-Forwarded-For"] = forwarded_for
    return log_in(session, base, email, password)


def audit_ips(action: str) -> Dict[str, int]:
    rows, _total = audit.entries(action=action, per_page=500)
    found: Dict[str, int] = {}
    for row in rows:
        found[row.ip] = found.get(row.ip, 0) + 1
    return found


def test_the_default_is_to_believe_no_proxy_header() -> None:
    from bot import settings
    from bot.web.cli import uvicorn_options

    assert settings.from_env({"WEB_SECRET": "s" * 20}).trusted_proxies == ()
    assert uvicorn_options(())["proxy_headers"] is False
    proxied = uvicorn_options(("10.0.0.5", "192.168.0.0/24"))
    assert proxied["proxy_headers"] is True and proxied["forwarded_allow_ips"] == ["10.0.0.5", "192.168.0.0/24"]
    assert settings.from_env(
        {"WEB_SECRET": "s" * 20, "TRUSTED_PROXIES": " 10.0.0.5, 10.1.0.0/16 "}
    ).trusted_proxies == ("10.0.0.5", "10.1.0.0/16")
    with pytest.raises(settings.SettingsError, match="TRUSTED_PROXIES"):
        settings.from_env({"WEB_SECRET": "s" * 20, "TRUSTED_PROXIES": "proxy.example"})


def test_rotating_forwarded_for_does_not_escape_the_per_address_limit(web, database_url, monkeypatch) -> None:
    monkeypatch.setenv("STAFF_LOGIN_RATE", "5/15m")  # 20 failures per address (x4), over any accounts
    statuses = [
        attempt(web, f"guess{i}@clinic.example", make_password(), f"203.0.113.{i + 1}").status_code for i in range(24)
    ]

    assert statuses[:20] == [401] * 20
    assert statuses[20:] == [429] * 4, statuses
    assert audit_ips("login_failed") == {"127.0.0.1": 20}  # the real peer, never a forged address
    assert set(audit_ips("login_limited")) == {"127.0.0.1"}


def test_an_attackers_guesses_lock_only_their_own_address_out_of_that_account(web, database_url, monkeypatch) -> None:
    monkeypatch.setenv("STAFF_LOGIN_RATE", "3/15m")
    staff_store.add("ann@clinic.example", make_password(), "reception")
    bob_password = make_password()
    staff_store.add("bob@clinic.example", bob_password, "reception")

    statuses = [attempt(web, "ann@clinic.example", make_password(), f"198.51.100.{i}").status_code for i in range(1, 7)]

    assert statuses == [401, 401, 401, 429, 429, 429]
    limited = attempt(web, "ann@clinic.example", make_password(), "192.0.2.1")
    assert limited.status_code == 429 and "Too many failed attempts" in limited.text
    assert limited.headers["retry-after"] == str(15 * 60)
    # the same address may still sign in to another account: the limit is per (address, account)
    assert attempt(web, "bob@clinic.example", bob_password, "192.0.2.2").status_code == 303


def test_forwarded_for_is_believed_from_a_trusted_proxy(behind_proxy, database_url) -> None:
    password = make_password()
    staff_store.add("ann@clinic.example", password, "reception")

    # a client's own X-Forwarded-For entries come first; the proxy appends the address it saw, which counts
    assert attempt(behind_proxy, "ann@clinic.example", make_password(), f"10.9.9.9, {ATTACKER}").status_code == 401
    assert attempt(behind_proxy, "ann@clinic.example", password, OWNER_HOME).status_code == 303

    assert audit_ips("login_failed") == {ATTACKER: 1}
    assert audit_ips("login") == {OWNER_HOME: 1}


def test_the_owner_logs_in_while_their_account_is_under_attack(
    behind_proxy, database_url, monkeypatch, quick_backoff
) -> None:
    monkeypatch.setenv("STAFF_LOGIN_RATE", "5/15m")
    password = make_password()
    staff_store.add("ann@clinic.example", password, "practitioner")

    # 20 wrong passwords from one real address, each with a different forged entry in front
    statuses = [
        attempt(behind_proxy, "ann@clinic.example", make_password(), f"10.0.{i}.1, {ATTACKER}").status_code
        for i in range(20)
    ]
    assert statuses == [401] * 5 + [429] * 15
    # the attacker's address stays closed to this account, even with the right password
    assert attempt(behind_proxy, "ann@clinic.example", password, ATTACKER).status_code == 429

    started = time.monotonic()
    owner = attempt(behind_proxy, "ann@clinic.example", password, OWNER_HOME)
    waited = time.monotonic() - started

    assert owner.status_code == 303, owner.text[:300]
    assert owner.headers["location"] == "/staff/referrals"
    assert waited < 5  # the account's failures cost the owner at most the (capped) backoff, never a refusal
    assert audit_ips("login") == {OWNER_HOME: 1}
    assert audit_ips("login_failed") == {ATTACKER: 5}


def test_guesses_from_many_real_addresses_are_slowed_down(
    behind_proxy, database_url, monkeypatch, quick_backoff
) -> None:
    monkeypatch.setenv("STAFF_LOGIN_RATE", "2/15m")
    staff_store.add("ann@clinic.example", make_password(), "reception")
    from bot.web import staff as staff_pages

    failures = 6
    for i in range(failures):
        assert attempt(behind_proxy, "ann@clinic.example", make_password(), f"203.0.113.{i + 1}").status_code == 401
    # six failures over an allowance of two: the backoff has reached its cap
    assert staff_pages.login_backoff(failures, 2) == quick_backoff

    started = time.monotonic()
    assert attempt(behind_proxy, "ann@clinic.example", make_password(), "203.0.113.99").status_code == 401
    assert time.monotonic() - started >= quick_backoff * 0.9


def test_the_rule_itself() -> None:
    from bot.web import staff as staff_pages

    rate = LoginRate(5, 15)
    verdict = staff_pages.login_verdict
    assert verdict(pair_failures=0, address_failures=0, account_failures=0, rate=rate).delay == 0
    assert verdict(pair_failures=4, address_failures=4, account_failures=4, rate=rate).refused is None
    assert verdict(pair_failures=5, address_failures=5, account_failures=5, rate=rate).refused == "account_from_address"
    assert verdict(pair_failures=0, address_failures=20, account_failures=0, rate=rate).refused == "address"
    # an account with a thousand failures from elsewhere: a fresh address is never refused, only delayed (capped)
    attacked = verdict(pair_failures=0, address_failures=0, account_failures=1000, rate=rate)
    assert attacked.refused is None
    assert 0 < attacked.delay <= staff_pages.LOGIN_BACKOFF_CAP_SECONDS
    delays = [staff_pages.login_backoff(n, 5) for n in range(4, 12)]
    assert delays[0] == 0 and delays == sorted(delays) and delays[-1] == staff_pages.LOGIN_BACKOFF_CAP_SECONDS
    assert "Wait 15 minutes" in staff_pages.LoginCheck(refused="address").message(rate)
