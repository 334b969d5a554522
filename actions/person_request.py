"""While a conversation is handed off to a person: keep what the client writes for the practitioner, and say so.

Before consent nothing the client writes is kept (bot.store.person_requests.keep refuses), and a request for a person
with no consent and no contact stores nothing: the assistant asks for a phone number or email (the next message is
read for one here) or gives the clinic's phone. The replies for those cases are built from data/clinic.yml
(`person_reply`), so the form (actions/consultation_form.py) can say the same.
"""

from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import intake
from bot import settings as settings_module
from bot.rasa_pause import SLOT as HANDED_OFF
from bot.store import consultations, person_requests

logger = logging.getLogger(__name__)

# what the assistant says when a request for a person stores nothing, or a message is not kept
ASK_CONTACT = "ask_contact"  # outside the questions: write a phone or email here, or call
ASK_CONTACT_IN_QUESTIONS = "ask_contact_in_questions"  # at the consent question: agree (contact comes next) or call
NO_CONTACT_GIVEN = "no_contact_given"  # the message after ASK_CONTACT had no phone or email: nothing passed on
NOT_KEPT = "not_kept"  # handed off with a contact but no consent: messages are not kept
REFERRED_WITH_CONTACT = "referred_with_contact"  # referred on the contact just given

_REPLIES = {
    ASK_CONTACT: (
        "I can pass your request to a person at {name} once I have a phone number or email address to reach you "
        "by: write one here if you like. Or call {phone} ({hours})."
    ),
    ASK_CONTACT_IN_QUESTIONS: (
        "I can ask a person from {name} to get in touch once I have a way to reach you: if you agree to the "
        "questions, I'll ask for your phone number or email in a moment. Or you can call {phone} ({hours})."
    ),
    NO_CONTACT_GIVEN: (
        "I haven't passed anything on, as I have no phone number or email for the team to reach you by. You can "
        "call {phone} ({hours}) or email {email}, or ask for a person again with your number or email. If you'd "
        "like to go through the questions instead, just say so."
    ),
    NOT_KEPT: (
        "Thank you. The team will get in touch using the details you gave (within {reply_within}). I don't keep "
        "what you write here before you've agreed to the health questions, so please tell them when they contact "
        "you, or call {phone} ({hours})."
    ),
    REFERRED_WITH_CONTACT: (
        "Thank you: I've asked a person from {name} to get in touch using the details you gave; the team replies "
        "within {reply_within} ({hours}). You can also call {phone} or email {email}."
    ),
}


def person_reply(kind: str, clinic: Optional[settings_module.Clinic] = None) -> str:
    """The assistant's words for `kind` (ASK_CONTACT, ASK_CONTACT_IN_QUESTIONS, ...), from the clinic's details."""
    clinic = clinic or settings_module.get().clinic
    return _REPLIES[kind].format(
        name=clinic.name, phone=clinic.phone, email=clinic.email, hours=clinic.hours, reply_within=clinic.reply_within
    )


def contact_in(text: str) -> Optional[intake.Contact]:
    """A phone number or email in the client's message, if there is one (never a button payload)."""
    if not text or text.startswith("/"):
        return None
    return intake.parse_contact(text)


def _failed(dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    dispatcher.utter_message(
        text="Sorry, I couldn't pass that on just now. Please call {phone} or email {email}.".format(
            phone=tracker.get_slot("clinic_phone"), email=tracker.get_slot("clinic_email")
        )
    )


class ActionHandoffAcknowledge(Action):
    def name(self) -> str:
        return "action_handoff_acknowledge"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        message = tracker.latest_message or {}
        text = str(message.get("text") or "")
        consent = tracker.get_slot("consent")
        message_id = str(message.get("message_id") or f"{tracker.sender_id}:{len(tracker.events)}")
        try:
            kept = person_requests.keep(tracker.sender_id, message_id, text, consent=consent)
            waiting = kept is None and not consultations.person_requested(tracker.sender_id)
        except Exception:
            logger.exception("could not keep a hand-off message in conversation %s", tracker.sender_id)
            _failed(dispatcher, tracker)
            return []
        if waiting:
            # asked for a person with no consent and no contact: this message may bring the contact
            return self._contact_awaited(dispatcher, tracker, text, consent)
        if kept is None and text.strip():
            dispatcher.utter_message(text=person_reply(NOT_KEPT))
            return []
        dispatcher.utter_message(response="utter_handoff_kept")
        return []

    @staticmethod
    def _contact_awaited(
        dispatcher: CollectingDispatcher, tracker: Tracker, text: str, consent: Optional[bool]
    ) -> List[EventType]:
        contact = contact_in(text)
        if contact is None:  # nothing stored; the assistant answers the next message as usual
            dispatcher.utter_message(text=person_reply(NO_CONTACT_GIVEN))
            return [SlotSet(HANDED_OFF, None)]
        try:
            done = consultations.record_person_request(tracker.sender_id, consent=consent, contact=contact)
        except Exception:
            logger.exception("could not record the request for a person in conversation %s", tracker.sender_id)
            _failed(dispatcher, tracker)
            return [SlotSet(HANDED_OFF, None)]
        if not done.stored:  # cannot happen with a contact; say what is true
            dispatcher.utter_message(text=person_reply(NO_CONTACT_GIVEN))
            return [SlotSet(HANDED_OFF, None)]
        dispatcher.utter_message(text=person_reply(REFERRED_WITH_CONTACT))
        return [SlotSet("requested_human", True), SlotSet(HANDED_OFF, True)]


# ------------------------------------------------------------------------------------------------ live hand-off


def open_live(
    dispatcher: CollectingDispatcher, tracker: Tracker, *, consent: Optional[bool], form: Optional[str] = None
) -> Optional[List[EventType]]:
    """A request for a person that was stored, with consent: a live chat with a practitioner (bot/live/service.py).

    The assistant pauses at once (the form, when `form` is running, stops where it stood: the caller ends it with
    requested_slot None, and the hand-back starts it again at the same question), says who will reply and what to
    expect (bot.live.service.pause_reply: within opening hours, a few minutes; outside, the next opening time and a
    call back), and from now on the web app keeps what the client writes for the practitioner without Rasa's NLU.
    Returns the events, or None when no live chat was opened (no consent: the caller says what it said before)."""
    if consent is not True:
        return None
    from bot.live import service as live

    open_question = tracker.get_slot("requested_slot") if form else None
    resume = f"{form}:{open_question}" if form and open_question else form
    try:
        live.request(tracker.sender_id, resume_form=resume)
        reply = live.pause_reply()
    except Exception:
        logger.exception("could not open a live chat in conversation %s", tracker.sender_id)
        return None
    dispatcher.utter_message(text=reply)
    return LiveEvents([SlotSet("requested_human", True), SlotSet(HANDED_OFF, True)])


class LiveEvents(list):
    """The events of a request for a person that opened a live chat (so the form knows to stop)."""


def pauses(events: List[EventType]) -> bool:
    """Whether these events came from open_live: the assistant paused, the form must stop where it stands."""
    return isinstance(events, LiveEvents)


def live_paused(conversation_id: str) -> bool:
    """Whether a live chat is waiting, taken or timed out for this conversation (messages then go to a person)."""
    from bot.live import service as live

    try:
        chat = live.status(conversation_id)
    except Exception:
        logger.exception("could not read the live chat of conversation %s", conversation_id)
        return False
    return chat is not None and chat.paused
