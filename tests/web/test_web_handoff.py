"""The hand-off on the assistant's side: asking for a person pauses automation, later messages are kept once and
acknowledged, and the dashboard's hand-back clears the pause through Rasa's HTTP API."""

from __future__ import annotations

import asyncio
import json
import secrets
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Dict, Iterator, List, Optional

import jwt
import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import rasa_pause, store
from bot.store import person_requests
from tests.web.conftest import consult
from tests.web.server import free_port

TOKEN = secrets.token_urlsafe(32)  # a strong token made for this run, as serve makes one
CLINIC = {
    "clinic_name": "Northgate Skin Clinic",
    "clinic_phone": "020 7946 0958",
    "clinic_email": "hello@northgate-skin.example",
}


def tracker(
    sender: str,
    text: str,
    *,
    intent: str = "inform",
    message_id: str = "m-1",
    form_active: bool = False,
    slots: Optional[Dict[str, Any]] = None,
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": [], "message_id": message_id}
    return Tracker(
        sender_id=sender,
        slots={**CLINIC, **(slots or {})},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={"name": "consultation_form"} if form_active else {},
        latest_action_name="action_listen",
    )


def run(action: Any, t: Tracker) -> tuple:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {"responses": {}}))
    return events, [m.get("response") or m.get("text") for m in dispatcher.messages]


def test_the_paused_rules_file_is_generated_from_the_domain() -> None:
    assert rasa_pause.RULES_FILE.read_text(encoding="utf-8") == rasa_pause.rules_text(), (
        "data/rules/handoff_paused.yml is out of date: run `python -m bot handoff rules` and retrain"
    )


def test_every_intent_and_fallback_has_a_paused_rule() -> None:
    import yaml

    domain = yaml.safe_load((rasa_pause.ROOT / "domain.yml").read_text())
    rules = yaml.safe_load(rasa_pause.RULES_FILE.read_text())["rules"]
    covered = {r["steps"][0]["intent"] for r in rules}

    assert covered == set(domain["intents"]) | {"nlu_fallback"}
    urgent = next(r for r in rules if r["steps"][0]["intent"] == "urgent")
    assert [s["action"] for s in urgent["steps"][1:]] == ["action_urgent_signpost", "action_handoff_acknowledge"]


def test_asking_for_a_person_outside_the_questions_pauses_and_says_what_happens_next(database_url) -> None:
    from actions.digressions import ActionRequestHuman

    events, said = run(
        ActionRequestHuman(), tracker("c-1", "can I talk to a person", intent="request_human", slots={"consent": True})
    )

    assert {"event": "slot", "name": "handed_off", "value": True, "timestamp": None} in events
    assert len(said) == 1 and "paused the questions" in said[0]  # a practitioner joins live (bot/live/)
    assert store.show("c-1")["status"] == "handed_off" and store.show("c-1")["referral"] is not None


def test_asking_during_the_questions_pauses_them_where_they_stand(database_url) -> None:
    from actions.consultation_form import ValidateConsultationForm

    events, said = run(
        ValidateConsultationForm(),
        tracker(
            "c-2",
            "could someone from the clinic ring me",
            intent="request_human",
            form_active=True,
            slots={"requested_slot": "keloid", "consent": True},
        ),
    )

    assert len(said) == 1 and "paused the questions" in said[0]
    assert {"event": "slot", "name": "handed_off", "value": True, "timestamp": None} in events
    # the form stops at once (the last requested_slot is None) and the live chat knows to resume it
    assert [e["value"] for e in events if e.get("name") == "requested_slot"][-1] is None
    from bot.live import service as live

    assert live.get("c-2").state == "waiting"
    assert store.show("c-2")["referral"] is not None


def test_messages_after_the_hand_off_are_kept_once_and_acknowledged(database_url) -> None:
    from actions.person_request import ActionHandoffAcknowledge

    shown = consult("c-3", ("anticoagulant", "review"))
    store.flag_human_request("c-3")
    action = ActionHandoffAcknowledge()

    first = run(action, tracker("c-3", "I forgot: I also take fish oil", message_id="m-7"))
    retried = run(action, tracker("c-3", "I forgot: I also take fish oil", message_id="m-7"))  # Rasa retried it
    run(action, tracker("c-3", "<b>and</b> ibuprofen", message_id="m-8"))

    assert first[1] == ["utter_handoff_kept"] and retried[1] == ["utter_handoff_kept"]
    assert [m.text for m in person_requests.messages(shown["id"])] == [
        "I forgot: I also take fish oil",
        "<b>and</b> ibuprofen",
    ]


