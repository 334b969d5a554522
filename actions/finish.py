"""The end of the questionnaire: judge the answers, store the consultation (and its referral), say what happens next."""
from __future__ import annotations

import logging
import time
from typing import Any, Dict, Optional

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.tracker_answers import answers_from
from bot import store
from bot.screening import judge, load_rules

logger = logging.getLogger(__name__)

_ATTEMPTS = 3
_CLOSING = {"clear": "utter_outcome_clear", "review": "utter_outcome_review", "defer": "utter_outcome_defer"}


def finish_consultation(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[Dict[str, Any]]:
    """Judge and store the answers (exactly one referral when flagged), then say what happens next.

    Returns the slot values to set, or None when the consultation could not be stored (the client is told)."""
    answers = answers_from(tracker)
    judgement = judge(answers, load_rules())
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            store.complete(tracker.sender_id, answers, judgement)
            break
        except Exception:
            logger.exception(
                "could not store the consultation of conversation %s (attempt %d)", tracker.sender_id, attempt
            )
            if attempt == _ATTEMPTS:
                # the answers stay in the tracker; say so plainly rather than pretend they were sent
                clinic_phone = tracker.get_slot("clinic_phone")
                dispatcher.utter_message(
                    text=(
                        "Sorry, something went wrong while sending your answers. They are kept in this chat, "
                        f"but please call the clinic on {clinic_phone} so we can make sure a practitioner sees them."
                    )
                )
                return None
            time.sleep(0.2 * attempt)

    dispatcher.utter_message(response=_CLOSING[judgement.outcome])
    if judgement.outcome == "defer":
        for finding in judgement.findings:
            if finding.outcome == "defer" and finding.client_text:
                dispatcher.utter_message(text=finding.client_text)
    return {"outcome": judgement.outcome}
