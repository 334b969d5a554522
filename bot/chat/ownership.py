"""Who may talk in a conversation: the browser the server gave its id to.

The server issues every chat conversation: a random id and, with it, a secret (HMAC-SHA256 of the id under the
server's chat key, CHAT_KEY or var/chat-key). Only the id is ever shown (staff pages, exports, logs, Rasa's tracker);
the secret stays in the browser's sessionStorage and comes with every message. Nothing is stored per conversation,
so every Rasa replica and the web app check it alike with the same key.

    issue(key) -> Issued(conversation_id, secret)
    secret_for(key, conversation_id) -> secret
    verify(key, conversation_id, secret) -> bool         constant time; an id never issued has no valid secret
    RateLimiter(ChatRate).allow(name) -> (ok, retry_after_seconds)
    client_address(peer, forwarded_for, trusted_proxies) -> the client's address
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import threading
import time
from typing import Dict, NamedTuple, Optional, Sequence, Tuple

ID_PREFIX = "web-"

REFUSED = {
    "error": "conversation_refused",
    "message": "This conversation can't be continued from here: it was not started in this browser, or its key is "
    "missing. Please start a new conversation.",
}
RATE_LIMITED = {
    "error": "rate_limited",
    "message": "You're sending messages faster than I can read them. Please wait a moment, then send your message "
    "again.",
}


class Issued(NamedTuple):
    conversation_id: str
    secret: str


def secret_for(key: str, conversation_id: str) -> str:
    return hmac.new(key.encode("utf-8"), b"chat:" + conversation_id.encode("utf-8"), hashlib.sha256).hexdigest()


def issue(key: str) -> Issued:
    conversation_id = ID_PREFIX + secrets.token_hex(16)
    return Issued(conversation_id, secret_for(key, conversation_id))


def verify(key: str, conversation_id: object, secret: object) -> bool:
    if not isinstance(conversation_id, str) or not isinstance(secret, str) or not conversation_id or not secret:
        return False
    return hmac.compare_digest(secret_for(key, conversation_id), secret)


class RateLimiter:
    """Token buckets by name (an address, a conversation): `burst` at once, refilled at burst/seconds per second.

    In memory, per process; idle full buckets are dropped so it stays small."""

    MAX_BUCKETS = 20000

    def __init__(self, rate: Tuple[int, float]) -> None:
        self.burst = float(rate[0])
        self.per_second = rate[0] / float(rate[1])
        self._buckets: Dict[str, Tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, name: str, now: Optional[float] = None) -> Tuple[bool, float]:
        now = time.monotonic() if now is None else now
        with self._lock:
            tokens, then = self._buckets.get(name, (self.burst, now))
            tokens = min(self.burst, tokens + (now - then) * self.per_second)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - 1.0, now)
                allowed, wait = True, 0.0
            else:
                self._buckets[name] = (tokens, now)
                allowed, wait = False, (1.0 - tokens) / self.per_second
            if len(self._buckets) > self.MAX_BUCKETS:
                self._prune(now)
        return allowed, wait

    def _prune(self, now: float) -> None:
        full_after = self.burst / self.per_second
        for name, (_, then) in list(self._buckets.items()):
            if now - then >= full_after:
                del self._buckets[name]


def _in(address: str, networks: Sequence[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address in networks
    for item in networks:
        try:
            if ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address(peer: Optional[str], forwarded_for: Optional[str], trusted_proxies: Sequence[str]) -> str:
    """The TCP peer, unless it is one of TRUSTED_PROXIES: then the nearest X-Forwarded-For hop not a trusted proxy."""
    peer = peer or "unknown"
    if not forwarded_for or not trusted_proxies or not _in(peer, trusted_proxies):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, trusted_proxies):
            return hop
    return hops[0] if hops else peer
