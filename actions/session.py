"""Session start: the clinic's details and the rules' settings become slots that the domain's responses use."""

from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot import settings
from bot.screening import load_rules


def clinic_slots() -> List[EventType]:
    clinic = settings.get().clinic
    window = load_rules().settings.get("isotretinoin_window_months", 6)
    values = {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_email": clinic.email,
        "clinic_hours": clinic.hours,
        "clinic_privacy_url": clinic.privacy_url,
        "clinic_booking_url": clinic.booking_url,
        "clinic_price": clinic.price_text,
        "clinic_reply_within": clinic.reply_within,
        "clinic_urgent_text": clinic.urgent_text,
        "isotretinoin_window_months": window,
    }
    return [SlotSet(name, value) for name, value in values.items()]


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        events: List[EventType] = [SessionStarted()]
        # carry the answers over so a client coming back after a break picks up where they left off
        for key, value in tracker.slots.items():
            if value is not None and key != "requested_slot" and not key.startswith("clinic_"):
                events.append(SlotSet(key, value))
        events.extend(clinic_slots())
        events.append(ActionExecuted("action_listen"))
        return events
