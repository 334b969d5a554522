"""Plain checks for the non-clinical answers: name, contact details, free text. Pure functions, no Rasa."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

MAX_NAME = 80
MAX_FREE_TEXT = 2000

_EMAIL = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_PHONE_CANDIDATE = re.compile(r"\+?\(?\d[\d\s().-]{5,20}\d")
_NAME_PREFIX = re.compile(
    r"^\s*(?:hi|hello|hey)?[\s,!.]*(?:my name is|my name's|name is|name's|i am|i'm|im|it's|its|it is|this is|call me"
    r"|they call me|you can call me)\s+",
    re.IGNORECASE,
)
_NOT_NAMES = {
    "hi", "hello", "hey", "yes", "no", "nope", "yeah", "ok", "okay", "sure", "why", "what", "none", "nothing",
    "not sure", "idk", "thanks", "thank you", "stop", "help", "maybe", "n/a", "na", "anonymous",
}


@dataclass(frozen=True)
class Contact:
    email: Optional[str]
    phone: Optional[str]

    @property
    def display(self) -> str:
        return " / ".join(v for v in (self.email, self.phone) if v)


def parse_contact(text: str) -> Optional[Contact]:
    """An email address and/or a phone number found in the text, or None when there is neither."""
    text = (text or "")[:500]
    email_match = _EMAIL.search(text)
    email = email_match.group(0).lower() if email_match else None
    rest = _EMAIL.sub(" ", text)
    phone = None
    for candidate in _PHONE_CANDIDATE.findall(rest):
        digits = re.sub(r"\D", "", candidate)
        if 7 <= len(digits) <= 15:
            phone = ("+" if candidate.strip().startswith("+") else "") + digits
            break
    if not email and not phone:
        return None
    return Contact(email=email, phone=phone)


def parse_name(text: str) -> Optional[str]:
    """The client's name from a free answer ("my name is Priya Patel" -> "Priya Patel"), or None if it isn't one."""
    text = unicodedata.normalize("NFKC", text or "").strip()
    if not text or len(text) > 200 or text.startswith("/"):
        return None
    text = _NAME_PREFIX.sub("", text).strip(" .,!?\"'")
    if not text or text.lower() in _NOT_NAMES:
        return None
    if any(ch in text for ch in "<>{}[]@\\/=;") or re.search(r"\d", text):
        return None
    letters = sum(ch.isalpha() for ch in text)
    if letters < 1 or letters < len(text.replace(" ", "")) * 0.6:
        return None
    words = text.split()
    if len(words) > 6:
        return None
    return " ".join(words)[:MAX_NAME]


def has_words(text: str) -> bool:
    """True when the text holds at least one letter (not only emoji, digits or punctuation)."""
    return any(ch.isalpha() for ch in (text or ""))


def clean_free_text(text: str, limit: int = MAX_FREE_TEXT) -> str:
    """Collapse whitespace and cap the length; markup stays as typed (pages escape it when shown)."""
    collapsed = " ".join((text or "").split())
    return collapsed if len(collapsed) <= limit else collapsed[: limit - 1] + "…"
