"""Finding 8 (consent) and finding 3 (referrals): before consent, a request for a person with no contact stores
nothing and the assistant asks for a phone number or email or gives the clinic's phone; with a contact, or after
consent, it is referred; and what a client writes during a hand-off is kept only after consent.

The real actions (actions/digressions.py, actions/person_request.py) on real SDK trackers and a real database, as
tests/actions does; the store's decision is a pure function, tested as a table."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Dict, List, Optional, Tuple

import pytest
import sqlalchemy as sa
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot import settings, store
from bot.store import consultations, db, person_requests
from bot.store.models import Answer, Consultation, Referral
from bot.store.person_requests import ASK_CONTACT, REFER, UPDATE, decide_person_request

CLINIC = {
    "clinic_name": "Northgate Skin Clinic",
    "clinic_phone": "020 7946 0958",
    "clinic_email": "hello@northgate-skin.example",
}


def tracker(
    sender: str,
    text: str,
    *,
    intent: str = "request_human",
    slots: Optional[Dict[str, Any]] = None,
    message_id: str = "m-1",
) -> Tracker:
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": [], "message_id": message_id}
    return Tracker(
        sender_id=sender,
        slots={**CLINIC, **(slots or {})},
        latest_message=latest,
        events=[{"event": "user", "text": text, "parse_data": latest}],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


def run(action: Any, t: Tracker) -> Tuple[List[Dict[str, Any]], List[str]]:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, t, {"responses": {}}))
    return events, [m.get("response") or m.get("text") for m in dispatcher.messages]


def ask(sender: str, text: str = "can I talk to a person", **kwargs: Any):
    from actions.digressions import ActionRequestHuman

    return run(ActionRequestHuman(), tracker(sender, text, **kwargs))


def acknowledge(sender: str, text: str, **kwargs: Any):
    from actions.person_request import ActionHandoffAcknowledge

    return run(ActionHandoffAcknowledge(), tracker(sender, text, intent="inform", **kwargs))


def slot(events: List[Dict[str, Any]], name: str) -> Any:
    values = [e.get("value") for e in events if e.get("event") == "slot" and e.get("name") == name]
    return values[-1] if values else "unset"


def rows(model: Any) -> int:
    with db.session_scope(write=False) as session:
        return int(session.execute(sa.select(sa.func.count()).select_from(model)).scalar_one())


def answers_of(conversation_id: str) -> Dict[str, Any]:
    return (store.show(conversation_id) or {}).get("answers", {})


@pytest.mark.parametrize(
    "consented,has_contact,referral_open,expected",
    [
        (False, False, False, ASK_CONTACT),
        (False, True, False, REFER),
        (True, False, False, REFER),
        (True, True, False, REFER),
        (False, False, True, UPDATE),
        (True, True, True, UPDATE),
    ],
)
def test_the_decision_table(consented, has_contact, referral_open, expected) -> None:
    decision = decide_person_request(consented=consented, has_contact=has_contact, referral_open=referral_open)
    assert decision.action == expected and decision.stores == (expected != ASK_CONTACT)


@pytest.mark.parametrize("consent", [None, False], ids=["before consent", "consent declined"])
def test_no_consent_no_contact_stores_nothing_and_gives_the_phone(database_url, consent) -> None:
    events, said = ask("anon", slots={"consent": consent})

    assert rows(Consultation) == 0 and rows(Referral) == 0 and rows(Answer) == 0
    assert rows(person_requests.HandoffMessage) == 0
    phone = settings.get().clinic.phone
    assert len(said) == 1 and phone in said[0] and "phone number or email" in said[0]
    assert "I've asked" not in said[0]
    assert slot(events, "requested_human") == "unset"  # nothing was passed on
    assert slot(events, "handed_off") is True  # the next message is read for a contact


def test_the_next_message_without_a_contact_is_not_kept_and_the_assistant_resumes(database_url) -> None:
    ask("anon")

    events, said = acknowledge("anon", "my cold sore is back and I am on warfarin")

    assert rows(Consultation) == 0 and rows(person_requests.HandoffMessage) == 0 and rows(Referral) == 0
    assert len(said) == 1 and "haven't passed anything on" in said[0] and settings.get().clinic.phone in said[0]
    assert slot(events, "handed_off") is None


def test_a_contact_given_next_is_referred_with_only_the_contact(database_url) -> None:
    ask("anon")

    events, said = acknowledge("anon", "sure, it's 07700 900123, I have a cold sore")

    shown = store.show("anon")
    assert shown["referral"] is not None and shown["status"] == "handed_off"
    assert shown["answers"] == {"requested_human": True, "contact_phone": "07700900123"}  # no words kept
    assert rows(person_requests.HandoffMessage) == 0
    assert slot(events, "requested_human") is True and slot(events, "handed_off") is True
    assert "get in touch using the details you gave" in said[0]

    _events, said = acknowledge("anon", "also I'm pregnant", message_id="m-2")  # still no consent
    assert rows(person_requests.HandoffMessage) == 0
    assert "I don't keep what you write here before you've agreed" in said[0]


def test_a_contact_in_the_request_itself_is_referred(database_url) -> None:
    _events, said = ask("anon", "can someone email me at jo.bloggs@example.org please")

    assert answers_of("anon") == {"requested_human": True, "contact_email": "jo.bloggs@example.org"}
    assert rows(Referral) == 1 and "details you gave" in said[0]


def test_after_consent_the_request_is_referred_and_messages_kept(database_url) -> None:
    events, said = ask("consented", slots={"consent": True})

    assert rows(Referral) == 1 and len(said) == 1 and "paused the questions" in said[0]  # a live chat (bot/live/)
    assert slot(events, "handed_off") is True

    _events, said = acknowledge("consented", "please call after 5pm", slots={"consent": True, "requested_human": True})
    assert said == ["utter_handoff_kept"]
    assert [m.text for m in person_requests.messages(store.show("consented")["id"])] == ["please call after 5pm"]


def test_the_stores_own_record_of_consent_decides_when_the_caller_does_not_say(database_url, save_events) -> None:
    # the form calls flag_human_request(sender_id) alone: Rasa's events (same database) say whether consent was given
    assert store.flag_human_request("silent") is None
    save_events("declined", consent=False)
    assert store.flag_human_request("declined") is None
    save_events("agreed", consent=True)
    assert store.flag_human_request("agreed") is not None
    assert rows(Referral) == 1
    assert person_requests.keep("declined", "m1", "words") is None
    assert person_requests.keep("agreed", "m1", "words") is not None


def test_keep_refuses_before_consent(database_url) -> None:
    store.flag_human_request("c", contact={"phone": "07700900123"})

    assert person_requests.keep("c", "m1", "my private words", consent=None) is None
    assert person_requests.keep("c", "m1", "my private words", consent=False) is None
    assert rows(person_requests.HandoffMessage) == 0
    assert person_requests.keep("c", "m2", "now with consent", consent=True) is not None


def test_a_repeated_request_updates_the_one_referral(database_url) -> None:
    first = consultations.record_person_request("chat", consent=True)
    store.abandon_current("chat")  # a restart: the next request still goes to the open referral
    again = consultations.record_person_request("chat", contact={"email": "new@example.org"})

    assert again.action == UPDATE and again.referral_id == first.referral_id
    assert rows(Referral) == 1
    assert answers_of(first.consultation_id)["contact_email"] == "new@example.org"


@pytest.fixture
def save_events(database_url):
    """save_events(sender, consent=...): a real Rasa tracker with the consent slot, through our tracker store."""
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import ActionExecuted, SessionStarted, SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.store.tracker_store import DatabaseTrackerStore

    domain = Domain.from_yaml(
        'version: "3.1"\nintents: [greet]\nslots:\n  consent: {type: any, mappings: [{type: custom}]}\n'
    )

    def save(sender: str, *, consent: Optional[bool], start: float = 1_700_000_000.0) -> None:
        events = [
            ActionExecuted("action_session_start", timestamp=start),
            SessionStarted(timestamp=start),
            ActionExecuted("action_listen", timestamp=start + 1),
            UserUttered("hello", intent={"name": "greet", "confidence": 1.0}, timestamp=start + 2),
        ]
        if consent is not None:
            events.append(SlotSet("consent", consent, timestamp=start + 3))
        tracker_store = DatabaseTrackerStore(domain=domain)
        asyncio.run(tracker_store.save(DialogueStateTracker.from_events(sender, events, domain.slots)))

    return save


def test_nothing_typed_before_consent_reaches_our_tables(database_url) -> None:
    ask("anon", "I need a person, I have herpes and take roaccutane")
    acknowledge("anon", "hello? I'm on warfarin")

    with db.session_scope(write=False) as session:
        dumped = json.dumps(
            [
                list(r)
                for t in ("consultations", "answers", "reasons", "referrals", "handoff_messages", "outbox")
                for r in session.execute(sa.text(f"SELECT * FROM {t}")).all()
            ],
            default=str,
        )
    for word in ("herpes", "roaccutane", "warfarin"):
        assert word not in dumped
