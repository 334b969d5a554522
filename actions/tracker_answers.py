"""Reading a Rasa tracker into the plain answers the engine and the store understand, and back."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, Iterable, List, Optional, Tuple

from rasa_sdk import Tracker

from bot import intake, language
from bot.screening.answers import NO, UNSURE, YES, YES_NO_KEYS

logger = logging.getLogger(__name__)

# Slots that hold an answer, as stored; "contact" is the raw text, the parsed parts are stored instead.
ANSWER_SLOTS = (
    "name",
    "contact_email",
    "contact_phone",
    "concerns",
    "concerns_other",
    "area",
    "medications",
    "medication_facts",
    "unrecognised_medications",
    *YES_NO_KEYS,
    "isotretinoin_months_ago",
    "further_checks",
    "notes",
    "requested_human",
    "volunteered",
    "contact_as_written",
    "answer_words",
)

_NEGATIVE_CORRECTION = re.compile(r"\b(?:not|don'?t|do not|never|no longer|haven'?t|isn'?t|aren'?t|am not)\b", re.I)
_NO_BUT = re.compile(r"^\s*(?:no|nope|nah|not really|no i don'?t)\b[\s,.;:!-]*but\b", re.IGNORECASE)

INTENT_ANSWER = {"affirm": YES, "deny": NO, "unsure": UNSURE}

# A "no" from the reader is doubted (and becomes "not sure", for a practitioner) when the answer opens with a yes
# ("yes, it's calming down but still red") or tells of the client's own past with the thing asked
# ("I got them loads as a teenager, none for years"): a lost flag costs more than a question at the consultation.
_FIRM_NO_DOUBTED = re.compile(
    r"^\W*(?:ugh |oh |well |hmm |erm )?(?:yes|yeah|yep|yup|yea|ya|aye)\b(?! (?:no|and no)\b)"
    r"|\bi (?:got|had|used to (?:get|have)|'?ve had|have had) (?:them|it|one|loads|lots|a few|a couple)\b"
)

# The yes/no question each reason code belongs to, for volunteered facts and contradictions.
CODE_TO_SLOT = {
    "anticoagulant": "blood_thinners",
    "bleeding_disorder": "bleeding_disorder",
    "herpes_history": "herpes_history",
    "active_herpes": "herpes_active",
    "keloid_tendency": "keloid",
    "active_acne": "active_acne",
    "isotretinoin_recent": "isotretinoin",
    "pregnancy": "pregnancy",
    "skin_infection": "skin_infection",
}
SLOT_TO_CODE = {slot: code for code, slot in CODE_TO_SLOT.items()}


def answers_from(tracker: Tracker) -> Dict[str, Any]:
    """The answers held in the tracker's slots (unset ones left out)."""
    answers: Dict[str, Any] = {}
    for key in ANSWER_SLOTS:
        value = tracker.get_slot(key)
        if value is not None:
            answers[key] = value
    return answers


def answer_changes(events: Iterable[Dict[str, Any]]) -> Dict[str, Any]:
    """Answer slots set by these events (a None value means the answer was withdrawn for correction)."""
    changes: Dict[str, Any] = {}
    for event in events:
        if event.get("event") == "slot" and event.get("name") in ANSWER_SLOTS:
            changes[event["name"]] = event.get("value")
    return changes


def latest_text(tracker: Tracker) -> str:
    return (tracker.latest_message or {}).get("text") or ""


def latest_intent(tracker: Tracker) -> Optional[str]:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def latest_entities(tracker: Tracker, entity: str) -> List[str]:
    return [
        str(e.get("value"))
        for e in (tracker.latest_message or {}).get("entities") or []
        if e.get("entity") == entity and e.get("value") is not None
    ]


def is_button(tracker: Tracker) -> bool:
    """A button click sends its payload ("/affirm", '/inform{"check": ...}') as the message text."""
    return latest_text(tracker).startswith("/")


def read_yes_no(tracker: Tracker, key: Optional[str] = None) -> Optional[str]:
    """yes / no / unsure from the latest message, or None when it can't be placed.

    `key` is the question being answered (defaults to the requested slot): "not at the moment" means no to
    "a cold sore now?" but yes to "cold sores ever?"."""
    key = key or tracker.get_slot("requested_slot")
    if key not in YES_NO_KEYS and key not in language_keys():
        key = None  # read-backs and the like: no past-or-present reading ("not right now" is a no)
    intent = latest_intent(tracker)
    if is_button(tracker):
        return INTENT_ANSWER.get(intent or "")
    text = intake.strip_markup(latest_text(tracker))  # "<b>no</b> spots" is a no
    if _NO_BUT.match(text):
        return NO  # "no, but I take Eliquis": the answer is no; what follows is read back as a volunteered fact
    parsed = language.yes_no(text, key=key)
    if (
        parsed == NO
        and _FIRM_NO_DOUBTED.search(text.lower().replace("\u2019", "'"))
        and not (
            key == "isotretinoin" and language.months_ago(text) is not None  # "yes, but I stopped it two years ago"
        )
    ):
        return UNSURE  # never a firm no for an answer that opens with yes or tells of the client's own past
    if parsed is not None:
        return parsed
    confidence = ((tracker.latest_message or {}).get("intent") or {}).get("confidence") or 0.0
    if intent in INTENT_ANSWER and confidence >= 0.7:
        return INTENT_ANSWER[intent]
    return None


def language_keys() -> frozenset:
    """Keys the yes/no reader knows words of its own for besides the screening questions (consent, the summary)."""
    from bot.language.yes_no_answers import AGREEMENT_KEYS

    return AGREEMENT_KEYS


def window_months(tracker: Tracker) -> float:
    value = tracker.get_slot("isotretinoin_window_months")
    try:
        return float(value)
    except (TypeError, ValueError):
        return 6.0


# Answers that go with a question and must be withdrawn with it when the client corrects it.
_DEPENDENTS = {
    "contact": ("contact_email", "contact_phone"),
    "concerns": ("concerns_other", "picked"),
    "medications": ("medication_facts", "unrecognised_medications"),
    "herpes_history": ("herpes_active",),
    "isotretinoin": ("isotretinoin_months_ago",),
    "further_checks": ("picked",),
}


def reset_values(field: str) -> Dict[str, Any]:
    """Slot values that withdraw one answer so the form asks it again."""
    values: Dict[str, Any] = {field: None, "reask_slot": None}
    for dependent in _DEPENDENTS.get(field, ()):
        values[dependent] = None
    return values


def inline_answer(field: str, text: str) -> Dict[str, Any]:
    """The new answer when a correction carries it ("actually I do get cold sores", "my email is a@b.com")."""
    if field in YES_NO_KEYS:
        answer = language.yes_no(text, key=field)  # read at the question's own time ("never taken it" is a no)
        if answer in (YES, UNSURE) or (answer == NO and _NEGATIVE_CORRECTION.search(text)):
            return {field: answer}
        return {}
    if field == "contact":
        contact = intake.parse_contact(text)
        if contact:
            return {"contact": contact.display, "contact_email": contact.email, "contact_phone": contact.phone}
    return {}


def correction_values(field: str, text: str) -> Tuple[Dict[str, Any], bool]:
    """Slot values for a correction of `field`: withdrawn (asked again) or, if the message says it, replaced."""
    values = reset_values(field)
    inline = inline_answer(field, text) if text and not text.startswith("/") else {}
    values.update(inline)
    return values, bool(inline)
