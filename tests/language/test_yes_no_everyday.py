"""yes_no(text, key) over everyday answers to each screening question, and to read-backs (no key)."""

from __future__ import annotations

import datetime as dt
import time
from collections import Counter
from typing import Any, Dict, Iterator, Optional

import pytest

import bot.language as language
from bot.language import context, timeexpr
from tests.language.cases import load, params

KEYS = (
    "blood_thinners",
    "bleeding_disorder",
    "herpes_history",
    "herpes_active",
    "keloid",
    "active_acne",
    "isotretinoin",
    "pregnancy",
    "skin_infection",
    "consent",
    "confirmed",
)
CLASSES = ("plain", "hedge", "date", "past", "other", "wording", "noise")


class _Day(dt.date):
    """date, with today() fixed: "finished it in August" is read as of the day the line was written."""

    fixed: Optional[dt.date] = None

    @classmethod
    def today(cls) -> dt.date:  # type: ignore[override]
        return cls.fixed or dt.date.today()


@pytest.fixture
def read_on(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    def use(day: Optional[dt.date]) -> None:
        if day is None:
            return
        _Day.fixed = day
        monkeypatch.setattr(timeexpr, "date", _Day)
        context._analyse_cached.cache_clear()

    yield use
    if _Day.fixed is not None:
        _Day.fixed = None
        context._analyse_cached.cache_clear()  # no reading made on the fixed day outlives the test


@pytest.mark.parametrize("case", params("yes_no_everyday.yml"))
def test_everyday_answer(case: Dict[str, Any], read_on: Any) -> None:
    read_on(case.get("today"))
    got = language.yes_no(case["text"], key=case["key"])
    assert got == case["answer"], f"{case['key']}: {case['text']!r} read {got!r}, expected {case['answer']!r}"


@pytest.mark.parametrize("case", params("yes_no_readback.yml"))
def test_readback_answer(case: Dict[str, Any]) -> None:
    # the dialogue passes the requested slot; the answer must not depend on it
    for key in (None, "volunteer_confirm"):
        got = language.yes_no(case["text"], key=key)
        assert got == case["answer"], f"key={key}: {case['text']!r} read {got!r}, expected {case['answer']!r}"


def test_tables_cover_every_key_and_class() -> None:
    cases = load("yes_no_everyday.yml")
    per_key = Counter(c["key"] for c in cases)
    assert set(per_key) == set(KEYS), set(per_key) ^ set(KEYS)
    assert all(n >= 15 for n in per_key.values()), per_key
    assert {c["class"] for c in cases} == set(CLASSES)
    assert len(cases) + len(load("yes_no_readback.yml")) >= 250
    texts = [(c["key"], c["text"]) for c in cases]
    assert len(texts) == len(set(texts)), "a line is listed twice"
    readbacks = [c["text"] for c in load("yes_no_readback.yml")]
    assert len(readbacks) == len(set(readbacks)), "a read-back line is listed twice"


def test_speed_is_reported(capsys: pytest.CaptureFixture) -> None:
    """Printed, not asserted: the reader's time per answer over both tables (after one warm-up read)."""
    cases = [(c["text"], c["key"]) for c in load("yes_no_everyday.yml")] + [
        (c["text"], None) for c in load("yes_no_readback.yml")
    ]
    language.yes_no("warm up", key="blood_thinners")
    context._analyse_cached.cache_clear()
    times = []
    for text, key in cases:
        start = time.perf_counter()
        language.yes_no(text, key=key)
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    p50, p95 = times[len(times) // 2], times[int(len(times) * 0.95)]
    with capsys.disabled():
        print(
            f"\nyes_no over {len(times)} answers (uncached): p50 {p50:.2f} ms, p95 {p95:.2f} ms, "
            f"max {times[-1]:.2f} ms, total {sum(times):.0f} ms"
        )
