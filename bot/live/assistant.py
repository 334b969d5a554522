"""The live hand-off's calls into Rasa's HTTP API (on loopback, JWT in the header: bot/rasa_api.py).

Every message of a live chat goes into Rasa's tracker through `POST /conversations/{id}/tracker/events`, which
appends under the conversation's lock (so it never races a turn Rasa is taking) and never runs NLU: a practitioner's
message is a `bot` event marked `{"author": "staff", "name", "role"}`, a client's message while paused a `user`
event with no intent (it fills no slot and runs no action). Resuming the questions runs the intent
the open question again: the form made active with that question requested (events), then its ask action run
through `POST /conversations/{id}/execute` (`resume`). (Running the form itself would activate it afresh, and Rasa
then re-validates every answer already given against the latest message.)
"""

from __future__ import annotations

import json
import time
from typing import Any, Dict, List, Optional
from urllib.error import HTTPError, URLError
from urllib.parse import quote, urlencode
from urllib.request import Request, urlopen

from bot import rasa_api
from bot import settings as settings_module

TIMEOUT_SECONDS = 10.0


class AssistantUnavailable(RuntimeError):
    """Rasa could not be reached or refused; the message says which (never a client's words)."""


def _url(conversation_id: str, tail: str, **params: str) -> str:
    query = f"?{urlencode(params)}" if params else ""
    settings = settings_module.get()
    return f"{rasa_api.base_url(settings)}/conversations/{quote(conversation_id, safe='')}/{tail}{query}"


def _post(url: str, body: Any) -> Any:
    request = Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json", **rasa_api.headers(settings_module.get())},
    )
    try:
        with urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (our own Rasa on loopback)
            return json.loads(response.read() or b"null")
    except HTTPError as exc:
        raise AssistantUnavailable(f"the assistant refused ({exc.code})") from None
    except (URLError, OSError, ValueError) as exc:
        raise AssistantUnavailable(f"the assistant could not be reached ({type(exc).__name__})") from None


def slots(conversation_id: str) -> Dict[str, Any]:
    """The conversation's slots now (`GET /conversations/{id}/tracker`, no events)."""
    request = Request(
        _url(conversation_id, "tracker", include_events="NONE"), headers=rasa_api.headers(settings_module.get())
    )
    try:
        with urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (our own Rasa on loopback)
            tracker = json.loads(response.read() or b"null") or {}
    except HTTPError as exc:
        raise AssistantUnavailable(f"the assistant refused ({exc.code})") from None
    except (URLError, OSError, ValueError) as exc:
        raise AssistantUnavailable(f"the assistant could not be reached ({type(exc).__name__})") from None
    return dict(tracker.get("slots") or {})


def append(conversation_id: str, events: List[Dict[str, Any]]) -> None:
    """Append events to the conversation's tracker, under its lock."""
    _post(_url(conversation_id, "tracker/events", include_events="NONE"), events)


def bot_event(text: str, metadata: Dict[str, Any], buttons: Optional[List[Dict[str, str]]] = None) -> Dict[str, Any]:
    data: Dict[str, Any] = {"buttons": buttons} if buttons else {}
    return {"event": "bot", "text": text, "data": data, "metadata": metadata, "timestamp": time.time()}


def user_event(text: str, message_id: str, metadata: Dict[str, Any]) -> Dict[str, Any]:
    # no intent and no entities: nothing downstream (rules, forms, slot mappings) acts on a message with no parse
    return {
        "event": "user",
        "text": text,
        "message_id": message_id,
        "metadata": metadata,
        "parse_data": {"entities": [], "text": text},
        "input_channel": "rest",
        "timestamp": time.time(),
    }


def listen_event() -> Dict[str, Any]:
    return {"event": "action", "name": "action_listen", "timestamp": time.time()}


def slot_event(name: str, value: Any) -> Dict[str, Any]:
    return {"event": "slot", "name": name, "value": value, "timestamp": time.time()}


def ask_action(slot: str) -> str:
    """The action that asks a question: its custom ask action (data/questions.yml `asked_by`) or utter_ask_<slot>."""
    from bot.dialogue import questions

    question = questions.question(slot)
    return (question.asked_by if question is not None and question.asked_by else None) or f"utter_ask_{slot}"


def resume_events(form: str, slot: str) -> List[Dict[str, Any]]:
    """The form active again with the open question requested: the next message is read as its answer."""
    return [{"event": "active_loop", "name": form, "timestamp": time.time()}, slot_event("requested_slot", slot)]


def execute(conversation_id: str, action: str) -> None:
    """Run one action (`POST /conversations/{id}/execute`, under the lock); its messages go into the tracker."""
    _post(_url(conversation_id, "execute", include_events="NONE"), {"name": action})


def resume(conversation_id: str, form: str = "consultation_form", slot: Optional[str] = None) -> None:
    """The questions again where they stood: the form made active with the open question requested, then that
    question asked (its own ask action, as the form asks it). Without a known slot, the form is run from its start
    (it picks its first unanswered question)."""
    if slot:
        append(conversation_id, resume_events(form, slot))
        execute(conversation_id, ask_action(slot))
    else:
        execute(conversation_id, form)
    # Rasa listens after asking; `execute` runs one action and stops. Without the listen the form takes the client's
    # next message as called after an action, not after listening, and skips its validation: the slot would keep the
    # raw text ("/deny" from the No button, not "no").
    append(conversation_id, [listen_event()])
