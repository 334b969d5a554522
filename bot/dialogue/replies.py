"""The shape of one reply, whatever the dialogue did: at least one message, never the same message twice, at most four.

A last line of defence under the dialogue (which is built to keep to this on its own, and tested so by the client
simulator): an empty reply would leave a client waiting in silence, a doubled or overlong one reads as a loop.
Pure: bot/chat/rest.py applies it to the REST channel's reply.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

MAX_MESSAGES = 4
FALLBACK_TEXT = (
    "Sorry, I didn't quite get that. Could you say it another way? You can also ask me a question, or ask for a "
    "person at any time."
)


def _key(message: Dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in message.items() if k != "recipient_id"}, sort_keys=True, default=str)


def shape(messages: List[Dict[str, Any]], recipient_id: str) -> List[Dict[str, Any]]:
    """The reply to send: duplicates dropped, at most MAX_MESSAGES (earlier plain texts merged), never empty."""
    seen = set()
    kept: List[Dict[str, Any]] = []
    for message in messages:
        key = _key(message)
        if key in seen:
            continue
        seen.add(key)
        kept.append(dict(message))
    while len(kept) > MAX_MESSAGES:
        # merge the first two plain texts (no buttons, images or custom payloads): nothing said is lost
        for i in range(len(kept) - 1):
            a, b = kept[i], kept[i + 1]
            if set(a) <= {"recipient_id", "text"} and set(b) <= {"recipient_id", "text", "buttons"} and a.get("text"):
                merged = dict(b)
                merged["text"] = f"{a['text']}\n\n{b.get('text') or ''}".strip()
                kept[i : i + 2] = [merged]
                break
        else:
            break  # nothing can be merged without losing a button: better long than lost
    if not kept:
        kept = [{"recipient_id": recipient_id, "text": FALLBACK_TEXT}]
    return kept
