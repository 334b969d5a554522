"""Finding 2: the conversation id was the only credential (any sender id accepted; socket.io joined any room).

Now the server issues each conversation an id and a secret; the REST channel (inside Rasa, so loopback callers too)
and the web app's proxy refuse an id presented without its secret, with another's secret, or never issued."""

from __future__ import annotations

import json
import secrets
from typing import Dict

import pytest
import requests

from bot.chat import ownership
from tests.e2e.stack import Stack


@pytest.fixture(scope="module")
def victim(stack: Stack) -> Dict[str, str]:
    for text in ("hi", "/affirm", "Ada Lovelace", "ada@example.com"):
        stack.say("ownership-victim", text)
    conversation_id, secret = stack.chat("ownership-victim")
    return {"sender": conversation_id, "secret": secret}


def _event_count(stack: Stack, conversation_id: str) -> int:
    return len(stack.tracker(conversation_id)["events"])


def attempts(victim: Dict[str, str], stack: Stack) -> Dict[str, Dict[str, str]]:
    other_id, other_secret = stack.issue()
    return {
        "id without secret": {"sender": victim["sender"]},
        "empty secret": {"sender": victim["sender"], "secret": ""},
        "wrong secret": {"sender": victim["sender"], "secret": secrets.token_hex(32)},
        "another conversation's secret": {"sender": victim["sender"], "secret": other_secret},
        "id never issued": {"sender": "web-" + secrets.token_hex(16), "secret": secrets.token_hex(32)},
        "a chosen id": {"sender": "me", "secret": "anything"},
    }


@pytest.mark.parametrize("where", ["rasa channel on loopback", "web app proxy"])
def test_another_browsers_conversation_is_refused(stack: Stack, victim: Dict[str, str], where: str) -> None:
    base = stack.rasa_url if where.startswith("rasa") else stack.web_url
    before = _event_count(stack, victim["sender"])
    for name, body in attempts(victim, stack).items():
        response = requests.post(f"{base}/webhooks/rest/webhook", json={**body, "message": "/affirm"}, timeout=30)
        assert response.status_code == 403, (name, response.text)
        answer = response.json()
        assert answer["error"] == "conversation_refused" and "new conversation" in answer["message"], name
        assert "Ada" not in response.text and "ada@example.com" not in response.text
    assert _event_count(stack, victim["sender"]) == before  # nothing was added to the client's conversation
    assert stack.tracker(victim["sender"], "NONE")["slots"]["name"] == "Ada Lovelace"


def test_the_issued_conversation_with_its_secret_is_answered(stack: Stack) -> None:
    issued = requests.post(f"{stack.web_url}/chat/session", timeout=30)
    assert issued.status_code == 200 and issued.headers["Cache-Control"] == "no-store"
    body = issued.json()
    assert body["sender"].startswith(ownership.ID_PREFIX) and len(body["sender"]) == 36 and len(body["secret"]) == 64
    reply = requests.post(f"{stack.web_url}/webhooks/rest/webhook", json={**body, "message": "hi"}, timeout=60)
    assert reply.status_code == 200 and reply.json() and reply.json()[0]["recipient_id"] == body["sender"]
    assert requests.post(f"{stack.web_url}/chat/session", timeout=30).json()["sender"] != body["sender"]


def test_the_secret_is_kept_nowhere_the_id_is_shown(stack: Stack, victim: Dict[str, str]) -> None:
    tracker = json.dumps(stack.tracker(victim["sender"]))
    shown = json.dumps(stack.show(victim["sender"]))
    assert victim["sender"] in shown and victim["sender"] in tracker
    assert victim["secret"] not in tracker and victim["secret"] not in shown
    assert victim["secret"] not in stack.log()


def test_socketio_is_gone(stack: Stack) -> None:
    response = requests.get(f"{stack.rasa_url}/socket.io/", params={"EIO": "4", "transport": "polling"}, timeout=30)
    assert response.status_code == 404


def test_the_proxy_takes_json_only_and_from_allowed_origins(stack: Stack, victim: Dict[str, str]) -> None:
    url = f"{stack.web_url}/webhooks/rest/webhook"
    form = requests.post(
        url, data=json.dumps({**victim, "message": "/affirm"}), headers={"Content-Type": "text/plain"}, timeout=30
    )
    assert form.status_code == 415
    evil = requests.post(
        url, json={**victim, "message": "/affirm"}, headers={"Origin": "https://evil.example"}, timeout=30
    )
    assert evil.status_code == 403 and "access-control-allow-origin" not in evil.headers
    preflight = requests.options(
        url, headers={"Origin": "https://www.clinic.example", "Access-Control-Request-Method": "POST"}, timeout=30
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://www.clinic.example"
    assert requests.options(url, headers={"Origin": "https://evil.example"}, timeout=30).status_code == 403
    embedded = requests.post(
        f"{stack.web_url}/chat/session", headers={"Origin": "https://www.clinic.example"}, timeout=30
    )
    assert embedded.status_code == 200
    assert embedded.headers["Access-Control-Allow-Origin"] == "https://www.clinic.example"
