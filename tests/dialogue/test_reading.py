"""Question first (bot/dialogue/reading.py): the open question's reader decides before the classifier does."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.dialogue import questions
from bot.dialogue.reading import Heard, read

CASES = yaml.safe_load((Path(__file__).parent / "cases_reading.yml").read_text(encoding="utf-8"))["cases"]


@pytest.mark.parametrize("case", CASES, ids=[f"{c['slot']}: {c['text']}" for c in CASES])
def test_reading(case):
    question = questions.by_slot()[case["slot"]]
    reading = read(question, Heard(case["text"], case["intent"], case["confidence"]))
    assert (reading.digression or "answer") == case["as"], reading
    assert reading.person == case.get("person", False), reading
    assert bool(reading.red_flags) == case.get("urgent", False), reading


def test_every_question_has_a_reader_that_takes_a_plain_answer():
    plain = {
        "consent": "yes",
        "name": "Ann Lee",
        "contact": "ann@example.com",
        "concerns": "acne scars",
        "area": "cheeks",
        "medications": "none",
        "yes_no": "no",
        "checklist": "none of them",
        "notes": "no",
        "read_back": "yes",
        "confirm": "yes",
        "restart": "no",
    }
    for q in questions.all_questions():
        reading = read(q, Heard(plain[q.reader], "inform", 0.5))
        assert reading.is_answer, (q.slot, reading)
