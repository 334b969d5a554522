"""The Judgement and Finding API: ordering, details, notes, serialisation, severity."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bot.screening import Finding, Judgement, RuleSet, judge, severity
from bot.settings import ROOT
from tests.screening.screening_helpers import all_no_answers, medicine


def test_all_no_is_clear_with_no_findings(rules: RuleSet) -> None:
    judgement = judge(all_no_answers(), rules)

    assert judgement == Judgement(outcome="clear", findings=(), rules_version=rules.version)
    assert not judgement.flagged
    assert judgement.reasons() == [] and judgement.notes() == []


def test_findings_are_ordered_by_severity_then_rules_file_order(rules: RuleSet) -> None:
    answers = all_no_answers(
        keloid="yes",
        blood_thinners="yes",
        pregnancy="yes",
        active_acne="yes",
        medication_facts=[medicine("nsaid", "Ibuprofen")],
    )
    codes = [f.code for f in judge(answers, rules).findings]

    assert codes == ["active_acne", "pregnancy", "anticoagulant", "keloid_tendency", "bruising_medication"]
    file_order = list(rules.codes)
    for outcome in ("defer", "review"):
        same = [c for c in codes if rules.rule(c).outcome == outcome]
        assert same == sorted(same, key=file_order.index)


def test_a_finding_carries_the_rule_text(rules: RuleSet) -> None:
    (finding,) = judge(all_no_answers(herpes_active="yes"), rules).findings
    rule = rules.rule("active_herpes")

    assert finding == Finding(
        code="active_herpes",
        outcome="defer",
        rule=rule.title,
        rationale=rule.rationale,
        client_text=rule.client_text,
        detail="Answered yes to: herpes active",
    )


def test_reasons_and_notes_have_the_design_shape(rules: RuleSet) -> None:
    judgement = judge(
        all_no_answers(blood_thinners="yes", medication_facts=[medicine("topical_retinoid", "Differin", "adapalene")]),
        rules,
    )

    assert judgement.reasons() == [
        {
            "code": "anticoagulant",
            "rule": rules.rule("anticoagulant").title,
            "detail": "Answered yes to: blood thinners",
        }
    ]
    assert judgement.notes() == [
        {
            "code": "topical_retinoid",
            "rule": rules.rule("topical_retinoid").title,
            "detail": "Medication mentioned: Differin (adapalene, topical_retinoid)",
        }
    ]


def test_notes_alone_do_not_flag(rules: RuleSet) -> None:
    judgement = judge(all_no_answers(medication_facts=[medicine("nsaid"), medicine("supplement")]), rules)

    assert judgement.outcome == "clear" and not judgement.flagged
    assert judgement.reasons() == []
    assert [n["code"] for n in judgement.notes()] == ["bruising_medication"]


def test_to_dict_is_json_ready(rules: RuleSet) -> None:
    judgement = judge(all_no_answers(active_acne="yes", medication_facts=[medicine("nsaid")]), rules)
    data = json.loads(json.dumps(judgement.to_dict()))

    assert data["outcome"] == "defer"
    assert data["rules_version"] == rules.version
    assert data["reasons"] == judgement.reasons()
    assert data["notes"] == judgement.notes()
    assert data["findings"][0] == {
        "code": "active_acne",
        "outcome": "defer",
        "rule": rules.rule("active_acne").title,
        "rationale": rules.rule("active_acne").rationale,
        "client_text": rules.rule("active_acne").client_text,
        "detail": "Answered yes to: active acne",
    }


def test_several_medicines_each_appear_in_the_detail(rules: RuleSet) -> None:
    answers = all_no_answers(
        medication_facts=[
            medicine("anticoagulant", "Eliquis", "apixaban"),
            medicine("antiplatelet", "Aspirin", "aspirin"),
        ]
    )
    (finding,) = judge(answers, rules).findings

    assert finding.detail == (
        "Medication mentioned: Eliquis (apixaban, anticoagulant); Medication mentioned: Aspirin (antiplatelet)"
    )


def test_unrecognised_medicines_are_quoted_verbatim(rules: RuleSet) -> None:
    (finding,) = judge(all_no_answers(unrecognised_medications=["zorbitol 20mg", "the blue one"]), rules).findings

    assert finding.detail == "Unrecognised medication: 'zorbitol 20mg', 'the blue one'"


def test_lenient_reading_leans_towards_a_person(rules: RuleSet) -> None:
    """Adapters should send "yes"; a bool or odd casing still flags rather than silently dropping a risk."""
    assert judge(all_no_answers(blood_thinners=True), rules).outcome == "review"
    assert judge(all_no_answers(blood_thinners=" YES "), rules).outcome == "review"
    assert judge(all_no_answers(further_checks="vitiligo"), rules).outcome == "review"
    assert judge(all_no_answers(isotretinoin_months_ago="2"), rules).outcome == "defer"
    assert judge(all_no_answers(blood_thinners=False), rules).outcome == "clear"


@pytest.mark.parametrize("answers", [None, [], "yes", 42, {}])
def test_judge_is_total_on_non_mappings_and_empty(answers: object, rules: RuleSet) -> None:
    assert judge(answers, rules).outcome == "clear"  # type: ignore[arg-type]


def test_judge_is_deterministic_and_leaves_answers_alone(rules: RuleSet) -> None:
    answers = all_no_answers(
        keloid="unsure",
        further_checks=["vitiligo"],
        volunteered=[{"code": "anticoagulant", "mention": "Eliquis", "confirmed": None}],
    )
    before = json.dumps(answers, sort_keys=True)

    assert judge(answers, rules) == judge(answers, rules)
    assert json.dumps(answers, sort_keys=True) == before


def test_severity_orders_outcomes() -> None:
    assert severity("clear") < severity("review") < severity("defer")
    with pytest.raises(ValueError, match="maybe"):
        severity("maybe")


def test_screening_imports_no_rasa() -> None:
    """bot.screening is the pure core: importing it must not pull in Rasa or the Rasa SDK."""
    code = (
        "import sys, bot.screening; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('rasa', 'rasa_sdk', 'sqlalchemy')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)

    assert result.returncode == 0, result.stdout + result.stderr
