"""Free answers to the "do any of these apply?" checklist (`read_further_checks`): phrase lists in
data/lexicon/further_checks.yml (`by_phrase`) joined with the lexicon's facts (bot.language.facts)."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from bot.screening.answers import FURTHER_CHECKS
from bot.settings import get as get_settings

_NEGATED = re.compile(
    r"\b(no|not|never|don't|dont|do not|haven't|havent|none of|neither|"
    r"nor)\b[^.,;]{0,25}$",
    re.IGNORECASE,
)
# a negation reaches no further than its clause: "no sunburn but I had botox" flags botox
_CLAUSE_BREAK = re.compile(r"[.,;!?]|\b(?:but|although|though|except|however|apart from)\b", re.IGNORECASE)


@lru_cache(maxsize=4)
def _phrases(path: Path) -> Tuple[Tuple[str, re.Pattern[str]], ...]:
    raw: Dict[str, List[str]] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    compiled = []
    for code, phrases in raw.items():
        for phrase in phrases or []:
            compiled.append((code, re.compile(r"(?<![\w-])" + re.escape(str(phrase).lower()) + r"(?![\w-])")))
    return tuple(compiled)


def by_phrase(text: str, path: Optional[Path] = None) -> List[str]:
    """Checklist codes the text says apply, in first-mention order; negated mentions ("no sunburn") don't count."""
    path = path or get_settings().lexicon_dir / "further_checks.yml"
    lowered = (text or "").lower()
    found: List[Tuple[int, str]] = []
    for code, pattern in _phrases(path):
        for match in pattern.finditer(lowered):
            clause = _CLAUSE_BREAK.split(lowered[: match.start()])[-1]
            if _NEGATED.search(clause):
                continue
            found.append((match.start(), code))
            break
    ordered: List[str] = []
    for _, code in sorted(found):
        if code not in ordered:
            ordered.append(code)
    return ordered


def read_further_checks(text: str) -> List[str]:
    """Checklist codes the text says apply: the phrase list (`by_phrase`) joined with the lexicon's facts.

    A code the phrase list found is dropped when every mention bearing it is denied or someone else's.
    """
    from bot.language.facts import find_facts, volunteered  # spaCy loads on first use, not on import

    facts = find_facts(text)
    own = [f.code for f in facts if f.own_affirmed and f.code in FURTHER_CHECKS]
    denied = {f.code for f in facts if not f.own_affirmed and f.code in FURTHER_CHECKS} - set(own)
    found = [c for c in by_phrase(text) if c not in denied]
    for code in own + [v["code"] for v in volunteered(text) if v["code"] == "under_18"]:
        if code and code not in found:
            found.append(code)
    return [c for c in FURTHER_CHECKS if c in found]
