"""Medicines and conditions read from client sentences: what, whose, whether, when, and what is volunteered."""

from __future__ import annotations

from collections import Counter
from typing import Any, Dict

import pytest

import bot.language as language
from tests.language.cases import LABEL_DAY, fact_is, load, match, params

FLAG_CLASSES = ("anticoagulant", "antiplatelet", "oral_retinoid")


@pytest.mark.parametrize("case", params("facts.yml") + params("holdout.yml") + params("holdout2.yml"))
def test_sentence_reads_as_labelled(case: Dict[str, Any]) -> None:
    facts = language.find_facts(case["text"], LABEL_DAY)
    problems, extra, missed = match(case.get("facts") or [], facts)
    read = [(f.text, fact_is(f)) for f in facts]
    assert not missed, f"missed {[m['is'] for m in missed]} in {case['text']!r}; read {read}"
    assert not extra, f"unexpected {[(f.text, fact_is(f)) for f in extra]} in {case['text']!r}"
    assert not problems, "; ".join(problems)
    # one entry per medicine or condition named: compare the codes they bear
    codes = sorted({v["code"] for v in language.volunteered(case["text"], today=LABEL_DAY)})
    assert codes == sorted(set(case.get("volunteered") or [])), f"volunteered {codes} for {case['text']!r}"


def test_recall_of_blood_thinners_and_isotretinoin_is_complete() -> None:
    """Every anticoagulant, antiplatelet and oral isotretinoin mention in the tables is found (100% recall)."""
    expected = Counter()
    found = Counter()
    misses = []
    for case in load("facts.yml") + load("holdout.yml") + load("holdout2.yml"):
        wanted = [w for w in case.get("facts") or [] if w["is"] in FLAG_CLASSES]
        if not wanted:
            continue
        facts = language.find_facts(case["text"], LABEL_DAY)
        _, _, missed = match(wanted, [f for f in facts if f.drug_class in FLAG_CLASSES])
        for want in wanted:
            expected[want["is"]] += 1
        for want in missed:
            misses.append((case["text"], want["is"]))
        for want in wanted:
            found[want["is"]] += 1
        for _, cls in [(t, c) for t, c in misses if t == case["text"]]:
            found[cls] -= 1
    assert sum(expected.values()) >= 80, "the tables should hold many blood-thinner and isotretinoin mentions"
    assert not misses, f"missed: {misses}"
    assert found == expected


def test_denied_and_other_peoples_mentions_never_volunteer() -> None:
    """A sentence whose mentions are all denied or someone else's volunteers nothing; every volunteered entry comes
    from an own, affirmed mention."""
    checked = 0
    for case in load("facts.yml") + load("holdout.yml") + load("holdout2.yml"):
        wanted = case.get("facts") or []
        found = language.volunteered(case["text"], today=LABEL_DAY)
        if wanted and all(w.get("negated") or w.get("other") for w in wanted):
            checked += 1
            assert found == [], case["text"]
        own = {f.canonical for f in language.find_facts(case["text"], LABEL_DAY) if f.own_affirmed}
        for entry in found:
            assert entry["name"] in own or entry["code"] == "under_18", (case["text"], entry)
    assert checked >= 50


def test_volunteered_entries_have_the_answers_shape() -> None:
    found = language.volunteered("no, but I take Eliquis for my heart. I get cold sores too.")
    assert [v["code"] for v in found] == ["anticoagulant", "herpes_history"]
    assert found[0] == {
        "code": "anticoagulant",
        "mention": "no, but I take Eliquis for my heart.",
        "name": "Eliquis (apixaban)",
        "confirmed": None,
    }


def test_isotretinoin_window_is_the_callers() -> None:
    text = "I finished roaccutane 9 months ago"
    assert language.volunteered(text, window_months=6) == []
    assert [v["code"] for v in language.volunteered(text, window_months=12)] == ["isotretinoin_recent"]


def test_fact_carries_offsets_and_sentence() -> None:
    text = "Hello. My husband takes warfarin. I take Xarelto daily."
    facts = language.find_facts(text)
    assert [(text[f.start : f.end], f.other_person) for f in facts] == [("warfarin", True), ("Xarelto", False)]
    assert facts[1].sentence == "I take Xarelto daily."
    assert facts[1].canonical == "Xarelto (rivaroxaban)" and facts[1].generic == "rivaroxaban"


def test_misspelling_fallback_catches_unlisted_typos_but_not_everyday_words() -> None:
    assert [f.drug_class for f in language.find_facts("I take rivaroxabn")] == ["anticoagulant"]
    assert [f.fuzzy for f in language.find_facts("I take rivaroxabn")] == [True]
    assert language.find_facts("I'm aspiring to better skin") == []
    assert language.find_facts("it was a heartening chat") == []
