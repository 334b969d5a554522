"""The end of the questionnaire: judge the answers, store the consultation (and its referral), say what happens next.

Rasa SDK runs actions on the action server's event loop. `finish_consultation_async` (awaited by the form's
`validate_confirmed`) stores the consultation in a worker thread and waits between attempts with `asyncio.sleep`, so
a slow or failing database holds up only this conversation, never the others on the loop.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, Optional, Tuple

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.tracker_answers import answers_from
from bot import store
from bot.screening import judge, load_rules

logger = logging.getLogger(__name__)

_ATTEMPTS = 3
_RETRY_SECONDS = 0.2  # waited before attempt n+1: n times this
_CLOSING = {"clear": "utter_outcome_clear", "review": "utter_outcome_review", "defer": "utter_outcome_defer"}


def _judged(tracker: Tracker) -> Tuple[Dict[str, Any], Any]:
    answers = answers_from(tracker)
    return answers, judge(answers, load_rules())


def _failed(dispatcher: CollectingDispatcher, tracker: Tracker, attempt: int) -> bool:
    """Log a failed attempt; after the last, tell the client and return True."""
    logger.exception("could not store the consultation of conversation %s (attempt %d)", tracker.sender_id, attempt)
    if attempt < _ATTEMPTS:
        return False
    # the answers stay in the tracker; say so plainly rather than pretend they were sent
    clinic_phone = tracker.get_slot("clinic_phone")
    dispatcher.utter_message(
        text=(
            "Sorry, something went wrong while sending your answers. They are kept in this chat, "
            f"but please call the clinic on {clinic_phone} so we can make sure a practitioner sees them."
        )
    )
    return True


def _closing(dispatcher: CollectingDispatcher, judgement: Any) -> Dict[str, Any]:
    dispatcher.utter_message(response=_CLOSING[judgement.outcome])
    if judgement.outcome == "defer":
        for finding in judgement.findings:
            if finding.outcome == "defer" and finding.client_text:
                dispatcher.utter_message(text=finding.client_text)
    return {"outcome": judgement.outcome}


async def finish_consultation_async(dispatcher: CollectingDispatcher, tracker: Tracker) -> Optional[Dict[str, Any]]:
    """Judge and store the answers (exactly one referral when flagged), then say what happens next, without blocking
    the event loop: the store call runs in a worker thread and the wait between attempts is `asyncio.sleep`.

    Returns the slot values to set, or None when the consultation could not be stored (the client is told)."""
    answers, judgement = _judged(tracker)
    loop = asyncio.get_running_loop()
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            await loop.run_in_executor(None, store.complete, tracker.sender_id, answers, judgement)
            break
        except Exception:
            if _failed(dispatcher, tracker, attempt):
                return None
            await asyncio.sleep(_RETRY_SECONDS * attempt)
    return _closing(dispatcher, judgement)
