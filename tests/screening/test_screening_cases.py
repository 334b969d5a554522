"""The shipped rules against the case table (cases.yml), and every alternative of every rule on its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.screening import RuleSet, judge
from bot.screening.answers import FURTHER_CHECKS, UNSURE, YES_NO_KEYS
from bot.screening.conditions import (
    AllOf,
    AnswerBetween,
    AnswerIncludes,
    AnswerIs,
    AnyAnswer,
    AnyOf,
    Condition,
    Flag,
    MedicationClass,
    UnrecognisedMedication,
    Volunteered,
)
from tests.screening.screening_helpers import all_no_answers, medicine

CASES = yaml.safe_load((Path(__file__).parent / "cases.yml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_case(case: dict[str, Any], rules: RuleSet) -> None:
    judgement = judge(all_no_answers(**case["answers"]), rules)

    assert {r["code"] for r in judgement.reasons()} == set(case["flags"])
    assert {n["code"] for n in judgement.notes()} == set(case.get("notes", []))
    assert judgement.outcome == case["outcome"]
    details = {f.code: f.detail for f in judgement.findings}
    for code, text in case.get("detail", {}).items():
        assert text in details[code]


def test_case_names_are_unique() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))


def test_every_rule_has_a_case(rules: RuleSet) -> None:
    covered = {code for c in CASES for code in [*c["flags"], *c.get("notes", [])]}
    assert set(rules.codes) <= covered


@pytest.mark.parametrize("key", YES_NO_KEYS)
def test_unsure_to_any_yes_no_question_is_a_review(key: str, rules: RuleSet) -> None:
    judgement = judge(all_no_answers(**{key: UNSURE}), rules)

    assert judgement.outcome == "review"
    assert judgement.reasons() == [
        {
            "code": "unsure_answer",
            "rule": rules.rule("unsure_answer").title,
            "detail": f"Not sure: {key.replace('_', ' ')}",
        }
    ]


@pytest.mark.parametrize("check", FURTHER_CHECKS)
def test_each_further_check_triggers_its_own_code(check: str, rules: RuleSet) -> None:
    judgement = judge(all_no_answers(further_checks=[check]), rules)

    assert [r["code"] for r in judgement.reasons()] == [check]
    assert judgement.outcome == rules.rule(check).outcome


# ---- every alternative of every shipped rule, built from the parsed rule itself -------------------------------------
# The case table is the clinical specification; this guards rules added later without a case.


def witness(condition: Condition) -> dict[str, Any]:
    """Answers (over the all-no baseline) that make this condition match."""
    if isinstance(condition, AnswerIs):
        return {condition.key: condition.values[0]}
    if isinstance(condition, AnswerIncludes):
        return {condition.key: [condition.values[0]]}
    if isinstance(condition, AnswerBetween):
        bound = condition.at_most if condition.at_most is not None else condition.at_least
        return {condition.key: bound}
    if isinstance(condition, MedicationClass):
        return {"medication_facts": [medicine(condition.classes[0], current=True)]}
    if isinstance(condition, UnrecognisedMedication):
        return {"unrecognised_medications": ["zorbitol"]}
    if isinstance(condition, AnyAnswer):
        key = condition.keys[0]
        return {key: [condition.value] if key == "further_checks" else condition.value}
    if isinstance(condition, Flag):
        return {condition.key: True}
    if isinstance(condition, Volunteered):
        return {"volunteered": [{"code": condition.code, "mention": "said in passing", "confirmed": None}]}
    if isinstance(condition, AnyOf):
        return witness(condition.conditions[0])
    if isinstance(condition, AllOf):
        merged: dict[str, Any] = {}
        for part in condition.conditions:
            merged.update(witness(part))
        return merged
    raise AssertionError(f"no witness for {condition!r}")


def _alternatives(rules: RuleSet) -> list[tuple[str, int, Condition]]:
    found = []
    for rule in rules.rules:
        parts = rule.when.conditions if isinstance(rule.when, AnyOf) else (rule.when,)
        found.extend((rule.code, i, part) for i, part in enumerate(parts))
    return found


def test_every_alternative_alone_triggers_its_rule(rules: RuleSet) -> None:
    alternatives = _alternatives(rules)
    assert len(alternatives) > len(rules.rules)  # the shipped rules do have alternatives
    for code, index, condition in alternatives:
        judgement = judge(all_no_answers(**witness(condition)), rules)
        assert code in [f.code for f in judgement.findings], f"{code} alternative {index} did not trigger"
        assert judgement.findings[[f.code for f in judgement.findings].index(code)].detail
