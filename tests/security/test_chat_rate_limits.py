"""The chat channel's rate limits (the web app's proxy, the real default limits): a flood from one conversation or
one address gets 429 with a friendly JSON message; a client typing normally never does. X-Forwarded-For from a peer
not in TRUSTED_PROXIES changes nothing."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Dict, List

import requests

from bot import settings as settings_module
from tests.e2e.stack import Stack

ADDRESS = settings_module.Settings.__dataclass_fields__["chat_rate_address"].default
CONVERSATION = settings_module.Settings.__dataclass_fields__["chat_rate_conversation"].default


def refill() -> None:
    time.sleep(max(ADDRESS.seconds, 1.0) + 0.5)  # the address bucket full again (each test starts fresh)


def session(stack: Stack) -> Dict[str, str]:
    sender, secret = stack.issue()  # from the channel on loopback: the address bucket is not spent on it
    return {"sender": sender, "secret": secret}


def send(stack: Stack, body: Dict[str, str], headers: Dict[str, str] = None) -> requests.Response:
    return requests.post(f"{stack.web_url}/webhooks/rest/webhook", json=body, headers=headers or {}, timeout=120)


def assert_friendly(response: requests.Response) -> None:
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "rate_limited" and "wait a moment" in body["message"]
    assert int(response.headers["Retry-After"]) >= 1 and body["retry_after"] >= 1


def test_a_client_typing_normally_is_never_limited(stack: Stack) -> None:
    refill()
    me = session(stack)
    texts = [
        "hi",
        "/affirm",
        "Grace Hope",
        "grace@example.com",
        "acne scars",
        "/deny",
        "cheeks",
        "none",
        "does it hurt?",
        "/deny",
        "/deny",
        "/deny",
        "/deny",
        "/deny",
    ]
    for text in texts:  # quicker than anyone types: a message every 0.8 s, answered in between
        began = time.monotonic()
        response = send(stack, {**me, "message": text})
        assert response.status_code == 200, (text, response.text)
        time.sleep(max(0.0, 0.8 - (time.monotonic() - began)))


def flood(stack: Stack, bodies: List[Dict[str, str]], headers: List[Dict[str, str]] = None) -> List[requests.Response]:
    headers = headers or [{}] * len(bodies)
    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(lambda pair: send(stack, *pair), zip(bodies, headers, strict=True)))


def test_a_burst_from_one_conversation_gets_429(stack: Stack) -> None:
    refill()
    me = session(stack)
    answers = flood(stack, [{**me, "message": "hello?"}] * 20)
    codes = [r.status_code for r in answers]
    assert set(codes) <= {200, 429} and codes.count(429) >= 20 - CONVERSATION.burst - 2, codes
    assert_friendly(next(r for r in answers if r.status_code == 429))
    other = session(stack)  # another conversation at the same address is not held up by it
    assert send(stack, {**other, "message": "hi"}).status_code == 200


def test_a_burst_from_one_address_gets_429_whatever_it_says_it_forwards_for(stack: Stack) -> None:
    refill()
    bodies = [{**session(stack), "message": "hi"} for _ in range(20)]
    spoofed = [{"X-Forwarded-For": f"198.51.100.{n}"} for n in range(20)]  # the peer is not a trusted proxy
    answers = flood(stack, bodies, spoofed)
    codes = [r.status_code for r in answers]
    assert set(codes) <= {200, 429} and 429 in codes, codes
    assert_friendly(next(r for r in answers if r.status_code == 429))


def test_new_conversations_from_one_address_are_limited_too(stack: Stack) -> None:
    refill()
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: requests.post(f"{stack.web_url}/chat/session", timeout=30), range(20)))
    codes = [r.status_code for r in answers]
    assert 429 in codes and codes.count(200) <= ADDRESS.burst + 2, codes
    assert_friendly(next(r for r in answers if r.status_code == 429))
    refill()
    assert requests.post(f"{stack.web_url}/chat/session", timeout=30).status_code == 200  # and it passes
