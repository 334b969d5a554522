"""Reading what a client wants treated (`read_concerns`): concern codes from answers.CONCERNS."""

from __future__ import annotations

import re
from typing import List, Optional

from bot.language import context, context_pipeline
from bot.language.facts import clean
from bot.language.yes_no_answers import yes_no
from bot.screening.answers import CONCERNS, NO, UNSURE

_CONDITION_CONCERN = {"keloid scars": "other_scars", "rosacea": "rosacea"}


def read_concerns(text: str) -> List[str]:
    """Concern codes (answers.CONCERNS) in the text, in order; ["other"] for a meaningful answer that names none."""
    facts = [f for f in context.analyse(text)]
    codes: List[str] = []
    has_acne = any(f.kind == "condition" and f.canonical == "acne" for f in facts)
    for fact in facts:
        if fact.negated:
            continue
        code: Optional[str] = None
        if fact.kind == "concern":
            code = fact.canonical
            if code == "other_scars" and has_acne:
                code = "acne_scarring"  # "scarring from my acne", "acne and the scars it left"
        elif fact.kind == "condition":
            code = _CONDITION_CONCERN.get(fact.canonical)
        if code and code in CONCERNS and code not in codes:
            codes.append(code)
    if not codes and (_meaningful(text) or any(f.kind != "concern" and not f.negated for f in facts)):
        codes.append("other")  # "acne": not a concern code, but an answer (and volunteered as active acne)
    return codes


def _meaningful(text: str) -> bool:
    r = context_pipeline.pipeline()
    t = clean(text)
    if yes_no(t) in (UNSURE, NO) and len(t.split()) <= 4:
        return False
    words = [w for w in re.findall(r"[a-z]+", t) if len(w) >= 3]
    return any(w not in r.everyday for w in words)
