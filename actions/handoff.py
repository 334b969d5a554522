"""While a conversation is handed off to a person: keep what the client writes for the practitioner, and say so."""
from __future__ import annotations

import logging
from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.store import handoff

logger = logging.getLogger(__name__)


class ActionHandoffAcknowledge(Action):
    def name(self) -> str:
        return "action_handoff_acknowledge"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        message = tracker.latest_message or {}
        text = str(message.get("text") or "")
        message_id = str(message.get("message_id") or f"{tracker.sender_id}:{len(tracker.events)}")
        try:
            handoff.keep(tracker.sender_id, message_id, text)
        except Exception:
            logger.exception("could not keep a hand-off message in conversation %s", tracker.sender_id)
            dispatcher.utter_message(
                text="Sorry, I couldn't pass that on just now. Please call {phone} or email {email}.".format(
                    phone=tracker.get_slot("clinic_phone"), email=tracker.get_slot("clinic_email")
                )
            )
            return []
        dispatcher.utter_message(response="utter_handoff_kept")
        return []
