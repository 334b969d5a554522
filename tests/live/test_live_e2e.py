"""End to end through a real stack (supervisor, Rasa, action server, web app on one SQLite database), no browser:
the client talks through the web app as the widget does; the practitioner is this test process calling
bot/live/service.py, as the staff pages do.

Asking for a person mid-question pauses the questions at once; what the client writes meanwhile is stored and fills
no answer; the practitioner's messages, typing and leaving reach the client's stream; every process restarts in the
middle and nothing is lost or doubled; the hand-back asks the open question again and the consultation completes
with its outcome and client_requested_human. And a chat nobody joins times out, and can still be taken.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Iterator

import pytest

from bot.live import service
from bot.store import staff as staff_store
from tests.e2e.script import STANDARD
from tests.e2e.stack import Stack
from tests.live.client import LiveClient, as_staff_of, message, open_all_day_clinic, status, tracker


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("live-stack")
    clinic = open_all_day_clinic(workdir / "clinic.yml")
    running = Stack(workdir, with_web=True, extra_env={"CLINIC_FILE": str(clinic), "LIVE_WAIT_MINUTES": "5"})
    running.start()
    yield running
    running.stop()


@pytest.fixture
def practitioner(live_stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    import uuid

    as_staff_of(live_stack, monkeypatch)
    member = staff_store.add(f"sam.{uuid.uuid4().hex[:6]}@clinic.example", "a long enough password 123", "practitioner")
    return staff_store.SignedIn(staff=member, csrf_token="t")


def _until(client: LiveClient, key: str) -> None:
    """The standard answers, up to (not including) the question `key`."""
    for step, text, expect in STANDARD:
        if step == key:
            return
        replies = client.say(text)
        said = " ".join(r.get("text") or "" for r in replies)
        assert expect.lower() in said.lower(), f"after {text!r}: {said}"


def _slots(stack: Stack, conversation_id: str) -> dict:
    return tracker(stack, conversation_id)["slots"]


def test_a_practitioner_takes_over_mid_question_and_hands_back(live_stack: Stack, practitioner: Any) -> None:
    client = LiveClient(live_stack.web_url).start()
    _until(client, "concerns")  # the open question: "What would you like to improve?"

    replies = client.say("Actually, can I speak to a real person please?")
    said = " ".join(r.get("text") or "" for r in replies)
    assert "asked a practitioner to join this chat" in said and "few minutes" in said
    assert "what would you like to improve" not in said.lower()  # paused at once: the question is not asked again
    assert client.live == "waiting"
    state = tracker(live_stack, client.sender)
    assert state["active_loop"] in ({}, None) or not state["active_loop"].get("name")
    assert state["slots"]["concerns"] is None and state["slots"]["name"] == "Jane Doe"

    chat = service.get(client.sender)
    assert chat.state == "waiting" and "client_requested_human" in chat.reasons
    assert client.sender in [c.conversation_id for c in service.queue()]
    client.open_stream()
    client.wait_for(status(state="waiting"))

    # while waiting the client keeps writing: stored for the practitioner, never read as an answer
    ack = client.say("acne scars")
    assert ack and "passed that on" in ack[0]["text"]
    assert client.say("and some redness") == []  # acknowledged once
    slots = _slots(live_stack, client.sender)
    assert slots["concerns"] is None
    assert (live_stack.show(client.sender)["answers"] or {}).get("concerns") in (None, [])
    client_lines = [m["text"] for m in service.thread(client.sender) if m["author"] == "client"]
    assert client_lines[-2:] == ["acne scars", "and some redness"]

    mark = client.mark()
    service.take(client.sender, practitioner)
    joined = client.wait_for(message("assistant", "has joined the chat"), since=mark)
    assert joined.data["text"].startswith("Sam (practitioner)")
    client.wait_for(status(state="taken", name="Sam"), since=mark)

    mark = client.mark()
    service.typing(client.sender, practitioner)
    client.wait_for(status(typing=True, name="Sam"), since=mark)
    sent = service.send(client.sender, practitioner, "Hello, I'm Sam. Happy to help with the acne scars.")
    got = client.wait_for(message("staff", "Happy to help"), since=mark)
    assert (got.data["name"], got.data["role"], got.data["id"]) == ("Sam", "practitioner", sent["id"])
    assert client.say("Thank you!") == []  # with a person: no automated answer

    # every process restarts in the middle of the chat: the state is in the database
    live_stack.restart()
    assert service.get(client.sender).state == "taken"
    service.send(client.sender, practitioner, "Still here after the restart.")
    client.wait_for(message("staff", "after the restart"), timeout=60)
    assert client.reconnects >= 1
    assert len(client.seen_ids) == len(set(client.seen_ids))  # nothing twice

    service.hand_back(client.sender, practitioner)
    left = client.wait_for(message("assistant", "has left the chat"))
    assert "handed you back" in left.data["text"]
    client.wait_for(message("assistant", "What would you like to improve"))  # the open question again
    client.wait_for(lambda e: e.kind == "end")
    client.close()
    assert service.get(client.sender).state == "returned"
    assert len(client.seen_ids) == len(set(client.seen_ids))

    keys = [step for step, _, _ in STANDARD]
    for _step, text, expect in STANDARD[keys.index("concerns") :]:
        replies = client.say(text)
        said = " ".join(r.get("text") or "" for r in replies)
        assert expect.lower() in said.lower(), f"after {text!r}: {said}"
        assert client.live is None
    shown = live_stack.show(client.sender)
    # complete (a consultation that asked for a person is stored as handed_off once judged, with completed_at)
    assert shown["status"] == "handed_off" and shown["completed_at"] and shown["outcome"] == "review"
    assert "client_requested_human" in {r["code"] for r in shown["reasons"]}
    assert "acne" in str(shown["answers"]["concerns"])  # the resumed question's answer, given after the hand-back
    assert shown["referral"] is not None
    # the practitioner's words are in the transcript (and so in export and erasure): they are tracker events
    thread = service.thread(client.sender)
    assert [m["text"] for m in thread if m["author"] == "staff"] == [
        "Hello, I'm Sam. Happy to help with the acne scars.",
        "Still here after the restart.",
    ]


def test_an_answer_the_practitioner_corrects_in_the_chat_is_the_consultations(
    live_stack: Stack, practitioner: Any
) -> None:
    """The client asks for a person at the blood-thinner question and tells the practitioner about warfarin: the
    practitioner sets the answer, hands back, and the assistant goes on with the next question, not that one."""
    client = LiveClient(live_stack.web_url).start()
    _until(client, "blood_thinners")
    client.say("can I ask someone first whether warfarin matters?")
    assert client.live == "waiting"
    client.open_stream()
    service.take(client.sender, practitioner)
    service.send(client.sender, practitioner, "Are you taking warfarin now?")
    client.say("yes, for two years, for my heart")
    service.set_answer(client.sender, practitioner, "blood_thinners", "yes")
    assert _slots(live_stack, client.sender)["blood_thinners"] == "yes"

    mark = client.mark()
    service.hand_back(client.sender, practitioner)
    client.wait_for(message("assistant", "bleeding or clotting disorder"), since=mark)  # the next question
    client.wait_for(lambda e: e.kind == "end")
    client.close()
    asked_again = [
        m for m in service.thread(client.sender) if m["author"] == "assistant" and "blood thinner" in m["text"]
    ]
    assert len(asked_again) == 1  # asked once, before the chat; never again after the practitioner's answer

    keys = [step for step, _, _ in STANDARD]
    for _step, text, expect in STANDARD[keys.index("bleeding_disorder") :]:
        said = " ".join(r.get("text") or "" for r in client.say(text))
        assert expect.lower() in said.lower(), f"after {text!r}: {said}"
    shown = live_stack.show(client.sender)
    assert shown["answers"]["blood_thinners"] == "yes" and shown["outcome"] == "review"
    assert {"anticoagulant", "client_requested_human"} <= {r["code"] for r in shown["reasons"]}


def test_nobody_joins_the_client_is_told_and_the_chat_can_still_be_taken(live_stack: Stack, practitioner: Any) -> None:
    client = LiveClient(live_stack.web_url).start()
    _until(client, "area")
    client.say("I want to talk to a human")
    assert client.live == "waiting"
    client.open_stream()
    client.wait_for(status(state="waiting"))

    assert service.sweep(now=service.as_utc(None) + timedelta(minutes=2)) == 0
    mark = client.mark()
    assert service.sweep(now=service.as_utc(None) + timedelta(minutes=6)) == 1
    told = client.wait_for(message("assistant", "nobody has been able to join"), since=mark)
    assert "/book" in told.data["text"] and "call back" in told.data["text"]
    client.wait_for(status(state="timed_out"), since=mark)
    assert service.get(client.sender).state == "timed_out" and service.waiting_count() >= 1
    assert client.say("ok, I'll wait")[0]["text"] == service.ACK_WAITING

    service.take(client.sender, practitioner)
    client.wait_for(message("assistant", "has joined the chat"))
    service.end(client.sender, practitioner)
    client.wait_for(message("assistant", "has ended the chat"))
    client.wait_for(lambda e: e.kind == "end")
    client.close()
    assert service.get(client.sender).state == "ended"
    # the assistant answers again
    replies = client.say("hello")
    assert replies and client.live is None


def test_the_stream_refuses_another_conversations_secret(live_stack: Stack) -> None:
    import requests

    one = LiveClient(live_stack.web_url).start()
    other = LiveClient(live_stack.web_url).start()
    refused = requests.post(
        f"{live_stack.web_url}/chat/stream", timeout=10, json={"sender": one.sender, "secret": other.secret, "after": 0}
    )
    assert refused.status_code == 403
    bad = requests.post(
        f"{live_stack.web_url}/chat/stream",
        timeout=10,
        data="sender=x",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert bad.status_code == 415
