"""The client's live stream: what a practitioner (and the assistant, outside a chat turn) says, pushed to the widget.

Server-sent events over a POST (the widget reads it with fetch(), so the conversation's secret travels in the body,
never in the URL). It learns of new messages from the DATABASE only, polling Rasa's `events` table and the
`live_chats` row by id every POLL_SECONDS, never from process memory: it works with any number of web and Rasa
processes, and after a restart of any of them the widget reconnects with its last event id and gets exactly what it
has not seen (each message carries its event id as the SSE `id`).

    event: status   {"state", "typing", "name", "role"}         whenever it changes
    event: message  {"id", "author", "name", "role", "text", "at", "buttons"}   assistant and practitioner messages
    event: end      {"state"}          the chat is handed back, ended, or there is none: do not reconnect
    event: again    {}                 the stream has run MAX_SECONDS: reconnect at once with the last id
The client's own messages are not sent (the widget shows them as they are written), nor what the chat proxy
already answered with (`shown: reply`).
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any, AsyncIterator, Dict, Optional, Tuple

from bot.live import service
from bot.live.models import PAUSED

POLL_SECONDS = 0.3
MAX_SECONDS = 300.0
KEEPALIVE_SECONDS = 15.0


def _sse(event: str, data: Dict[str, Any], event_id: Optional[int] = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


def _status(chat: Optional[service.LiveChat]) -> Dict[str, Any]:
    if chat is None:
        return {"state": None, "typing": False, "name": None, "role": None}
    taken = chat.state == "taken"
    return {
        "state": chat.state,
        "typing": chat.typing,
        "name": chat.taken_by_name if taken else None,
        "role": service.role_label(chat.taken_by_role) if taken else None,
    }


def _poll(conversation_id: str, after: int) -> Tuple[Optional[service.LiveChat], list]:
    # one read transaction: the state and the messages as of the same moment (messages written before a hand-back
    # are read with the "returned" state that follows them, or with the state before it and then again)
    return service.snapshot(conversation_id, after)


async def stream(
    conversation_id: str, after: int, *, poll_seconds: float = POLL_SECONDS, max_seconds: float = MAX_SECONDS
) -> AsyncIterator[str]:
    started = last_sent = time.monotonic()
    last_status: Optional[Dict[str, Any]] = None
    yield ": live\n\n"  # headers and a first byte at once, so the widget knows the stream is open
    while True:
        chat, messages = await asyncio.to_thread(_poll, conversation_id, after)
        status = _status(chat)
        if status != last_status:
            yield _sse("status", status)
            last_status, last_sent = status, time.monotonic()
        for message in messages:
            after = message["id"]
            if message["author"] == "client" or message.get("shown") == "reply":
                continue
            body = {k: message[k] for k in ("id", "author", "name", "role", "text", "at", "buttons")}
            if body["author"] == "staff":
                body["role"] = service.role_label(body["role"])
            yield _sse("message", body, message["id"])
            last_sent = time.monotonic()
        if chat is None or chat.state not in PAUSED:
            yield _sse("end", {"state": status["state"], "after": after})
            return
        now = time.monotonic()
        if now - started >= max_seconds:
            yield _sse("again", {"after": after})
            return
        if now - last_sent >= KEEPALIVE_SECONDS:
            yield ": keepalive\n\n"
            last_sent = now
        await asyncio.sleep(poll_seconds)
