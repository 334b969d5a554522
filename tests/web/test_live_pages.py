"""The live chat's staff pages over HTTP (the real web app, a real migrated database, bot.live.service): who may see
and do what, CSRF, 403/404, the audit rows, two practitioners taking one chat, and the JSON the pages poll.

Rasa's HTTP API is the one part played by a stand-in: a loopback HTTP server that appends what the service posts to
`/conversations/{id}/tracker/events` to the real tracker store (bot.store.tracker_store on the test's database), as
Rasa does, so the transcript pages and `thread()` read real tracker events. The browser test
(tests/browser/test_live_handoff.py) runs it all against the real Rasa."""

from __future__ import annotations

import asyncio
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Dict, Iterator, List
from urllib.parse import unquote, urlparse

import pytest

from bot.live import service
from bot.store import audit, outbox
from tests.web.conftest import CHAT_DOMAIN, consult
from tests.web.server import free_port

TOKEN = "live-pages-test-token-" + "x" * 24


class RasaTrackerApi(BaseHTTPRequestHandler):
    """POST /conversations/{id}/tracker/events (appended to the tracker store, as Rasa does), /execute and
    /trigger_intent (recorded: running an action needs the real Rasa, which the browser test has)."""

    calls: List[Dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])) or b"null")
        path = urlparse(self.path).path
        found = re.match(r"^/conversations/([^/]+)/(tracker/events|trigger_intent|execute)$", path)
        if not found:
            self.send_error(404)
            return
        conversation_id, what = unquote(found.group(1)), found.group(2)
        self.calls.append({"conversation_id": conversation_id, "what": what, "body": body})
        if what == "tracker/events":
            append_events(conversation_id, body if isinstance(body, list) else [body])
        data = json.dumps({"sender_id": conversation_id}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def append_events(conversation_id: str, events: List[Dict[str, Any]]) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import Event

    from bot.store.tracker_store import DatabaseTrackerStore

    domain = Domain.from_yaml(CHAT_DOMAIN)
    store = DatabaseTrackerStore(domain=domain)

    async def run() -> None:
        tracker = await store.get_or_create_tracker(conversation_id)
        for raw in events:
            tracker.update(Event.from_parameters(raw))
        await store.save(tracker)

    asyncio.run(run())


@pytest.fixture
def rasa(monkeypatch, database_url: str) -> Iterator[List[Dict[str, Any]]]:
    port = free_port()
    RasaTrackerApi.calls = []
    server = ThreadingHTTPServer(("127.0.0.1", port), RasaTrackerApi)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RASA_PORT", str(port))
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    yield RasaTrackerApi.calls
    server.shutdown()
    server.server_close()


def waiting_client(conversation_id: str = "web-live-1", name: str = "Jane Example") -> Dict[str, Any]:
    """A consented client part-way through the questions who asked for a person: a live chat, waiting."""
    from bot import store

    store.record_answers(
        conversation_id, {"consent": True, "name": name, "contact_email": "jane@example.org", "blood_thinners": "yes"}
    )
    store.flag_human_request(conversation_id)
    append_events(
        conversation_id,
        [
            {"event": "user", "text": "hello", "parse_data": {"intent": {"name": "greet", "confidence": 1.0}}},
            {"event": "bot", "text": "Do you take a blood thinner?"},
            {
                "event": "user",
                "text": "can I talk to a person",
                "parse_data": {"intent": {"name": "greet", "confidence": 1.0}},
            },
        ],
    )
    chat = service.request(conversation_id, resume_form="consultation_form")
    assert chat.state == "waiting"
    return store.show(conversation_id)


def csrf(session) -> str:
    return session.csrf


def post(session, path: str, data: Dict[str, str] = None, *, json_reply: bool = True, token: str = "auto"):
    body = dict(data or {})
    if token == "auto":
        body["csrf_token"] = session.csrf
    elif token:
        body["csrf_token"] = token
    headers = {"Accept": "application/json"} if json_reply else {}
    return session.post(session.base + path, data=body, headers=headers, allow_redirects=False)


def audited(action: str, actor: str = None) -> List[audit.Entry]:
    return audit.entries(action=action, actor=actor, per_page=200)[0]


# ---------------------------------------------------------------------------------------------------- who may


def test_every_live_page_needs_a_login(web: str, database_url: str, rasa) -> None:
    import requests

    waiting_client()
    for path in (
        "/staff/live",
        "/staff/live/web-live-1",
        "/staff/live/queue.json",
        "/staff/live/signal.json",
        "/staff/live/web-live-1/thread.json",
    ):
        response = requests.get(web + path, allow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/staff/login"), path
    for step in ("take", "send", "typing", "hand-back", "end", "answer"):
        response = requests.post(f"{web}/staff/live/web-live-1/{step}", data={"text": "hi"}, allow_redirects=False)
        assert response.status_code == 303 and "/staff/login" in response.headers["location"], step
    assert service.get("web-live-1").state == "waiting"


def test_reception_and_admin_read_the_queue_but_cannot_take_or_write(staff_as, rasa) -> None:
    waiting_client()
    for role in ("reception", "admin"):
        who = staff_as(role)
        queue = who.page("/staff/live")
        assert queue.status_code == 200 and "Jane Example" in queue.text
        assert "only a practitioner takes a chat" in queue.text
        view = who.page("/staff/live/web-live-1")
        assert view.status_code == 200 and "can I talk to a person" in view.text
        assert "Take this chat" not in view.text and "Your reply to the client" not in view.text
        for step in ("take", "send", "typing", "hand-back", "end", "answer"):
            refused = post(who, f"/staff/live/web-live-1/{step}", {"text": "hello"})
            assert refused.status_code == 403, (role, step, refused.text[:200])
        assert who.page("/staff/live/signal.json").json()["can_take"] is False
    assert service.get("web-live-1").state == "waiting"
    assert not [c for c in rasa if c["what"] == "tracker/events"]


def test_the_navigation_links_the_live_chats_and_carries_the_signal_on_every_page(staff_as, rasa) -> None:
    pat = staff_as("practitioner")
    for path in ("/staff/referrals", "/staff/consultations", "/staff/outbox"):
        page = pat.page(path)
        assert '<a href="/staff/live"' in page.text, path
        assert 'id="live-signal"' in page.text and 'role="status"' in page.text, path
        assert '<script src="/static/staff/live.js" defer></script>' in page.text, path
        assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert re.search(r"<script(?![^>]*src=)[^>]*>", pat.page("/staff/live").text) is None  # no inline script


def test_unknown_or_malformed_conversations_are_404(staff_as, rasa) -> None:
    pat = staff_as("practitioner")
    for path in (
        "/staff/live/web-nobody",
        "/staff/live/web-nobody/thread.json",
        "/staff/live/%3Cscript%3E",
        "/staff/live/" + "a" * 300,
    ):
        assert pat.page(path).status_code == 404, path
    assert post(pat, "/staff/live/web-nobody/take").status_code == 404
    assert pat.page("/staff/live/web-nobody").text.count("There is no such live chat") == 1


# ---------------------------------------------------------------------------------------------------- CSRF


def test_every_step_needs_the_csrf_token(staff_as, rasa) -> None:
    waiting_client()
    pat = staff_as("practitioner")
    for step in ("take", "send", "typing", "hand-back", "end", "answer"):
        for token in (None, "forged-token"):
            refused = post(pat, f"/staff/live/web-live-1/{step}", {"text": "hello"}, token=token)
            assert refused.status_code == 400 and "Form expired" in refused.text, (step, token)
    assert service.get("web-live-1").state == "waiting"
    assert not audited("live_taken")


# ---------------------------------------------------------------------------------------------------- the chat


def test_a_practitioner_takes_writes_and_hands_back_and_each_step_is_audited(staff_as, rasa) -> None:
    shown = waiting_client()
    pat = staff_as("practitioner", "sam.jones@clinic.example")

    view = pat.page("/staff/live/web-live-1")
    assert view.status_code == 200 and "Take this chat" in view.text
    assert [e.target_id for e in audited("view_consultation", pat.email)] == [shown["id"]]

    taken = post(pat, "/staff/live/web-live-1/take")
    assert taken.status_code == 200 and taken.json() == {"ok": True}
    assert service.get("web-live-1").taken_by_name == "Sam"

    sent = post(pat, "/staff/live/web-live-1/send", {"text": "Hello Jane, I'm Sam, a practitioner."})
    assert sent.status_code == 200
    message = sent.json()["message"]
    assert message["author"] == "staff" and message["name"] == "Sam" and message["role"] == "practitioner"

    thread = pat.page("/staff/live/web-live-1/thread.json").json()
    assert thread["can_send"] is True and thread["chat"]["state"] == "taken" and thread["chat"]["taken_by_me"]
    authors = [(m["author"], m["text"]) for m in thread["messages"]]
    assert authors[:3] == [
        ("client", "hello"),
        ("assistant", "Do you take a blood thinner?"),
        ("client", "can I talk to a person"),
    ]
    assert ("staff", "Hello Jane, I'm Sam, a practitioner.") in authors
    later = pat.page("/staff/live/web-live-1/thread.json", after=str(message["id"])).json()["messages"]
    assert all(m["id"] > message["id"] for m in later)

    assert post(pat, "/staff/live/web-live-1/typing").json() == {"ok": True}
    assert post(pat, "/staff/live/web-live-1/hand-back").json() == {"ok": True}
    assert service.get("web-live-1").state == "returned"
    # the assistant was asked to carry on with the questions (the form again, or its open question)
    assert [c["what"] for c in rasa if c["what"] in ("execute", "trigger_intent")], rasa

    for action in ("live_taken", "live_message", "live_handed_back"):
        assert [(e.actor, e.target_id) for e in audited(action)] == [(pat.email, "web-live-1")], action
    # the audit log holds no message text
    assert all("Hello Jane" not in (e.detail or "") for e in audit.entries(per_page=500)[0])

    # the transcript pages mark the practitioner's turn with their name and role, not as the assistant
    page = pat.page(f"/staff/consultations/{shown['id']}").text
    staff_turn = re.search(r'<li class="bubble staff">\s*<span class="who">([^<]*)</span>', page)
    assert staff_turn and staff_turn.group(1) == "Sam (practitioner)"
    assert '<li class="bubble assistant">\n      <span class="who">Assistant</span>' in page
    assert not re.search(
        r'bubble assistant">\s*<span class="who">Assistant</span>\s*<time[^>]*>[^<]*</time>\s*'
        r"<p>Hello Jane",
        page,
    )


def test_the_holder_corrects_an_answer_from_the_chat(staff_as, rasa) -> None:
    from bot import store

    waiting_client()  # the assistant had "yes" for blood thinners; the client explains in the chat
    pat = staff_as("practitioner", "sam.jones@clinic.example")
    other = staff_as("practitioner", "alex.smith@clinic.example")
    page = pat.page("/staff/live/web-live-1").text
    assert 'id="live-answer"' in page and 'value="bleeding_disorder"' in page
    assert post(pat, "/staff/live/web-live-1/answer", {"key": "blood_thinners", "value": "no"}).status_code == 409

    post(pat, "/staff/live/web-live-1/take")
    refused = post(other, "/staff/live/web-live-1/answer", {"key": "blood_thinners", "value": "no"})
    assert refused.status_code == 409 and "Sam has this chat" in refused.json()["detail"]
    for bad in ({"key": "name", "value": "no"}, {"key": "blood_thinners", "value": "probably"}, {}):
        assert post(pat, "/staff/live/web-live-1/answer", bad).status_code == 400, bad

    done = post(pat, "/staff/live/web-live-1/answer", {"key": "bleeding_disorder", "value": "unsure"})
    assert done.status_code == 200 and done.json() == {"ok": True}
    assert store.show("web-live-1")["answers"]["bleeding_disorder"] == "unsure"
    slot_calls = [c for c in rasa if c["what"] == "tracker/events" and any(e.get("event") == "slot" for e in c["body"])]
    assert {"name": "bleeding_disorder", "value": "unsure"}.items() <= slot_calls[-1]["body"][0].items()
    assert [(e.actor, e.detail) for e in audited("live_answer_set")] == [(pat.email, "key=bleeding_disorder")]


def test_without_javascript_the_forms_redirect_back_with_a_word_on_what_happened(staff_as, rasa) -> None:
    waiting_client()
    pat = staff_as("practitioner")
    taken = post(pat, "/staff/live/web-live-1/take", json_reply=False)
    assert taken.status_code == 303 and taken.headers["location"] == "/staff/live/web-live-1?done=take"
    assert "You have this chat" in pat.page("/staff/live/web-live-1", done="take").text
    sent = post(pat, "/staff/live/web-live-1/send", {"text": "Hello"}, json_reply=False)
    assert sent.status_code == 303
    ended = post(pat, "/staff/live/web-live-1/end", json_reply=False)
    assert ended.status_code == 303 and service.get("web-live-1").state == "ended"
    again = post(pat, "/staff/live/web-live-1/send", {"text": "Hello?"}, json_reply=False)
    assert again.status_code == 400 and "not with a person any more" in again.text


def test_two_practitioners_cannot_take_the_same_chat(staff_as, rasa) -> None:
    waiting_client()
    first = staff_as("practitioner", "ada.first@clinic.example")
    second = staff_as("practitioner", "ben.second@clinic.example")

    results: Dict[str, Any] = {}

    def take(name: str, who) -> None:
        results[name] = post(who, "/staff/live/web-live-1/take")

    threads = [threading.Thread(target=take, args=(n, w)) for n, w in (("first", first), ("second", second))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    codes = sorted(r.status_code for r in results.values())
    assert codes == [200, 409], {k: (r.status_code, r.text[:200]) for k, r in results.items()}
    winner, loser = (first, second) if results["first"].status_code == 200 else (second, first)
    winner_name = "Ada" if winner is first else "Ben"
    lost = results["second" if winner is first else "first"].json()
    assert lost == {"error": "already_taken", "detail": f"{winner_name} has already taken this chat."}

    # the one who lost sees who has it and cannot write
    refused = post(loser, "/staff/live/web-live-1/send", {"text": "me too"})
    assert refused.status_code == 409 and refused.json()["detail"] == (
        f"{winner_name} has this chat: only they can write to the client."
    )
    thread = loser.page("/staff/live/web-live-1/thread.json").json()
    assert thread["can_send"] is False and thread["chat"]["taken_by_name"] == winner_name
    assert not thread["chat"]["taken_by_me"]
    page = loser.page("/staff/live/web-live-1").text
    assert f"{winner_name} has this chat: only they can write to the client." in page
    assert post(loser, "/staff/live/web-live-1/hand-back").status_code == 409
    assert post(loser, "/staff/live/web-live-1/end").status_code == 409
    assert [e.actor for e in audited("live_taken")] == [winner.email]
    assert not audited("live_message")


def test_a_reply_is_checked_before_it_reaches_the_client(staff_as, rasa) -> None:
    waiting_client()
    pat = staff_as("practitioner")
    post(pat, "/staff/live/web-live-1/take")
    empty = post(pat, "/staff/live/web-live-1/send", {"text": "   "})
    too_long = post(pat, "/staff/live/web-live-1/send", {"text": "x" * (service.MAX_TEXT + 1)})
    assert empty.status_code == 400 and empty.json()["error"] == "empty"
    assert too_long.status_code == 400 and "at most" in too_long.json()["detail"]
    html = post(pat, "/staff/live/web-live-1/send", {"text": "<img src=x onerror=alert(1)>"})
    assert html.status_code == 200
    page = pat.page("/staff/live/web-live-1").text
    assert "<img src=x" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_with_the_assistant_down_a_reply_is_refused_kindly(staff_as, rasa, monkeypatch) -> None:
    waiting_client()
    pat = staff_as("practitioner")
    post(pat, "/staff/live/web-live-1/take")
    monkeypatch.setenv("RASA_PORT", str(free_port()))  # nothing listens there now
    refused = post(pat, "/staff/live/web-live-1/send", {"text": "Hello"})
    assert refused.status_code == 503 and refused.json()["detail"].startswith("Not sent: the assistant cannot")
    assert service.get("web-live-1").state == "taken"


# ---------------------------------------------------------------------------------------------------- the JSON


def test_the_queue_json_lists_waiting_oldest_first_then_taken_with_reasons_and_answers(staff_as, rasa) -> None:
    from datetime import datetime, timedelta, timezone

    waiting_client("web-live-old", "Old Client")
    waiting_client("web-live-new", "New Client")
    waiting_client("web-live-taken", "Taken Client")
    earlier = datetime.now(timezone.utc) - timedelta(minutes=3)
    service.request("web-live-old", now=earlier)  # already waiting: stays as it was
    pat = staff_as("practitioner", "cat.third@clinic.example")
    post(pat, "/staff/live/web-live-taken/take")

    q = pat.page("/staff/live/queue.json")
    assert q.status_code == 200 and q.headers["Cache-Control"] == "no-store"
    body = q.json()
    assert body["waiting"] == 2 and set(body) == {"waiting", "now", "chats"}
    assert [c["conversation_id"] for c in body["chats"]] == ["web-live-old", "web-live-new", "web-live-taken"]
    first = body["chats"][0]
    assert set(first) == {
        "conversation_id",
        "url",
        "state",
        "state_word",
        "requested_at",
        "waiting_seconds",
        "taken_by_name",
        "taken_by_role",
        "taken_at",
        "taken_by_me",
        "last_client_message_at",
        "reasons",
        "name",
        "answers",
        "consultation_id",
        "referral_id",
        "referral_url",
    }
    assert first["state"] == "waiting" and first["url"] == "/staff/live/web-live-old"
    assert isinstance(first["waiting_seconds"], int) and first["waiting_seconds"] >= 0
    assert "client_requested_human" in first["reasons"] and "anticoagulant" in first["reasons"]
    assert ["Name", "Old Client"] in first["answers"] and ["Email", "jane@example.org"] in first["answers"]
    taken = body["chats"][2]
    assert (
        taken["state"],
        taken["taken_by_name"],
        taken["taken_by_role"],
        taken["taken_by_me"],
        taken["waiting_seconds"],
    ) == ("taken", "Cat", "practitioner", True, None)
    assert taken["referral_url"] == f"/staff/referrals/{taken['referral_id']}"

    signal = pat.page("/staff/live/signal.json").json()
    assert set(signal) == {"waiting", "newest_requested_at", "oldest_waiting_seconds", "can_take"}
    assert signal["waiting"] == 2 and signal["can_take"] is True
    assert "Client" not in json.dumps(signal)  # no client's data on every page


def test_reception_reads_the_queue_without_the_practitioners_notes_or_referral_links(staff_as, rasa) -> None:
    waiting_client()
    rec = staff_as("reception")
    chat = rec.page("/staff/live/queue.json").json()["chats"][0]
    assert chat["referral_url"] is None and chat["name"] == "Jane Example"


def test_polls_are_audited_once_a_minute_not_on_every_poll(staff_as, rasa) -> None:
    shown = waiting_client()
    pat = staff_as("practitioner")
    for _ in range(4):
        assert pat.page("/staff/live/queue.json").status_code == 200
        assert pat.page("/staff/live/web-live-1/thread.json").status_code == 200
        assert pat.page("/staff/live/signal.json").status_code == 200
    assert [e.detail for e in audited("view_queue", pat.email) if e.detail == "live"] == ["live"]
    views = audited("view_consultation", pat.email)
    assert [(e.target_type, e.target_id) for e in views] == [("consultation", shown["id"])]


def test_a_conversation_before_consent_is_audited_by_its_id(staff_as, rasa) -> None:
    append_events(
        "web-live-anon",
        [
            {
                "event": "user",
                "text": "hi, a person please",
                "parse_data": {"intent": {"name": "greet", "confidence": 1.0}},
            }
        ],
    )
    service.request("web-live-anon")
    pat = staff_as("practitioner")
    page = pat.page("/staff/live/web-live-anon")
    assert page.status_code == 200 and "has not consented" in page.text
    assert [(e.target_type, e.target_id) for e in audited("view_consultation", pat.email)] == [
        ("conversation", "web-live-anon")
    ]


# ---------------------------------------------------------------------------------------------------- the email


def test_a_waiting_client_is_emailed_once_in_the_digest_with_a_link_only(database_url, rasa, monkeypatch) -> None:
    from datetime import datetime, timedelta, timezone

    from bot import settings as settings_module
    from bot.notify import delivery

    monkeypatch.setenv("NOTIFY_TO", "team@clinic.example")
    settings = settings_module.from_env()
    now = datetime.now(timezone.utc)
    consult("chat-flagged", ("anticoagulant", "review"), now=now)
    waiting_client()

    first = delivery.run_once(settings, now=now)
    again = delivery.run_once(settings, now=now + timedelta(seconds=5))
    letters = [letter for letter in outbox.undelivered()[0] if letter.kind == outbox.KIND_LIVE_WAITING]
    assert len(letters) == 1 and again.queued == 0 and first.queued >= 2
    letter = letters[0]
    assert letter.recipient == "team@clinic.example" and letter.subject == delivery.WAITING_SUBJECT
    assert "/staff/live/web-live-1" in letter.body
    assert "Jane" not in letter.body and "jane@example.org" not in letter.body  # a link only
    # it waits the digest's hold like a new-referral notice, and goes in the same email
    assert letter.next_attempt_at >= now + timedelta(seconds=settings.notify_digest_seconds - 1)
    batches = outbox.lease_batches(now=now + timedelta(seconds=settings.notify_digest_seconds + 1))
    assert len(batches) == 1 and {x.kind for x in batches[0]} == {outbox.KIND_LIVE_WAITING, outbox.KIND_NEW_REFERRAL}
    subject, body = delivery.compose(settings, batches[0])
    assert subject.startswith("A client is waiting for a person in the live chat")
    assert "/staff/live" in body and "/staff/referrals/" in body and "Jane" not in body

    # a request already noticed gets no other, even when the recipients change
    monkeypatch.setenv("NOTIFY_TO", "team@clinic.example,other@clinic.example")
    assert delivery.queue_waiting_notices(settings_module.from_env(), now=now + timedelta(seconds=10)) == 0
    # asked for again after a hand-back: a new request, a new notice
    from bot.store import staff as staff_store

    member = staff_store.add("dee.fourth@clinic.example", "pw-long-enough-1", "practitioner")
    pat = staff_store.SignedIn(member, "csrf")
    service.take("web-live-1", pat)
    service.hand_back("web-live-1", pat)
    service.request("web-live-1", now=now + timedelta(seconds=20))
    assert delivery.queue_waiting_notices(settings, now=now + timedelta(seconds=20)) == 1
