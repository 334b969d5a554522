"""Calling Rasa's HTTP API from our own processes (hand-back, tests, benches): its address and its credential.

Rasa listens on RASA_HOST (loopback by default); browsers never reach it (the web app proxies the chat channel).
Its API accepts only `Authorization: Bearer <JWT>`: an HS256 JWT signed with RASA_TOKEN (or var/rasa-token), with
Rasa's `admin` role (rasa/server.py `requires_auth`). bot/rasa_run.py gives Rasa the secret (`--jwt-secret`) inside
its own process, so it is never on a command line; no `?token=` is accepted, so no credential is ever in a URL.

    base_url(settings) -> "http://127.0.0.1:5005"
    headers(settings | token) -> {"Authorization": "Bearer ..."}
"""

from __future__ import annotations

import time
from typing import Dict, Optional, Union

from bot import settings as settings_module

JWT_LIFETIME_SECONDS = 300
KNOWN_DEFAULTS = frozenset(
    {"dev-token-change-me", "test-token", "changeme", "change-me", "secret", "token", "rasa", "password"}
)
MIN_TOKEN_LENGTH = 32


def weak_token_problem(token: str) -> Optional[str]:
    """Why this RASA_TOKEN must not be used, or None when it is strong enough."""
    if token.strip().lower() in KNOWN_DEFAULTS:
        return "RASA_TOKEN is a known default"
    if len(token) < MIN_TOKEN_LENGTH:
        return f"RASA_TOKEN is shorter than {MIN_TOKEN_LENGTH} characters"
    return None


WEAK_TOKEN_HELP = (
    "unset RASA_TOKEN (a strong one is made once and kept in var/rasa-token, mode 0600) or set a random "
    "one: .venv/bin/python -c 'import secrets; print(secrets.token_urlsafe(32))'"
)


def base_url(settings: Optional[settings_module.Settings] = None) -> str:
    settings = settings or settings_module.get()
    host = settings.rasa_host
    if host in ("", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"
    return f"http://{host}:{settings.rasa_port}"


def bearer(token: str, lifetime: int = JWT_LIFETIME_SECONDS) -> str:
    import jwt

    payload = {"user": {"username": "clinic-server", "role": "admin"}, "exp": int(time.time()) + lifetime}
    return jwt.encode(payload, token, algorithm="HS256")


def headers(source: Union[settings_module.Settings, str, None] = None) -> Dict[str, str]:
    token = source if isinstance(source, str) else (source or settings_module.get()).rasa_token
    return {"Authorization": f"Bearer {bearer(token)}"}
