"""Everything a client can do besides answering: ask why, ask for a person, correct, restart, stop, get lost."""
from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.questions import correction_buttons
from actions.tracker_answers import correction_values, latest_entities, latest_text
from bot import language, store
from bot.handoff import SLOT as HANDED_OFF

logger = logging.getLogger(__name__)

FORM = "consultation_form"


def _form_active(tracker: Tracker) -> bool:
    return (tracker.active_loop or {}).get("name") == FORM


class ActionExplainWhy(Action):
    def name(self) -> str:
        return "action_explain_why"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        slot = tracker.get_slot("requested_slot") if _form_active(tracker) else None
        response = f"utter_why_{slot}" if slot else "utter_why_general"
        if response not in (domain.get("responses") or {}):
            response = "utter_why_general"
        dispatcher.utter_message(response=response)
        return []


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        try:
            store.flag_human_request(tracker.sender_id)
        except Exception:
            logger.exception("could not record the request for a person in conversation %s", tracker.sender_id)
            dispatcher.utter_message(
                text="Sorry, I couldn't pass that on just now. Please call {phone} or email {email}.".format(
                    phone=tracker.get_slot("clinic_phone"), email=tracker.get_slot("clinic_email")
                )
            )
            return [SlotSet("requested_human", True)]
        dispatcher.utter_message(response="utter_human_requested")
        if _form_active(tracker):
            # the questions may go on (the answers help the practitioner); the pause starts when they end
            dispatcher.utter_message(response="utter_human_requested_continue")
        else:
            dispatcher.utter_message(response="utter_handoff_paused")
        return [SlotSet("requested_human", True), SlotSet(HANDED_OFF, True)]


class ActionUrgentSignpost(Action):
    def name(self) -> str:
        return "action_urgent_signpost"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        # a fixed signpost from the clinic's settings: the assistant does not triage symptoms
        dispatcher.utter_message(text=str(tracker.get_slot("clinic_urgent_text") or ""))
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
                text="Which answer would you like to change? Pick it, or tell me (for example \"my email is wrong\").",
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
    def name(self) -> str:
        return "action_restart_consultation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        try:
            store.abandon_current(tracker.sender_id)  # what was answered stays, marked abandoned
        except Exception:
            logger.exception("could not close the consultation of conversation %s on restart", tracker.sender_id)
        dispatcher.utter_message(response="utter_restarted")
        return [Restarted()]


class ActionStopConsultation(Action):
    def name(self) -> str:
        return "action_stop_consultation"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        dispatcher.utter_message(response="utter_stopped")
        return [SlotSet("requested_slot", None)]


class ActionDefaultFallback(Action):
    """Not understood outside the questions: say so helpfully, never guess. Keeps the message in the transcript."""

    def name(self) -> str:
        return "action_default_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        text = latest_text(tracker)
        if text and language.detect_language_hint(text):
            dispatcher.utter_message(response="utter_not_english")
        else:
            dispatcher.utter_message(response="utter_default")
        return []

