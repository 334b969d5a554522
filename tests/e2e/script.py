"""Conversation scripts for the running assistant: a standard path through the questions, with answers swapped in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Union

from tests.e2e.stack import Stack, new_sender

# What the assistant must never say to a client (docs/architecture.md, "Rules of judgement").
FORBIDDEN = re.compile(
    r"\byou(?:'re| are) (?:safe|suitable|approved|not suitable|unsuitable)\b|\bstop (?:taking )?your\b|\bdiagnos",
    re.IGNORECASE,
)

# The questions in order, each with the words that show it is being asked, and a plain "no" answer.
STANDARD = [
    ("greet", "hi", "Do you consent?"),
    ("consent", "/affirm", "What's your name"),
    ("name", "Jane Doe", "How can the clinic contact you"),
    ("contact", "jane.doe@example.com", "What would you like to improve"),
    ("concerns", "acne scars", "Which area"),
    ("area", "cheeks", "medicines"),
    ("medications", "none", "blood thinner"),
    ("blood_thinners", "/deny", "bleeding or clotting disorder"),
    ("bleeding_disorder", "/deny", "cold sores"),
    ("herpes_history", "/deny", "keloid"),
    ("keloid", "/deny", "active, inflamed acne"),
    ("active_acne", "/deny", "isotretinoin"),
    ("isotretinoin", "/deny", "pregnant or breastfeeding"),
    ("pregnancy", "/deny", "skin infection"),
    ("skin_infection", "/deny", "Do any of these apply"),
    ("further_checks", "/deny", "anything else"),
    ("notes", "/deny", "Is that all correct"),
    ("confirm", "/affirm", "Thank you"),
]

Answer = Union[str, Sequence[str]]


@dataclass
class Turn:
    say: str
    expect: Optional[str] = None
    absent: Optional[str] = None


def standard_turns(answers: Optional[Dict[str, Answer]] = None, stop_before: Optional[str] = None) -> List[Turn]:
    """The standard path; `answers` replaces a step's message (a list sends several messages for that step).

    After a replaced step the next question is not checked (a follow-up question may come first)."""
    answers = answers or {}
    turns: List[Turn] = []
    relaxed = False
    for key, message, next_question in STANDARD:
        if key == stop_before:
            break
        if key == "herpes_active" or key not in answers:
            turns.append(Turn(message, None if relaxed else next_question))
            relaxed = False
            continue
        replacement = answers[key]
        messages = [replacement] if isinstance(replacement, str) else list(replacement)
        turns.extend(Turn(m) for m in messages)
        relaxed = True
    return turns


def reply_text(replies: List[Dict[str, Any]]) -> str:
    parts = []
    for reply in replies:
        parts.append(reply.get("text") or "")
        parts.extend(button.get("title", "") for button in reply.get("buttons") or [])
    return "\n".join(parts)


def run(stack: Stack, turns: Sequence[Turn], sender: Optional[str] = None) -> str:
    """Holds the conversation; checks each expected phrase and that nothing forbidden is said. Returns the sender."""
    sender = sender or new_sender()
    transcript: List[str] = []
    for turn in turns:
        replies = stack.say(sender, turn.say)
        text = reply_text(replies)
        transcript.append(f"> {turn.say}\n{text}")
        assert not FORBIDDEN.search(text), f"forbidden wording after {turn.say!r}: {text}"
        assert 1 <= len(replies) <= 4, f"{len(replies)} messages in one reply after {turn.say!r}: {text}"
        bodies = [repr(sorted((k, str(v)) for k, v in r.items())) for r in replies]
        assert len(bodies) == len(set(bodies)), f"the same message twice in one reply after {turn.say!r}: {text}"
        if turn.absent is not None:
            assert turn.absent.lower() not in text.lower(), f"after {turn.say!r} unexpected {turn.absent!r}: {text}"
        assert text.strip(), f"no reply at all after {turn.say!r}"
        if turn.expect is not None:
            assert turn.expect.lower() in text.lower(), (
                f"after {turn.say!r} expected {turn.expect!r}; conversation so far:\n" + "\n".join(transcript)
            )
    return sender
