"""The labelled client sentences in tests/language/cases/*.yml, and how a reading is compared with its label."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import pytest
import yaml

CASES_DIR = Path(__file__).resolve().parent / "cases"
# the day the tables were labelled: "in January", "last summer" are read as of then, so the tables hold all year
LABEL_DAY = date(2026, 11, 26)
MONTHS_TOLERANCE = 0.6


def load(name: str) -> List[Dict[str, Any]]:
    return yaml.safe_load((CASES_DIR / name).read_text(encoding="utf-8")) or []


def params(name: str) -> List[Any]:
    """pytest params, one per line of the table. Every line must pass: known misses are listed in
    bot/language/README.md, not kept as expected failures."""
    out = []
    for case in load(name):
        assert "known_miss" not in case, f"{name}: {case.get('text')!r}: a table line must pass (no known_miss)"
        out.append(pytest.param(case, id=str(case.get("text", ""))[:60] or "<empty>"))
    return out


def fact_is(fact: Any) -> str:
    """A fact's label in the tables: a medicine's class, a condition's lexicon name."""
    return fact.drug_class if fact.kind == "medication" else fact.canonical


def attr_problems(expected: Dict[str, Any], fact: Any) -> List[str]:
    problems = []
    checks = {"negated": fact.negated, "other": fact.other_person, "current": fact.current, "code": fact.code}
    for key, actual in checks.items():
        if key in expected and expected[key] != actual:
            problems.append(f"{key}={actual!r}, expected {expected[key]!r}")
    if "months" in expected:
        want = expected["months"]
        got = fact.months_ago
        if want is None or got is None:
            if want != got:
                problems.append(f"months={got!r}, expected {want!r}")
        elif abs(float(want) - float(got)) > MONTHS_TOLERANCE:
            problems.append(f"months={got!r}, expected {want!r}")
    return problems


def match(
    expected: Sequence[Dict[str, Any]], facts: Sequence[Any]
) -> Tuple[List[str], List[Any], List[Dict[str, Any]]]:
    """Pair expected facts with read ones by label. Returns (attribute problems, unexpected facts, missed labels)."""
    unused = list(facts)
    problems: List[str] = []
    missed: List[Dict[str, Any]] = []
    for want in expected:
        candidates = [f for f in unused if fact_is(f) == want["is"]]
        if not candidates:
            missed.append(want)
            continue
        # prefer the candidate whose attributes agree ("no warfarin but I take apixaban")
        best: Optional[Any] = min(candidates, key=lambda f: len(attr_problems(want, f)))
        problems += [f"{want['is']} ({best.text!r}): {p}" for p in attr_problems(want, best)]
        unused.remove(best)
    return problems, unused, missed
