"""The questions that need more than a fixed sentence: multi-select lists, read-backs and the summary."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.tracker_answers import answers_from, window_months
from actions.wording import (
    ANSWER_WORDS,
    CHECK_LABELS,
    CONCERN_LABELS,
    DEFAULT_VOLUNTEERED_PHRASE,
    VOLUNTEERED_PHRASES,
)
from bot.dialogue import questions
from bot.screening.answers import CONCERNS, FURTHER_CHECKS, YES_NO_KEYS


def _payload(intent: str, entity: Optional[str] = None, value: Optional[str] = None) -> str:
    if entity is None:
        return f"/{intent}"
    return f"/{intent}" + json.dumps({entity: value}, separators=(",", ":"))


def pending_volunteered(tracker: Tracker) -> Optional[Dict[str, Any]]:
    """The first volunteered fact not yet read back to the client."""
    for entry in tracker.get_slot("volunteered") or []:
        if isinstance(entry, dict) and not entry.get("asked"):
            return entry
    return None


class ActionAskConcerns(Action):
    def name(self) -> str:
        return "action_ask_concerns"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        picked = [c for c in tracker.get_slot("picked") or [] if c in CONCERNS]
        choices = [c for c in CONCERNS if c not in picked]
        buttons = [{"title": CONCERN_LABELS[c], "payload": _payload("inform", "concern", c)} for c in choices]
        if picked:
            chosen = ", ".join(CONCERN_LABELS[c] for c in picked)
            text = f'Got it: {chosen}. Anything else? Pick another, or tap "That\'s all".'
            buttons.append({"title": "That's all", "payload": "/affirm"})
        else:
            text = questions.by_slot()["concerns"].prompt
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionAskFurtherChecks(Action):
    def name(self) -> str:
        return "action_ask_further_checks"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        picked = [c for c in tracker.get_slot("picked") or [] if c in FURTHER_CHECKS]
        choices = [c for c in FURTHER_CHECKS if c not in picked]
        buttons = [{"title": CHECK_LABELS[c], "payload": _payload("inform", "check", c)} for c in choices]
        if picked:
            chosen = "; ".join(CHECK_LABELS[c] for c in picked)
            text = f'Noted: {chosen}. Does anything else on the list apply? Pick it, or tap "That\'s all".'
            buttons.append({"title": "That's all", "payload": "/affirm"})
        else:
            listed = "\n".join(f"- {CHECK_LABELS[c]}" for c in FURTHER_CHECKS)
            text = f"{questions.by_slot()['further_checks'].prompt}\n{listed}"
            buttons.append({"title": "None of these", "payload": "/deny"})
        buttons.append({"title": "Not sure", "payload": "/unsure"})
        dispatcher.utter_message(text=text, buttons=buttons)
        return []


class ActionAskVolunteerConfirm(Action):
    def name(self) -> str:
        return "action_ask_volunteer_confirm"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        entry = pending_volunteered(tracker)
        if entry is None:  # nothing to read back (should not be asked); ask something harmless rather than fail
            entry = {"code": "", "name": "something"}
        phrase = VOLUNTEERED_PHRASES.get(entry.get("code", ""), DEFAULT_VOLUNTEERED_PHRASE)
        phrase = phrase.format(window=int(window_months(tracker)))
        joiner = ", " if phrase.startswith("which") else ". "
        text = f"You mentioned {entry.get('name') or 'something'}{joiner}{phrase}"
        dispatcher.utter_message(
            text=text,
            buttons=[
                {"title": "Yes", "payload": "/affirm"},
                {"title": "No", "payload": "/deny"},
                {"title": "Not sure", "payload": "/unsure"},
            ],
        )
        return []


def describe(key: str, value: Any) -> str:
    """One answer as the client reads it in the summary."""
    if value is None:
        return "-"
    if key in YES_NO_KEYS:
        return ANSWER_WORDS.get(str(value), str(value))
    if key == "concerns":
        return ", ".join(CONCERN_LABELS.get(c, c) for c in value) or "-"
    if key == "further_checks":
        return "; ".join(CHECK_LABELS.get(c, c) for c in value) or "None of these"
    return str(value)


def summary_lines(tracker: Tracker) -> List[str]:
    answers = answers_from(tracker)
    contact = " / ".join(v for v in (answers.get("contact_email"), answers.get("contact_phone")) if v)
    contact = contact or answers.get("contact_as_written") or ""
    values: Dict[str, Any] = {**answers, "contact": contact or None}
    if answers.get("concerns_other"):
        values["concerns"] = f"{describe('concerns', answers.get('concerns') or [])} ({answers['concerns_other']})"
    lines = []
    for key, label in questions.summary_labels().items():
        if key == "herpes_active" and values.get(key) is None:
            continue
        as_written = key == "concerns" and isinstance(values.get(key), str)
        shown = values[key] if as_written else describe(key, values.get(key))
        lines.append(f"- {label}: {shown}")
    for entry in answers.get("volunteered") or []:
        if entry.get("confirmed") is not False:
            lines.append(f"- You also mentioned: {entry.get('name') or entry.get('mention')}")
    return lines


def correction_buttons() -> List[Dict[str, str]]:
    labels = questions.summary_labels()
    return [
        {"title": label, "payload": _payload("correct_answer", "field", key)}
        for key, label in labels.items()
        if key != "herpes_active"
    ]


class ActionAskConfirmed(Action):
    def name(self) -> str:
        return "action_ask_confirmed"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]) -> List[EventType]:
        if tracker.get_slot("correction_pending"):
            dispatcher.utter_message(
                text='Which answer would you like to change? Pick it, or tell me (for example "my email is wrong").',
                buttons=correction_buttons(),
            )
            return []
        text = "Here's what you told me:\n" + "\n".join(summary_lines(tracker))
        text += "\n\n" + questions.by_slot()["confirmed"].prompt
        dispatcher.utter_message(
            text=text,
            buttons=[
                {"title": "Yes, send it", "payload": "/affirm"},
                {"title": "Change an answer", "payload": "/correct_answer"},
            ],
        )
        return []
