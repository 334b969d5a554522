"""Properties of the engine over generated answers (hypothesis): monotone, consistent, total."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.screening import judge, load_rules, severity
from bot.screening.answers import OUTCOMES
from tests.screening.screening_helpers import (
    SHIPPED_RULES,
    all_no_answers,
    answer_sets,
    junk,
    junk_answers,
    risk_additions,
)

# Module-level (not a fixture) so hypothesis can build strategies from it.
RULES = load_rules(SHIPPED_RULES)
ANSWERS = answer_sets(RULES.codes)


@settings(max_examples=300)
@given(data=st.data(), answers=ANSWERS)
def test_one_more_risk_factor_never_lowers_the_outcome(data: st.DataObject, answers: dict[str, Any]) -> None:
    after = data.draw(risk_additions(answers, RULES.codes))
    before_j, after_j = judge(answers, RULES), judge(after, RULES)

    assert severity(after_j.outcome) >= severity(before_j.outcome)
    assert {f.code for f in before_j.findings} <= {f.code for f in after_j.findings}


@settings(max_examples=300)
@given(answers=ANSWERS)
def test_outcome_is_the_most_severe_finding(answers: dict[str, Any]) -> None:
    judgement = judge(answers, RULES)

    expected = max((f.outcome for f in judgement.findings), key=severity, default="clear")
    assert judgement.outcome == expected
    assert [severity(f.outcome) for f in judgement.findings] == sorted(
        (severity(f.outcome) for f in judgement.findings), reverse=True
    )


@settings(max_examples=300)
@given(answers=ANSWERS)
def test_flagged_exactly_when_there_is_a_reason(answers: dict[str, Any]) -> None:
    judgement = judge(answers, RULES)

    assert judgement.flagged == bool(judgement.reasons())
    assert all(r["detail"] for r in judgement.reasons())


@settings(max_examples=200)
@given(answers=ANSWERS)
def test_notes_never_change_the_outcome(answers: dict[str, Any]) -> None:
    without_notes = dataclasses.replace(RULES, rules=tuple(r for r in RULES.rules if not r.is_note))

    assert judge(answers, RULES).outcome == judge(answers, without_notes).outcome


@settings(max_examples=500)
@given(answers=junk_answers)
def test_judge_is_total_on_junk(answers: dict[Any, Any]) -> None:
    judgement = judge(answers, RULES)

    assert judgement.outcome in OUTCOMES
    json.dumps(judgement.to_dict())


@settings(max_examples=300)
@given(
    value=junk,
    key=st.sampled_from(
        [
            "medication_facts",
            "volunteered",
            "further_checks",
            "unrecognised_medications",
            "isotretinoin_months_ago",
            "blood_thinners",
            "requested_human",
        ]
    ),
)
def test_one_junk_value_in_an_otherwise_good_consultation(value: Any, key: str) -> None:
    judgement = judge(all_no_answers(**{key: value}), RULES)

    assert judgement.outcome in OUTCOMES
    json.dumps(judgement.to_dict())
