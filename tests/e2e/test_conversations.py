"""Whole conversations from tests/e2e/conversations.yml, held with the real running assistant."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

import pytest
import yaml

from tests.e2e.script import STANDARD, Turn, run

CONVERSATIONS = [
    conversation
    for name in ("conversations.yml", "question_first.yml")
    for conversation in yaml.safe_load((Path(__file__).parent / name).read_text())["conversations"]
]
LONG_MESSAGE = ("my cheeks and forehead " * 220)[:5000]


def turns_of(spec: Dict[str, Any]) -> List[Turn]:
    turns: List[Turn] = []
    for step in spec["turns"]:
        if "standard_until" in step:
            keys = [key for key, _, _ in STANDARD]
            end = keys.index(step["standard_until"])
            for _, message, next_question in STANDARD[step.get("skip_first", 0) : end]:
                turns.append(Turn(message, next_question))
            continue
        say = LONG_MESSAGE if step["say"] == "LONG" else step["say"]
        turns.append(Turn(say, step.get("expect"), step.get("absent")))
    return turns


def hold(stack, spec: Dict[str, Any]) -> str:
    return run(stack, turns_of(spec))


@pytest.mark.parametrize("spec", CONVERSATIONS, ids=[c["name"] for c in CONVERSATIONS])
def test_conversation(stack, spec):
    sender = hold(stack, spec)
    then = spec.get("then")
    if not then:
        return
    shown = stack.show(sender)
    if then.get("stored") is False:
        assert shown is None or not shown["answers"], f"health data stored after consent was declined: {shown}"
        return
    if then.get("no_referral") and shown is None:
        return
    assert shown is not None, "no consultation stored"
    if "status" in then:
        assert shown["status"] == then["status"]
    if "outcome" in then:
        assert shown["outcome"] == then["outcome"], shown
    codes = {reason["code"] for reason in shown["reasons"]}
    for code in then.get("reasons", []):
        assert code in codes, f"{code} not in {codes}"
    for key, value in (then.get("answers") or {}).items():
        assert shown["answers"].get(key) == value, f"answer {key}: {shown['answers'].get(key)!r} != {value!r}"
    if "answers_exactly" in then:
        assert sorted(shown["answers"]) == sorted(then["answers_exactly"]), shown["answers"]
    for key in then.get("answers_include", []):
        assert key in shown["answers"], f"answer {key} was lost: {sorted(shown['answers'])}"
    if then.get("no_referral"):
        assert shown is None or shown["referral"] is None, shown
        return
    if "referral" in then:
        assert (shown["referral"] is not None) == then["referral"]
