"""The clinic's language layer: a spaCy pipeline built from data/lexicon, read in context for the consultation form.

Pure functions of text (the pipeline is loaded once and cached; built in memory if it was never built):

    yes_no(text)               "yes" | "no" | "unsure" | None
    read_medications(text)     MedicationReading(none_stated, facts, unrecognised)
    find_facts(text)           [Fact]  medicines and conditions with negation, other person, time, reason code
    volunteered(text, 6)       [{"code", "mention", "name", "confirmed"}]  own, affirmed facts bearing a reason code
    read_concerns(text)        [concern code]
    months_ago(text)           float | None
    field_of(text)             answer key a correction is about | None
    detect_language_hint(text) True when clearly not English
    read_further_checks(text)  [further-check code]
"""
from __future__ import annotations

from importlib import import_module
from typing import Any

# Loaded on first use: spaCy (and, through thinc, TensorFlow) takes seconds to import, and commands such as
# `python -m bot consultation show` never need it.
_HOMES = {
    "Fact": "bot.language.context",
    "MedicationFact": "bot.language.readers",
    "MedicationReading": "bot.language.readers",
    "detect_language_hint": "bot.language.readers",
    "field_of": "bot.language.readers",
    "find_facts": "bot.language.readers",
    "read_concerns": "bot.language.readers",
    "read_further_checks": "bot.language.readers",
    "read_medications": "bot.language.readers",
    "volunteered": "bot.language.readers",
    "yes_no": "bot.language.readers",
    "months_ago": "bot.language.timeexpr",
}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module 'bot.language' has no attribute {name!r}")
    value = getattr(import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


__all__ = [
    "Fact",
    "MedicationFact",
    "MedicationReading",
    "detect_language_hint",
    "field_of",
    "find_facts",
    "months_ago",
    "read_concerns",
    "read_further_checks",
    "read_medications",
    "volunteered",
    "yes_no",
]
