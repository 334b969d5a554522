"""Asking the questions declared in data/questions.yml: one `action_ask_<slot>` for each plain question.

The form asks a question through the action named `action_ask_<slot>`; the lists that change as the client picks
(concerns, the checklist), the read-back and the summary have their own actions in actions/questions.py.
"""
from __future__ import annotations

from typing import Any, Dict, List

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from bot.dialogue.questions import Question, all_questions, fill


def prompt_of(question: Question, tracker: Tracker) -> str:
    """The question's wording, its placeholders filled from the conversation's slots."""
    return fill(question.prompt, tracker.slots)


def ask(question: Question, dispatcher: CollectingDispatcher, tracker: Tracker) -> None:
    dispatcher.utter_message(text=prompt_of(question, tracker), buttons=[dict(b) for b in question.buttons])


def _ask_action(question: Question) -> type:
    async def run(
        self: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[str, Any]
    ) -> List[EventType]:
        ask(question, dispatcher, tracker)
        return []

    name = question.ask_action
    return type(
        "Ask" + "".join(part.capitalize() for part in question.slot.split("_")),
        (Action,),
        {"name": lambda self: name, "run": run, "__module__": __name__, "__doc__": f"Asks: {question.slot}."},
    )


# rasa_sdk registers every Action subclass it finds in the package: these are made once, at import.
ASK_ACTIONS = {q.slot: _ask_action(q) for q in all_questions() if not q.asked_by}
