"""Everything a client can do besides answering: ask why, ask for a person, correct, restart, stop, get lost."""

from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import correction_buttons
from actions.tracker_answers import correction_values, latest_entities, latest_intent, latest_text
from bot import language, store
from bot.dialogue import questions
from bot.rasa_pause import SLOT as HANDED_OFF

logger = logging.getLogger(__name__)

FORM = "consultation_form"


def _form_active(tracker: Tracker) -> bool:
    return (tracker.active_loop or {}).get("name") == FORM


class ActionExplainWhy(Action):
    """ "Why do you ask?" outside the questions (inside them the form answers it from data/questions.yml)."""

    def name(self) -> str:
        return "action_explain_why"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        question = questions.question(tracker.get_slot("requested_slot")) if _form_active(tracker) else None
        if question is not None:
            dispatcher.utter_message(text=questions.fill(question.why, tracker.slots))
        else:
            dispatcher.utter_message(response="utter_why_general")
        return []


class ActionRequestHuman(Action):
    """A request for a person outside the questions. With consent or a contact (in this message or stored) it is
    referred (one referral per conversation) and the conversation handed off; before consent and with no contact
    nothing is stored: the assistant asks for a phone number or email (the hand-off acknowledgement reads the next
    message for one) or gives the clinic's phone (bot.store.person_requests.decide_person_request)."""

    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        from actions import person_request
        from bot.store import consultations, person_requests

        try:
            done = consultations.record_person_request(
                tracker.sender_id,
                consent=tracker.get_slot("consent"),
                contact=person_request.contact_in(latest_text(tracker)),
            )
        except Exception:
            logger.exception("could not record the request for a person in conversation %s", tracker.sender_id)
            dispatcher.utter_message(
                text="Sorry, I couldn't pass that on just now. Please call {phone} or email {email}.".format(
                    phone=tracker.get_slot("clinic_phone"), email=tracker.get_slot("clinic_email")
                )
            )
            return [SlotSet("requested_human", True)]
        if done.action == person_requests.ASK_CONTACT:
            dispatcher.utter_message(text=person_request.person_reply(person_request.ASK_CONTACT))
            return [SlotSet(HANDED_OFF, True)]  # requested_human stays unset: nothing was passed on yet
        if not done.consented:  # referred on the contact given: what they write next is not kept
            dispatcher.utter_message(text=person_request.person_reply(person_request.REFERRED_WITH_CONTACT))
            return [SlotSet("requested_human", True), SlotSet(HANDED_OFF, True)]
        live = person_request.open_live(dispatcher, tracker, consent=True)  # a practitioner joins the chat live
        if live is not None:
            return live
        dispatcher.utter_message(response="utter_human_requested")
        dispatcher.utter_message(response="utter_handoff_paused")
        return [SlotSet("requested_human", True), SlotSet(HANDED_OFF, True)]


class ActionUrgentSignpost(Action):
    """A message the classifier took for an emergency, outside the questions: the clinic's fixed signpost for a
    red-flag statement (data/lexicon/red_flags.yml), once per red flag; ordinary words get a plain answer."""

    def name(self) -> str:
        return "action_urgent_signpost"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        flags = [flag.id for flag in language.red_flags(latest_text(tracker))]
        shown = list(tracker.get_slot("urgent_shown") or [])
        new = [flag for flag in flags if flag not in shown]
        if new:
            # a fixed signpost from the clinic's settings: the assistant does not triage symptoms
            dispatcher.utter_message(text=str(tracker.get_slot("clinic_urgent_text") or ""))
            return [SlotSet("urgent_shown", shown + new)]
        if flags:
            dispatcher.utter_message(response="utter_urgent_again")
        else:
            dispatcher.utter_message(response="utter_default")
        return []


class ActionCorrectAnswer(Action):
    def name(self) -> str:
        return "action_correct_answer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        if tracker.get_slot("outcome") or not _form_active(tracker):
            if tracker.get_slot("outcome"):
                dispatcher.utter_message(response="utter_outcome_already_sent")
            else:
                dispatcher.utter_message(text="There's nothing to change yet. Shall we go through the questions?")
                dispatcher.utter_message(response="utter_offer_start")
            return []
        clicked = latest_entities(tracker, "field")
        text = latest_text(tracker)
        field = clicked[0] if clicked else (language.field_of(text) if text and not text.startswith("/") else None)
        if not field or field not in domain.get("slots", {}):
            if tracker.get_slot("requested_slot") == "confirmed":
                return [SlotSet("correction_pending", True), SlotSet("confirmed", None)]
            dispatcher.utter_message(
                text='Which answer would you like to change? Pick it, or tell me (for example "my email is wrong").',
                buttons=correction_buttons(),
            )
            return []
        values, updated = correction_values(field, "" if clicked else text)
        events = [SlotSet(k, v) for k, v in values.items()]
        events += [SlotSet("confirmed", None), SlotSet("correction_pending", False)]
        if updated:
            dispatcher.utter_message(response="utter_answer_updated")
        return events


class ActionRestartConsultation(Action):
    """ "Start again" outside the questions: asks first when there are answers to set aside, then sets them aside."""

    def name(self) -> str:
        return "action_restart_consultation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        confirming = tracker.get_slot("restart_pending") and latest_intent(tracker) == "affirm"
        has_answers = tracker.get_slot("consent") is True or tracker.get_slot("outcome") is not None
        if has_answers and not confirming:
            restart = questions.by_slot()["restart_confirm"]
            dispatcher.utter_message(text=restart.prompt, buttons=[dict(b) for b in restart.buttons])
            return [SlotSet("restart_pending", True)]
        try:
            store.abandon_current(tracker.sender_id)  # what was answered stays, marked abandoned
        except Exception:
            logger.exception("could not close the consultation of conversation %s on restart", tracker.sender_id)
        dispatcher.utter_message(response="utter_restarted_outside")
        return [SlotSet(slot, None) for slot in cleared_slots()]


def cleared_slots() -> List[str]:
    """Every slot a fresh start clears: the answers and the form's bookkeeping (the clinic's details stay)."""
    from actions.tracker_answers import ANSWER_SLOTS

    names = {q.slot for q in questions.all_questions()} | set(ANSWER_SLOTS)
    names |= {
        "contact",
        "outcome",
        "restart_pending",
        "correction_pending",
        "answer_words",
        "urgent_shown",
        "reask_slot",
        "digressions_here",
        "picked",
        HANDED_OFF,
    }
    return sorted(names)


class ActionDefaultFallback(Action):
    """Not understood outside the questions: say so helpfully, never guess. The message stays in the transcript, and
    is reverted for the dialogue (as Rasa's own fallback does), so the policy listens again instead of predicting this
    action over and over."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        text = latest_text(tracker)
        if text and language.is_not_english(text):
            dispatcher.utter_message(response="utter_not_english")
        else:
            dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]
