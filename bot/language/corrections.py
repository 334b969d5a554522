"""Which answer a correction is about (`field_of`): "actually I do take warfarin" is about blood_thinners."""

from __future__ import annotations

import re
from typing import Optional, Sequence, Tuple

from bot.language import context
from bot.language.context import Fact
from bot.language.facts import clean, without_idioms
from bot.screening.answers import FURTHER_CHECKS

_CODE_TO_FIELD = {
    "anticoagulant": "blood_thinners",
    "bleeding_disorder": "bleeding_disorder",
    "herpes_history": "herpes_history",
    "active_herpes": "herpes_active",
    "keloid_tendency": "keloid",
    "active_acne": "active_acne",
    "isotretinoin_recent": "isotretinoin",
    "pregnancy": "pregnancy",
    "skin_infection": "skin_infection",
}
_FIELD_WORDS: Sequence[Tuple[str, re.Pattern[str]]] = (
    (
        "contact",
        re.compile(
            r"\b(?:e-?mail|email address|phone|mobile|phone number|number|contact|cell|telephone|"
            r"tel)\b"
        ),
    ),
    ("name", re.compile(r"\b(?:my name|spelt my name|spelled my name|surname|first name|last name|name)\b")),
    ("pregnancy", re.compile(r"\b(?:pregnan\w*|breast ?feeding|breastfeeding|expecting|baby)\b")),
    ("blood_thinners", re.compile(r"\b(?:blood thinn\w*|anticoagulant\w*|antiplatelet\w*)\b")),
    ("isotretinoin", re.compile(r"\b(?:isotretinoin|roaccutane|accutane)\b")),
    ("herpes_history", re.compile(r"\b(?:cold ?sores?|herpes)\b")),
    ("keloid", re.compile(r"\b(?:keloids?|raised scars?)\b")),
    ("bleeding_disorder", re.compile(r"\b(?:bleeding|clotting|bleed|platelets?)\b")),
    ("active_acne", re.compile(r"\b(?:spots?|acne|breakouts?|pimples?)\b")),
    ("skin_infection", re.compile(r"\b(?:infect\w*|eczema|psoriasis|wound|flare)\b")),
    (
        "further_checks",
        re.compile(
            r"\b(?:the list|any of these|any of those|checklist|check list|those conditions|"
            r"the conditions|the checks|other conditions|my age|under 18|sunburn\w*|moles?|"
            r"diabet\w*|lupus|botox|fillers?|laser|peel|allerg\w*|vitiligo|tan)\b"
        ),
    ),
    ("medications", re.compile(r"\b(?:medications?|medicines?|meds|tablets|pills|prescriptions?|drugs)\b")),
    (
        "concerns",
        re.compile(
            r"\b(?:concerns?|what i want (?:treated|done|to treat|to improve|help with|to fix)|"
            r"want (?:treated|treating)|worried about|bothers me|goals?|treat(?:ed|ment)? for|"
            r"reason)\b"
        ),
    ),
    (
        "area",
        re.compile(
            r"\b(?:area|areas|face|neck|chest|decolletage|hands|arms|legs|back|stomach|tummy|cheeks?|"
            r"forehead|scalp|body|where|jawline|chin|nose|thighs|bum|buttocks)\b"
        ),
    ),
    (
        "notes",
        re.compile(
            r"\b(?:notes?|anything else|something else|add something|add a note|extra info|"
            r"mention something|forgot to (?:say|mention))\b"
        ),
    ),
)


def _field_for(fact: Fact) -> Optional[str]:
    if fact.code and fact.code in _CODE_TO_FIELD:
        return _CODE_TO_FIELD[fact.code]
    if fact.code and fact.code in FURTHER_CHECKS:
        return "further_checks"
    entry = context.entry_for(fact)
    return entry.field


def field_of(text: str) -> Optional[str]:
    """Which answer key a correction is about ("actually I do get cold sores" -> "herpes_history"), or None."""
    text = without_idioms(text)
    t = clean(text)
    if not t:
        return None
    for name, pattern in _FIELD_WORDS[:2]:
        if pattern.search(t):
            return name
    facts = [f for f in context.analyse(text) if not f.other_person]
    screening = [_field_for(f) for f in facts if f.kind != "concern"]
    for field in screening:
        if field and field != "notes":
            return field
    # a screening question named in words ("keloid should be no") before a concern the words also carry ("scars"),
    # but not inside the concern itself ("acne scars" is a concern, not active acne)
    rest = t
    for fact in facts:
        if fact.kind == "concern" and fact.text:
            rest = rest.replace(clean(fact.text), " ")
    for name, pattern in _FIELD_WORDS[2:10]:
        if pattern.search(rest):
            return name
    if any(f.kind == "concern" for f in facts):
        return "concerns"
    for name, pattern in _FIELD_WORDS[10:]:
        if pattern.search(t):
            return name
    return None
