"""bot/intake.py over tests/language/cases/names.yml: names, names as written, markup, contact details."""

from __future__ import annotations

import time
from typing import Any, Dict, List

import pytest

from bot import intake
from tests.language.cases import load

TABLE = "names.yml"


def _params(section: str) -> List[Any]:
    cases = load(TABLE)[section]
    return [pytest.param(c, id=repr(c["text"])[:60]) for c in cases]


@pytest.mark.parametrize("case", _params("parse_name"))
def test_parse_name(case: Dict[str, Any]) -> None:
    assert intake.parse_name(case["text"]) == case["name"]


@pytest.mark.parametrize("case", _params("name_as_written"))
def test_name_as_written(case: Dict[str, Any]) -> None:
    assert intake.name_as_written(case["text"]) == case["name"]


@pytest.mark.parametrize("case", _params("strip_markup"))
def test_strip_markup(case: Dict[str, Any]) -> None:
    assert intake.strip_markup(case["text"]) == case["out"]


@pytest.mark.parametrize("case", _params("parse_contact"))
def test_parse_contact(case: Dict[str, Any]) -> None:
    contact = intake.parse_contact(case["text"])
    if case["email"] is None and case["phone"] is None:
        assert contact is None
    else:
        assert contact is not None
        assert (contact.email, contact.phone) == (case["email"], case["phone"])


def test_names_are_capped() -> None:
    long_name = " ".join(["Bartholomew-Montgomery"] * 5)
    assert len(intake.parse_name(long_name) or "") <= intake.MAX_NAME
    assert len(intake.name_as_written("x" * 500) or "") <= intake.MAX_NAME


def test_a_parsed_name_is_never_a_contact() -> None:
    for case in load(TABLE)["parse_name"]:
        name = intake.parse_name(case["text"])
        if name:
            assert intake.parse_contact(name) is None, name


def test_timing() -> None:
    """parse_name, name_as_written, parse_contact well under a millisecond (printed, not asserted)."""
    table = load(TABLE)
    texts = [c["text"] for section in table.values() for c in section]
    print()
    for fn in (intake.parse_name, intake.name_as_written, intake.parse_contact, intake.strip_markup):
        times = []
        for text in texts:
            start = time.perf_counter()
            fn(text)
            times.append(time.perf_counter() - start)
        times.sort()
        print(
            f"{fn.__name__:16s} {len(times)} texts: p50 {times[len(times) // 2] * 1000:.3f} ms, "
            f"max {times[-1] * 1000:.3f} ms"
        )
