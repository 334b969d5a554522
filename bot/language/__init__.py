"""The clinic's language layer: a spaCy pipeline built from data/lexicon, read in context for the consultation form.

Pure functions of text (the pipeline is loaded once and cached; built in memory if it was never built):

    yes_no(text)               "yes" | "no" | "unsure" | None
    read_medications(text)     MedicationReading(none_stated, facts, unrecognised)
    find_facts(text)           [Fact]  medicines and conditions with negation, other person, time, reason code
    volunteered(text, 6)       [{"code", "mention", "name", "confirmed"}]  own, affirmed facts bearing a reason code
    read_concerns(text)        [concern code]
    months_ago(text)           float | None
    field_of(text)             answer key a correction is about | None
    is_not_english(text)       True when clearly not English
    read_further_checks(text)  [further-check code]

Digressions (bot/language/digressions.py; cues in data/lexicon/red_flags.yml and digressions.yml; no spaCy):

    red_flags(text)            [RedFlag(id, label)]  urgent statements ("my lips are swelling up"), empty otherwise
    asks_for_person(text)      True for an explicit request for a human ("can someone call me back")
    asks_to_stop(text)         "stop", "can we finish later", "bye for now" (not "I stopped roaccutane")
    asks_to_restart(text)      "start again", "start over", "restart" (not "yes please start")
    asks_why(text)             "why do you ask", "what's that got to do with it"
    wants_correction(text)     "actually ...", "I made a mistake", "I said no but I meant yes"
    is_question(text)          holds "?" or opens like a question ("how long does it last")
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

# Loaded on first use: spaCy (and, through thinc, TensorFlow) takes seconds to import, and commands such as
# `python -m bot consultation show` never need it.
_HOMES = {
    "Fact": "bot.language.context",
    "MedicationFact": "bot.language.medicines",
    "MedicationReading": "bot.language.medicines",
    "field_of": "bot.language.corrections",
    "find_facts": "bot.language.facts",
    "is_not_english": "bot.language.language_hint",
    "read_concerns": "bot.language.concerns",
    "read_further_checks": "bot.language.checklist",
    "read_medications": "bot.language.medicines",
    "volunteered": "bot.language.facts",
    "yes_no": "bot.language.yes_no_answers",
    "months_ago": "bot.language.timeexpr",
    "RedFlag": "bot.language.digressions",
    "red_flags": "bot.language.digressions",
    "asks_for_person": "bot.language.digressions",
    "asks_to_stop": "bot.language.digressions",
    "asks_to_restart": "bot.language.digressions",
    "asks_why": "bot.language.digressions",
    "wants_correction": "bot.language.digressions",
    "is_question": "bot.language.digressions",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'bot.language' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "Fact",
    "RedFlag",
    "asks_for_person",
    "asks_to_restart",
    "asks_to_stop",
    "asks_why",
    "is_question",
    "red_flags",
    "wants_correction",
    "MedicationFact",
    "MedicationReading",
    "field_of",
    "find_facts",
    "is_not_english",
    "months_ago",
    "read_concerns",
    "read_further_checks",
    "read_medications",
    "volunteered",
    "yes_no",
]
