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

from bot.language.context import Fact
from bot.language.readers import (
    MedicationFact,
    MedicationReading,
    detect_language_hint,
    field_of,
    find_facts,
    read_concerns,
    read_further_checks,
    read_medications,
    volunteered,
    yes_no,
)
from bot.language.timeexpr import months_ago

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
