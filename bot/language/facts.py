"""What a free answer states: the medicines and conditions in it, in context (bot.language.context), and the
client's own affirmed facts that bear a reason code; and the plain cleaning every reader applies."""

from __future__ import annotations

import re
from datetime import date
from typing import Dict, List, Optional

from bot.language import context
from bot.language.context import Fact


def clean(text: str) -> str:
    """Lower case, straight apostrophes, no punctuation, single spaces."""
    text = (text or "").lower().replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"[!.,;:()\"*~]+", " ", text)
    return re.sub(r"\s+", " ", text).strip()


# Everyday phrases that hold a condition's word and name no condition: "spot on", "on the spot", "hit the spot".
_IDIOMS = re.compile(
    r"\b(?:spot[\s-]+on(?![\s-]+(?:my|the|his|her|their|your|a|an|one|each|both|either|top|its|it|"
    r"me|her|him|them|both|either|left|right|lower|upper|\w+'s)\b)|on the spot|hit the spot|in a spot "
    r"of bother|a spot of|spot the difference|"
    r"rash decision|breaking out in a sweat|break out (?:the|a) \w+)\b",
    re.IGNORECASE,
)


def without_idioms(text: str) -> str:
    """The text with idioms that merely look like a condition put in plain words ("spot on" -> "perfect")."""
    return _IDIOMS.sub(lambda m: "perfect" if m.group(0).lower().startswith("spot") else "", text or "")


def find_facts(text: str, today: Optional[date] = None) -> List[Fact]:
    """Medicines and conditions in the text, in order, each with negation, other person, time and reason code."""
    return [f for f in context.analyse(without_idioms(text), today) if f.kind != "concern"]


_UNDER_18 = re.compile(
    r"\b(?:i'?m|i am|im|aged?)\s+(?P<age>1[0-7]|[1-9])\b(?!\s*(?:weeks?|months?|days?|mg|%|kg|stone|"
    r"st\b|lbs?|cm|ft|times|hours?|mins?|minutes?|x\b|years? ago|percent))"
    r"|\b(?P<age2>1[0-7])\s*(?:years? old|yrs? old|y/?o)\b|\bunder\s*(?:18|eighteen)\b|\bstill at "
    r"school\b"
)


def _mention(fact: Fact) -> str:
    return fact.sentence if len(fact.sentence) <= 300 else fact.sentence[:297] + "..."


def volunteered(text: str, window_months: float = 6.0, today: Optional[date] = None) -> List[Dict[str, object]]:
    """The client's own, affirmed facts that bear a reason code, as answers.py volunteered entries.

    {"code", "mention" (the sentence), "name" (canonical, e.g. "Eliquis (apixaban)"), "confirmed": None}.
    Denied ("I don't take blood thinners") and other people's ("my mum gets cold sores") mentions never count; a
    hypothetical condition ("will it cause breakouts?") does not either, but a hypothetical medicine does ("can I have
    it if I'm on warfarin?" usually means they are).
    """
    out: List[Dict[str, object]] = []
    seen = set()
    for fact in find_facts(text, today):
        if not fact.own_affirmed or (fact.hypothetical and fact.kind == "condition"):
            continue
        code = fact.code
        if fact.drug_class == "oral_retinoid":
            # the clinic's window, not the lexicon's default
            within = fact.current or (fact.months_ago is not None and fact.months_ago <= window_months)
            code = "isotretinoin_recent" if within else None
        if not code:
            continue
        if (code, fact.canonical) in seen:
            continue
        seen.add((code, fact.canonical))
        out.append({"code": code, "mention": _mention(fact), "name": fact.canonical, "confirmed": None})
    m = _UNDER_18.search((text or "").lower().replace("\u2019", "'"))
    if m:
        out.append({"code": "under_18", "mention": (text or "").strip()[:300], "name": "under 18", "confirmed": None})
    return out
