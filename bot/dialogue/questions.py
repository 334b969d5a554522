"""The questions of the consultation, each declared once in data/questions.yml, loaded into plain values.

The form's order, the prompts and buttons, the "why" answers, the second-try wording, the client's summary labels and
the staff labels all come from here (actions/ and bot/web/ read them; domain.yml is checked against them).
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import yaml

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS_FILE = ROOT / "data" / "questions.yml"

READERS = frozenset(
    {
        "consent",
        "name",
        "contact",
        "concerns",
        "area",
        "medications",
        "yes_no",
        "checklist",
        "notes",
        "read_back",
        "confirm",
        "restart",
    }
)
# Readers whose answer is free text: any words are an answer, so only an unmistakable digression interrupts them.
FREE_TEXT_READERS = frozenset({"area", "medications", "concerns", "notes"})
YES_NO_BUTTONS: Tuple[Dict[str, str], ...] = (
    {"title": "Yes", "payload": "/affirm"},
    {"title": "No", "payload": "/deny"},
    {"title": "Not sure", "payload": "/unsure"},
)
DEFAULT_REASK = {
    "yes_no": "Sorry, I'm not sure I understood. Could you answer with Yes, No or Not sure?",
    "read_back": "Sorry, I'm not sure I understood. Could you answer with Yes, No or Not sure?",
    "notes": "Sorry, I didn't catch that. Is there anything else the practitioner should know? If not, just say no.",
}


class QuestionsFileError(ValueError):
    """data/questions.yml is not as expected: the message names the file, the question and the field."""


@dataclass(frozen=True)
class Question:
    slot: str
    reader: str
    prompt: str
    why: str
    reask: str
    key: str = ""
    buttons: Tuple[Dict[str, str], ...] = ()
    summary: Optional[str] = None
    staff: Optional[str] = None
    asked_by: Optional[str] = None
    skip_when: Mapping[str, Any] = field(default_factory=dict)

    @property
    def free_text(self) -> bool:
        return self.reader in FREE_TEXT_READERS

    def skipped(self, answers: Mapping[str, Any]) -> bool:
        return any(answers.get(k) == v for k, v in self.skip_when.items())


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def fill(template: str, values: Mapping[str, Any]) -> str:
    """The template with {placeholders} from `values` (a missing or empty one becomes empty, never an error)."""
    safe = _Blank(
        {
            k: ("" if v is None else (int(v) if isinstance(v, float) and v.is_integer() else v))
            for k, v in values.items()
        }
    )
    try:
        return string.Formatter().vformat(template, (), safe)
    except (ValueError, IndexError):
        return template


def _question(raw: Mapping[str, Any], where: str) -> Question:
    def need(name: str) -> Any:
        value = raw.get(name)
        if value in (None, ""):
            raise QuestionsFileError(f"{where}: the field `{name}` is missing")
        return value

    slot = str(need("slot"))
    reader = str(need("reader"))
    if reader not in READERS:
        raise QuestionsFileError(f"{where} ({slot}): reader `{reader}` is not one of {sorted(READERS)}")
    buttons_raw = raw.get("buttons") or ()
    if buttons_raw == "yes_no":
        buttons: Tuple[Dict[str, str], ...] = YES_NO_BUTTONS
    else:
        if not isinstance(buttons_raw, (list, tuple)) or not all(
            isinstance(b, dict) and b.get("title") and b.get("payload") for b in buttons_raw
        ):
            raise QuestionsFileError(f"{where} ({slot}): `buttons` must be yes_no or a list of {{title, payload}}")
        buttons = tuple({"title": str(b["title"]), "payload": str(b["payload"])} for b in buttons_raw)
    reask = raw.get("reask") or DEFAULT_REASK.get(reader)
    if not reask:
        raise QuestionsFileError(f"{where} ({slot}): the field `reask` is missing (no default for reader {reader})")
    skip_when = raw.get("skip_when") or {}
    if not isinstance(skip_when, dict):
        raise QuestionsFileError(f"{where} ({slot}): `skip_when` must be a mapping of answer key to value")
    return Question(
        slot=slot,
        key=str(raw.get("key") or slot),
        reader=reader,
        prompt=" ".join(str(need("prompt")).split()),
        why=" ".join(str(need("why")).split()),
        reask=" ".join(str(reask).split()),
        buttons=buttons,
        summary=raw.get("summary"),
        staff=raw.get("staff"),
        asked_by=raw.get("asked_by"),
        skip_when=dict(skip_when),
    )


def load(path: Path = QUESTIONS_FILE) -> Tuple[Question, ...]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as error:
        raise QuestionsFileError(f"{path}: cannot be read: {error}") from error
    items = data.get("questions")
    if not isinstance(items, list) or not items:
        raise QuestionsFileError(f"{path}: `questions` must be a non-empty list")
    questions = tuple(_question(item, f"{path}, question {i + 1}") for i, item in enumerate(items))
    slots = [q.slot for q in questions]
    duplicates = sorted({s for s in slots if slots.count(s) > 1})
    if duplicates:
        raise QuestionsFileError(f"{path}: questions declared twice: {duplicates}")
    return questions


@lru_cache(maxsize=1)
def all_questions() -> Tuple[Question, ...]:
    return load()


def by_slot() -> Dict[str, Question]:
    return {q.slot: q for q in all_questions()}


def question(slot: Optional[str]) -> Optional[Question]:
    return by_slot().get(slot or "")


def form_slots() -> List[str]:
    return [q.slot for q in all_questions()]


def summary_labels() -> Dict[str, str]:
    return {q.key: q.summary for q in all_questions() if q.summary}


def staff_labels() -> Dict[str, str]:
    return {q.key: q.staff for q in all_questions() if q.staff}
