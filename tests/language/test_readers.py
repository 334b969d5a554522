"""The form's readers over their tables: yes/no, time, medicines, concerns, corrections, language hint."""

from __future__ import annotations

from typing import Any, Dict

import pytest

import bot.language as language
from tests.language.cases import params


@pytest.mark.parametrize("case", params("yes_no.yml"))
def test_yes_no(case: Dict[str, Any]) -> None:
    assert language.yes_no(case["text"], key=case.get("key")) == case["answer"]


@pytest.mark.parametrize("case", params("time.yml"))
def test_months_ago(case: Dict[str, Any]) -> None:
    got = language.months_ago(case["text"])
    if case["months"] is None:
        assert got is None
    else:
        assert got is not None and abs(got - case["months"]) <= 0.1, got


@pytest.mark.parametrize("case", params("medications.yml"))
def test_read_medications(case: Dict[str, Any]) -> None:
    reading = language.read_medications(case["text"])
    if "none" in case:
        assert reading.none_stated is case["none"]
    if "classes" in case:
        assert sorted(f.drug_class for f in reading.own()) == sorted(case["classes"])
    if "unrecognised" in case:
        assert list(reading.unrecognised) == case["unrecognised"]  # verbatim, as the client wrote it


def test_medication_fact_answer_shape() -> None:
    reading = language.read_medications("Elliquis 5mg, and I stopped roaccutane 2 years ago")
    answers = [f.to_answer() for f in reading.facts]
    assert answers == [
        {"name": "Elliquis", "generic": "apixaban", "drug_class": "anticoagulant", "current": True, "months_ago": None},
        {
            "name": "roaccutane",
            "generic": "isotretinoin",
            "drug_class": "oral_retinoid",
            "current": False,
            "months_ago": 24.0,
        },
    ]
    assert list(reading.unrecognised) == []


@pytest.mark.parametrize("case", params("concerns.yml"))
def test_read_concerns(case: Dict[str, Any]) -> None:
    assert language.read_concerns(case["text"]) == case["codes"]


@pytest.mark.parametrize("case", params("corrections.yml"))
def test_field_of(case: Dict[str, Any]) -> None:
    assert language.field_of(case["text"]) == case["field"]


@pytest.mark.parametrize("case", params("language.yml"))
def test_is_not_english(case: Dict[str, Any]) -> None:
    assert language.is_not_english(case["text"]) is case["foreign"]


def test_read_further_checks_joins_phrases_and_facts() -> None:
    assert language.read_further_checks("I had botox 2 weeks ago but no sunburn") == ["injectables_recent"]
    assert language.read_further_checks("my mum has lupus") == []
    assert language.read_further_checks("I'm 16 and have vitiligo") == ["under_18", "vitiligo"]
