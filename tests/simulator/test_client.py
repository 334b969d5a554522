"""Fast tests of the simulated client and the runner, against the perfect assistant in oracle.py (no stack)."""

from __future__ import annotations

from collections import Counter

import pytest

from bot.screening.answers import NO, YES
from tests.simulator import invariants, run
from tests.simulator.client import CODE_TO_SLOT, SimulatedClient, draw_profile
from tests.simulator.oracle import OracleAssistant

SEEDS = range(200)


def _messages(result):
    return [(t.kind, t.text) for t in result.turns]


def test_a_seed_is_reproducible():
    seed = next(
        s
        for s in range(100)
        if SimulatedClient(s).plan.describe() == "answers only" and SimulatedClient(s).profile.consent == YES
    )
    first = run.converse(OracleAssistant(), seed)
    again = run.converse(OracleAssistant(), seed)
    assert _messages(first) == _messages(again) and len(first.turns) > 15
    assert draw_profile(seed).describe() == draw_profile(seed).describe()
    assert _messages(run.converse(OracleAssistant(), seed + 1)) != _messages(first)


def test_profiles_are_consistent_with_the_facts_their_sentences_volunteer():
    for seed in range(1000):
        profile = SimulatedClient(seed).profile
        entries = [profile.notes_entry, *profile.answers.values()]
        for entry in entries:
            for code in entry.also:
                if code in CODE_TO_SLOT:
                    assert profile.yes_no.get(CODE_TO_SLOT[code]) == YES, (seed, entry.text, code)
                elif code != "client_requested_human":
                    assert code in profile.checks, (seed, entry.text, code, profile.checks)
        for key, entry in profile.answers.items():
            assert entry.means == profile.yes_no[key] or entry.get("question") == key, (seed, key)
        if any(m["class"] in ("anticoagulant", "antiplatelet") and m.get("current", True) for m in profile.medicines):
            assert profile.yes_no["blood_thinners"] == YES
        if profile.yes_no.get("herpes_history") == NO:
            assert "herpes_active" not in profile.yes_no


def test_rates_are_realistic():
    profiles = [SimulatedClient(seed).profile for seed in range(1000)]
    consent = Counter(p.consent for p in profiles)
    assert 0.85 < consent[YES] / 1000 < 0.97
    for key in ("bleeding_disorder", "keloid", "pregnancy", "skin_infection"):
        values = Counter(p.yes_no[key] for p in profiles)
        assert values[NO] > 700 and values[YES] > 10 and values["unsure"] > 10, (key, values)
    word_names = sum(1 for p in profiles if p.name_entry.group == "names_that_are_words")
    assert 300 < word_names < 500


def test_the_perfect_assistant_passes_every_invariant():
    results = run.play_many(OracleAssistant(), SEEDS, workers=4)
    table = invariants.counts(results)
    failing = [r for r in results if r.violations]
    assert not failing, run.report(results)
    assert all(n == (0, 0) for n in table.values())
    endings = Counter(r.ending() for r in results)
    assert endings["completed"] > 120 and endings["declined"] > 5 and endings["abandoned"] > 5, endings
    assert endings["stopped"] > 2 and endings["restarted"] >= 1, endings
    kinds = Counter(t.detail for r in results for t in r.turns if t.kind == "digression")
    for kind in ("faq", "why", "person", "urgent", "stop", "restart"):
        assert kinds[kind] > 0, kinds
    assert any(k.startswith("correction:") for k in kinds), kinds
    assert any(t.kind == "readback" for r in results for t in r.turns)


@pytest.mark.parametrize(
    "mistake,invariant",
    [
        ("lose_yes", "flag_lost"),
        ("ignore_person", "person_request_referred"),
        ("no_referral", "one_referral_per_flagged"),
        ("reask_forever", "no_question_thrice"),
    ],
)
def test_a_bad_assistant_is_caught(mistake, invariant):
    results = run.play_many(OracleAssistant(mistakes={mistake}), range(60), workers=2)
    table = invariants.counts(results)
    assert table[invariant][0] > 0, run.report(results, 1)


def test_a_failing_conversation_prints_its_seed_transcript_and_violations():
    result = run.play(OracleAssistant(mistakes={"reask_forever"}), 3)
    text = run.transcript(result)
    assert "seed 3" in text and "VIOLATION no_question_thrice" in text
    assert "[keloid -> keloid]" in text and "truth:" in text