def test_a_message_that_cannot_be_kept_gives_the_clinic_contact(database_url, monkeypatch) -> None:
    from actions import person_request

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("database down")

    monkeypatch.setattr(person_request.person_requests, "keep", broken)
    _events, said = run(person_request.ActionHandoffAcknowledge(), tracker("c-4", "hello?"))

    assert said == [
        "Sorry, I couldn't pass that on just now. Please call 020 7946 0958 or email hello@northgate-skin.example."
    ]


# ------------------------------------------------------------------------------------------- hand-back over HTTP


class FakeRasa(BaseHTTPRequestHandler):
    """Rasa's two tracker endpoints, recording what the web app sent (a real HTTP server on loopback)."""

    received: List[Dict[str, Any]] = []
    paused = True

    def do_GET(self) -> None:  # noqa: N802
        self.received.append({"method": "GET", "path": self.path, "headers": dict(self.headers)})
        self._reply({"sender_id": "c-5", "slots": {"handed_off": self.paused}})

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.received.append({"method": "POST", "path": self.path, "body": body, "headers": dict(self.headers)})
        FakeRasa.paused = False
        self._reply({"sender_id": "c-5"})

    def _reply(self, payload: Dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def rasa(monkeypatch) -> Iterator[List[Dict[str, Any]]]:
    port = free_port()
    FakeRasa.received, FakeRasa.paused = [], True
    server = HTTPServer(("127.0.0.1", port), FakeRasa)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setenv("RASA_PORT", str(port))
    monkeypatch.setenv("RASA_TOKEN", TOKEN)
    yield FakeRasa.received
    server.shutdown()
    server.server_close()


def test_a_practitioner_hands_the_conversation_back(staff_as, rasa) -> None:
    shown = consult("c-5", ("anticoagulant", "review"))
    store.flag_human_request("c-5")
    pat = staff_as("practitioner")
    rid = shown["referral"]["id"]

    page = pat.page(f"/staff/referrals/{rid}")
    assert "is <strong>paused</strong>" in page.text and "Hand back to the assistant" in page.text

    assert pat.form(f"/staff/referrals/{rid}/hand-back").status_code == 303

    post = next(r for r in rasa if r["method"] == "POST")
    # the credential is a JWT in the Authorization header, never a token in the URL
    assert post["path"] == "/conversations/c-5/tracker/events"
    assert all("token" not in r["path"] and TOKEN not in r["path"] for r in rasa)
    for call in rasa:
        scheme, _, credential = call["headers"]["Authorization"].partition(" ")
        claims = jwt.decode(credential, TOKEN, algorithms=["HS256"])
        assert scheme == "Bearer" and claims["user"]["role"] == "admin"
    assert post["headers"]["Content-Type"] == "application/json"
    assert [(e["event"], e["name"], e["value"]) for e in post["body"]] == [("slot", "handed_off", None)]
    assert "The assistant is answering this client." in pat.page(f"/staff/referrals/{rid}").text
    from bot.store import audit, referrals

    assert [s.action for s in referrals.history(rid)] == ["hand_back"]
    assert audit.entries(action="handed_back")[1] == 1


def test_hand_back_with_the_assistant_down_says_so(staff_as, database_url, monkeypatch) -> None:
    monkeypatch.setenv("RASA_PORT", str(free_port()))  # nothing listens there
    shown = consult("c-6", ("anticoagulant", "review"))
    store.flag_human_request("c-6")
    pat = staff_as("practitioner")

    page = pat.page(f"/staff/referrals/{shown['referral']['id']}")
    response = pat.form(f"/staff/referrals/{shown['referral']['id']}/hand-back")

    assert "could not be asked" in page.text
    assert response.status_code == 400 and "could not be reached" in response.text
