"""Free answers to the "do any of these apply?" checklist, read by phrase lists in data/lexicon/further_checks.yml."""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Optional, Tuple

import yaml

from bot.settings import get as get_settings

_NEGATED = re.compile(r"\b(no|not|never|don't|dont|do not|haven't|havent|none of|neither|nor)\b[^.,;]{0,25}$", re.IGNORECASE)
# a negation reaches no further than its clause: "no sunburn but I had botox" flags botox
_CLAUSE_BREAK = re.compile(r"[.,;!?]|\b(?:but|although|though|except|however|apart from)\b", re.IGNORECASE)


@lru_cache(maxsize=4)
def _phrases(path: Path) -> Tuple[Tuple[str, "re.Pattern[str]"], ...]:
    raw: Dict[str, List[str]] = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    compiled = []
    for code, phrases in raw.items():
        for phrase in phrases or []:
            compiled.append((code, re.compile(r"(?<![\w-])" + re.escape(str(phrase).lower()) + r"(?![\w-])")))
    return tuple(compiled)


def read_further_checks(text: str, path: Optional[Path] = None) -> List[str]:
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
