"""The real web app on a free port (uvicorn in a thread of the test process), and signed-in HTTP sessions.

The app reads DATABASE_URL on every request, so one server serves each test's own fresh database.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import threading
import time
from typing import Iterator, Optional, Tuple

import requests


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def running_app(trusted_proxies: Tuple[str, ...] = ()) -> Iterator[str]:
    """Serve bot.web.app on 127.0.0.1 as `python -m bot web serve` does (bot.web.cli.uvicorn_options: proxy headers
    believed only from `trusted_proxies`); yields its base URL; stops it on exit."""
    import uvicorn

    from bot.web.app import create_app
    from bot.web.cli import uvicorn_options

    port = free_port()
    config = uvicorn.Config(
        create_app(), host="127.0.0.1", port=port, lifespan="off", **uvicorn_options(trusted_proxies)
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the web app did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def make_password() -> str:
    return "pw-" + secrets.token_urlsafe(12)


def login_token(session: requests.Session, base: str) -> str:
    page = session.get(f"{base}/staff/login")
    found = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert found, "the login form has no CSRF token"
    return found.group(1)


def log_in(
    session: requests.Session, base: str, email: str, password: str, *, next_path: str = "/staff"
) -> requests.Response:
    token = login_token(session, base)
    return session.post(
        f"{base}/staff/login",
        data={"email": email, "password": password, "login_token": token, "next": next_path},
        allow_redirects=False,
    )


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


class Staff(requests.Session):
    """A signed-in member of staff: `.csrf` is their session's token (read from a page's form)."""

    def __init__(self, base: str, email: str, role: str, password: str) -> None:
        super().__init__()
        self.base, self.email, self.role, self.password = base, email, role, password
        self.csrf: Optional[str] = None

    def page(self, path: str, **params: str) -> requests.Response:
        return self.get(self.base + path, params=params or None, allow_redirects=False)

    def form(self, path: str, data: Optional[dict] = None, *, csrf: Optional[str] = "auto") -> requests.Response:
        body = dict(data or {})
        if csrf == "auto":
            body["csrf_token"] = self.csrf
        elif csrf is not None:
            body["csrf_token"] = csrf
        return self.post(self.base + path, data=body, allow_redirects=False)


def signed_in_session(base: str, role: str, email: Optional[str] = None) -> Staff:
    """A new account with this role (in the current DATABASE_URL) and a session logged in as it."""
    from bot.store import staff as staff_store

    email = email or f"{role}-{secrets.token_hex(3)}@clinic.example"
    password = make_password()
    staff_store.add(email, password, role)
    session = Staff(base, email, role, password)
    response = log_in(session, base, email, password)
    assert response.status_code == 303, response.text[:500]
    session.csrf = csrf_of(session.get(base + "/staff/login?next=/staff", allow_redirects=True).text)
    return session
