"""Every reason code, reached by a real conversation over REST and read back through the contract command
(docs/architecture.md, "The consultation JSON")."""

from __future__ import annotations

import pytest

from tests.e2e.script import run, standard_turns

CHECK = '/inform{{"check":"{}"}}'

# code -> (answers that trigger it, expected outcome)
CASES = {
    "active_acne": ({"active_acne": "/affirm"}, "defer"),
    "active_herpes": ({"herpes_history": ["/affirm", "/affirm"]}, "defer"),
    "isotretinoin_recent": ({"isotretinoin": "yes, I finished Roaccutane last month"}, "defer"),
    "pregnancy": ({"pregnancy": "yes I'm breastfeeding"}, "defer"),
    "skin_infection": ({"skin_infection": "/affirm"}, "defer"),
    "anticoagulant": ({"blood_thinners": "yes, clopidogrel"}, "review"),
    "bleeding_disorder": ({"bleeding_disorder": "/affirm"}, "review"),
    "herpes_history": ({"herpes_history": ["yeah a few years ago", "/deny"]}, "review"),
    "keloid_tendency": ({"keloid": "yeah, my ear piercing scarred badly"}, "review"),
    "unrecognised_medication": ({"medications": "zorbitol 20mg every morning"}, "review"),
    "unsure_answer": ({"bleeding_disorder": "/unsure"}, "review"),
    "client_requested_human": ({}, "review"),  # asked for at the notes question: PERSON below
    "skin_lesion": ({"further_checks": [CHECK.format("skin_lesion"), "/affirm"]}, "review"),
    "immunosuppression": ({"further_checks": [CHECK.format("immunosuppression"), "/affirm"]}, "review"),
    "diabetes_uncontrolled": ({"further_checks": [CHECK.format("diabetes_uncontrolled"), "/affirm"]}, "review"),
    "autoimmune": ({"further_checks": "I have lupus"}, "review"),
    "vitiligo": ({"further_checks": [CHECK.format("vitiligo"), "/affirm"]}, "review"),
    "rosacea_flare": ({"further_checks": [CHECK.format("rosacea_flare"), "/affirm"]}, "defer"),
    "recent_sun_damage": ({"further_checks": "I got sunburnt last week"}, "defer"),
    "recent_procedure": ({"further_checks": [CHECK.format("recent_procedure"), "/affirm"]}, "defer"),
    "injectables_recent": ({"further_checks": [CHECK.format("injectables_recent"), "/affirm"]}, "review"),
    "allergy_metal_or_anaesthetic": ({"further_checks": "I'm allergic to nickel"}, "review"),
    "under_18": ({"further_checks": "I'm 17"}, "review"),
}


def finish_with_confirmations(stack, sender):
    """Answer "yes" to any read-back the assistant asks, until it has sent the answers."""
    for _ in range(4):
        shown = stack.show(sender)
        if shown and shown["outcome"]:
            return shown
        stack.say(sender, "/affirm")
    return stack.show(sender)


PERSON = "client_requested_human"


@pytest.mark.parametrize("code", sorted(CASES))
def test_each_reason_code_reaches_the_stored_outcome(stack, code):
    from tests.simulator.run import Assistant

    answers, outcome = CASES[code]
    sender = run(stack, standard_turns(answers, stop_before="notes" if "notes" not in answers else "confirm"))
    if code == PERSON:
        said = " ".join(r.get("text") or "" for r in stack.say(sender, "can I talk to a real person?"))
        assert "paused the questions" in said
        joined = Assistant(stack).hand_back(sender)  # a practitioner takes the live chat and hands it back
        assert joined == {"before": "waiting", "after": "returned"}
    if "notes" not in answers:
        stack.say(sender, "/deny")  # nothing else to add
    stack.say(sender, "/affirm")  # the summary is right
    shown = finish_with_confirmations(stack, sender)
    assert shown is not None, "no consultation stored"
    codes = [reason["code"] for reason in shown["reasons"]]
    assert code in codes, f"{code} not among {codes}; answers {shown['answers']}"
    assert shown["outcome"] == outcome or (outcome == "review" and shown["outcome"] == "defer")
    assert shown["referral"] is not None, "a flagged consultation must have a referral"
    assert all(set(reason) == {"code", "rule", "detail"} for reason in shown["reasons"])


def test_a_clear_client_is_invited_to_book_and_has_no_referral(stack):
    sender = run(stack, standard_turns())
    shown = stack.show(sender)
    assert shown["status"] == "complete"
    assert shown["outcome"] == "clear"
    assert shown["reasons"] == []
    assert shown["referral"] is None
    assert shown["answers"]["blood_thinners"] == "no"
    assert shown["answers"]["name"] == "Jane Doe"
