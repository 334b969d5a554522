"""`python -m bot questions check`: is domain.yml in step with data/questions.yml? (`questions domain` prints what
domain.yml needs for the questions: the form's slots in order, each slot's mapping, the ask actions.)"""
from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Dict, List

import yaml

from bot.dialogue import questions

DOMAIN = questions.ROOT / "domain.yml"


def expected() -> Dict[str, Any]:
    slots = {
        q.slot: {
            "type": "any",
            "influence_conversation": False,
            "mappings": [{"type": "from_text", "conditions": [
                {"active_loop": "consultation_form", "requested_slot": q.slot}]}],
        }
        for q in questions.all_questions()
    }
    return {
        "forms": {"consultation_form": {"required_slots": questions.form_slots()}},
        "slots": slots,
        "actions": [q.ask_action for q in questions.all_questions()],
    }


def differences(domain_path: Path = DOMAIN) -> List[str]:
    """What domain.yml lacks or has differently from the declarations (empty when in step)."""
    domain = yaml.safe_load(domain_path.read_text(encoding="utf-8"))
    want = expected()
    found: List[str] = []
    have_order = ((domain.get("forms") or {}).get("consultation_form") or {}).get("required_slots")
    if have_order != want["forms"]["consultation_form"]["required_slots"]:
        found.append(f"forms.consultation_form.required_slots is {have_order}, "
                     f"data/questions.yml says {want['forms']['consultation_form']['required_slots']}")
    for slot, spec in want["slots"].items():
        have = (domain.get("slots") or {}).get(slot)
        if have is None:
            found.append(f"slot {slot} is missing")
        elif have.get("mappings") != spec["mappings"]:
            found.append(f"slot {slot}: mappings {have.get('mappings')} != {spec['mappings']}")
    actions = set(domain.get("actions") or [])
    for action in want["actions"]:
        if action not in actions:
            found.append(f"action {action} is not listed under actions")
    responses = set(domain.get("responses") or {})
    for q in questions.all_questions():
        for name in (f"utter_ask_{q.slot}", f"utter_why_{q.slot}"):
            if name in responses:
                found.append(f"response {name} duplicates data/questions.yml: remove it from domain.yml")
    return found


def _domain(args: argparse.Namespace) -> int:
    print(yaml.safe_dump(expected(), sort_keys=False, allow_unicode=True))
    return 0


def _check(args: argparse.Namespace) -> int:
    found = differences()
    for line in found:
        print(line)
    if not found:
        print("domain.yml is in step with data/questions.yml")
    return 1 if found else 0


def register(subparsers: Any) -> None:
    group = subparsers.add_parser("questions", help="the questions declared in data/questions.yml")
    sub = group.add_subparsers(dest="command", required=True)
    sub.add_parser("domain", help="print what domain.yml needs for the questions").set_defaults(func=_domain)
    sub.add_parser("check", help="is domain.yml in step with data/questions.yml?").set_defaults(func=_check)
