"""The simulated practitioner: run inside the stack's environment (its DATABASE_URL, Rasa port and token), it answers
a client who asked for a person the way the staff pages do (bot/live/service.py): takes the live chat, writes one
message, and hands the chat back, so the assistant asks the question that was open again (or goes on to the
summary). Prints one line, MARKER + JSON: the chat's state before and after.

    echo '{"conversation_id": "web-..."}' | python -m tests.simulator.practitioner
"""

from __future__ import annotations

import json
import sys
from typing import Any, Dict

MARKER = "PRACTITIONER-JSON:"
EMAIL = "sim.practitioner@clinic.example"
PASSWORD = "a long enough password for the simulator"
SAID = "Hello, I'm Sam, one of the practitioners. Thanks for waiting: I'll hand you back to finish the questions."


def answer(request: Dict[str, Any]) -> Dict[str, Any]:
    from bot.live import service
    from bot.store import staff as staff_store

    conversation_id = request["conversation_id"]
    member = staff_store.by_email(EMAIL) or staff_store.add(EMAIL, PASSWORD, "practitioner")
    signed_in = staff_store.SignedIn(staff=member, csrf_token="simulator")
    chat = service.get(conversation_id, with_reasons=False)
    before = chat.state if chat is not None else None
    if chat is None or not chat.paused:
        return {"before": before, "after": before}
    service.take(conversation_id, signed_in)
    service.send(conversation_id, signed_in, SAID)
    service.hand_back(conversation_id, signed_in)
    after = service.get(conversation_id, with_reasons=False)
    return {"before": before, "after": after.state if after is not None else None}


def main() -> int:
    print(MARKER + json.dumps(answer(json.loads(sys.stdin.read()))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
