"""The form's validation action, run as the action server runs it: real SDK trackers, dispatcher and database."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest

from actions.consultation_form import ValidateConsultationForm
from bot import store
from bot.dialogue import questions
from tests.actions.conftest import make_tracker

EARLIER = {
    "name": "Jane Doe",
    "contact": "a@b.com",
    "contact_email": "a@b.com",
    "concerns": ["acne_scarring"],
    "area": "cheeks",
    "medications": "none",
    "blood_thinners": "no",
    "bleeding_disorder": "no",
}


def run(domain, dispatcher, tracker) -> Dict[str, Any]:
    events = asyncio.run(ValidateConsultationForm().run(dispatcher, tracker, domain))
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def said(dispatcher) -> List[str]:
    return [m.get("response") or m.get("text") for m in dispatcher.messages]


@pytest.mark.parametrize(
    "text, intent, expected",
    [
        ("/affirm", "affirm", "yes"),
        ("/deny", "deny", "no"),
        ("/unsure", "unsure", "unsure"),
        ("nope", "deny", "no"),
        ("not that I know of", "deny", "no"),
        ("yeah a few years ago", "affirm", "yes"),
        ("only when I'm run down", "inform", "yes"),
        ("I think so?", "unsure", "unsure"),
        # a reader's "no" is doubted when the answer opens with yes or tells of the client's own past
        ("yeah, had a few as a kid but none for about ten years now", "inform", "unsure"),
        ("I had them a lot at uni, nothing since", "inform", "yes"),
    ],
)
def test_free_yes_no_answers_are_understood(database_url, domain, dispatcher, text, intent, expected):
    slots = run(domain, dispatcher, make_tracker(text, intent=intent, requested="herpes_history"))
    assert slots["herpes_history"] == expected


def test_an_answer_it_cannot_place_is_asked_again_once_then_noted_unsure(database_url, domain, dispatcher):
    first = run(domain, dispatcher, make_tracker("purple elephants", intent="out_of_scope", requested="keloid"))
    assert first["keloid"] is None and first["reask_slot"] == "keloid"
    assert questions.by_slot()["keloid"].reask in said(dispatcher)
    again = run(
        domain,
        dispatcher,
        make_tracker("purple elephants", intent="out_of_scope", requested="keloid", slots={"reask_slot": "keloid"}),
    )
    assert again["keloid"] == "unsure"
    assert "utter_noted_unsure" in said(dispatcher)


def test_consent_yes_no_and_unclear(database_url, domain, dispatcher):
    assert (
        run(domain, dispatcher, make_tracker("/affirm", intent="affirm", requested="consent", slots={"consent": None}))[
            "consent"
        ]
        is True
    )
    assert (
        run(domain, dispatcher, make_tracker("no thanks", intent="deny", requested="consent", slots={"consent": None}))[
            "consent"
        ]
        is False
    )
    assert "utter_consent_declined" in said(dispatcher)
    unclear = run(
        domain, dispatcher, make_tracker("purple", intent="out_of_scope", requested="consent", slots={"consent": None})
    )
    assert unclear["consent"] is None and unclear["reask_slot"] == "consent"
    assert questions.by_slot()["consent"].reask in said(dispatcher)
    again = run(
        domain,
        dispatcher,
        make_tracker(
            "purple", intent="out_of_scope", requested="consent", slots={"consent": None, "reask_slot": "consent"}
        ),
    )
    assert again["consent"] is False and "utter_consent_not_given" in said(dispatcher)


def test_nothing_is_stored_before_consent(database_url, domain, dispatcher):
    tracker = make_tracker("Jane Doe", requested="name", slots={"consent": None})
    run(domain, dispatcher, tracker)
    assert store.show(tracker.sender_id) is None


def test_each_answer_is_stored_as_it_is_given(database_url, domain, dispatcher):
    tracker = make_tracker("jane@example.com", requested="contact")
    slots = run(domain, dispatcher, tracker)
    assert slots["contact_email"] == "jane@example.com"
    shown = store.show(tracker.sender_id)
    assert shown["status"] == "in_progress"
    assert shown["answers"]["contact_email"] == "jane@example.com"


@pytest.mark.parametrize("text", ["12", "not an email", "@@@", "😀"])
def test_invalid_contact_is_reasked_kindly(database_url, domain, dispatcher, text):
    slots = run(domain, dispatcher, make_tracker(text, requested="contact"))
    assert slots["contact"] is None
    assert questions.by_slot()["contact"].reask in said(dispatcher)


def test_a_contact_unreadable_twice_is_kept_as_written(database_url, domain, dispatcher):
    slots = run(
        domain,
        dispatcher,
        make_tracker("ring the salon and ask for me", requested="contact", slots={"reask_slot": "contact"}),
    )
    assert slots["contact"] == "ring the salon and ask for me"
    assert slots["contact_as_written"] == "ring the salon and ask for me" and slots["reask_slot"] is None


def test_medicines_are_read_with_classes_and_unknown_names_kept_verbatim(database_url, domain, dispatcher):
    slots = run(domain, dispatcher, make_tracker("warfarin and zorbitol 20mg", requested="medications"))
    classes = {f["drug_class"] for f in slots["medication_facts"]}
    assert "anticoagulant" in classes
    assert any("zorbitol" in name for name in slots["unrecognised_medications"])


def test_no_medicines(database_url, domain, dispatcher):
    slots = run(domain, dispatcher, make_tracker("none", intent="deny", requested="medications"))
    assert slots["medications"] == "none" and slots["medication_facts"] == []


def test_a_no_contradicted_by_the_clients_medicines_is_read_back(database_url, domain, dispatcher):
    facts = [
        {"name": "Eliquis", "generic": "apixaban", "drug_class": "anticoagulant", "current": True, "months_ago": None}
    ]
    slots = run(
        domain,
        dispatcher,
        make_tracker("/deny", intent="deny", requested="blood_thinners", slots={"medication_facts": facts}),
    )
    assert slots["blood_thinners"] == "no"
    assert [v["code"] for v in slots["volunteered"]] == ["anticoagulant"]
    assert slots["requested_slot"] == "volunteer_confirm"


def test_a_volunteered_medicine_after_a_no_is_checked_with_the_client(database_url, domain, dispatcher):
    slots = run(
        domain,
        dispatcher,
        make_tracker("no, but I take Eliquis for my heart", intent="deny", requested="blood_thinners"),
    )
    assert slots["blood_thinners"] == "no"
    assert slots["volunteered"][0]["code"] == "anticoagulant"
    assert slots["requested_slot"] == "volunteer_confirm"


def test_someone_elses_condition_volunteers_nothing(database_url, domain, dispatcher):
    slots = run(
        domain, dispatcher, make_tracker("no, but my mum gets cold sores", intent="deny", requested="herpes_history")
    )
    assert slots["herpes_history"] == "no"
    assert "volunteered" not in slots


def test_confirming_a_volunteered_fact_sets_its_answer(database_url, domain, dispatcher):
    pending = [
        {
            "code": "anticoagulant",
            "mention": "I take Eliquis",
            "name": "Eliquis (apixaban)",
            "confirmed": None,
            "asked": False,
        }
    ]
    slots = run(
        domain,
        dispatcher,
        make_tracker(
            "/affirm",
            intent="affirm",
            requested="volunteer_confirm",
            slots={"volunteered": pending, "blood_thinners": "no"},
        ),
    )
    assert slots["volunteered"][0]["confirmed"] is True
    assert slots["blood_thinners"] == "yes"


@pytest.mark.parametrize(
    "code, slot, text, expected",
    [
        # a read-back is read at the time of the question the fact stands for
        ("active_acne", "active_acne", "no, that was years ago", "no"),
        ("skin_infection", "skin_infection", "nope, it cleared up ages ago", "no"),
        ("herpes_history", "herpes_history", "yes, years ago", "yes"),
        ("isotretinoin_recent", "isotretinoin", "no, I finished it three years ago", "no"),
    ],
)
def test_a_read_back_is_read_at_its_questions_time(database_url, domain, dispatcher, code, slot, text, expected):
    pending = [{"code": code, "mention": "earlier", "name": code, "confirmed": None, "asked": False}]
    slots = run(
        domain,
        dispatcher,
        make_tracker(text, requested="volunteer_confirm", slots={"volunteered": pending, slot: "no"}),
    )
    assert slots["volunteered"][0]["confirmed"] is {"yes": True, "no": False}[expected]
    assert slots.get(slot, "no") == expected


def test_a_correction_is_read_at_the_corrected_questions_time(database_url, domain, dispatcher):
    slots = run(
        domain,
        dispatcher,
        make_tracker(
            "scratch that, I have never taken Roaccutane", requested="confirmed", slots={"isotretinoin": "yes"}
        ),
    )
    assert slots.get("isotretinoin") in (None, "no")  # asked again or replaced by the no: never kept as a yes


def test_isotretinoin_long_ago_is_outside_the_window(database_url, domain, dispatcher):
    slots = run(
        domain,
        dispatcher,
        make_tracker("yes but I stopped Roaccutane two years ago", intent="affirm", requested="isotretinoin"),
    )
    assert slots["isotretinoin"] == "no"
    assert slots["isotretinoin_months_ago"] == pytest.approx(24, abs=1)


def test_concerns_picked_with_buttons_then_done(database_url, domain, dispatcher):
    first = run(
        domain,
        dispatcher,
        make_tracker(
            '/inform{"concern":"acne_scarring"}',
            requested="concerns",
            entities=[{"entity": "concern", "value": "acne_scarring"}],
        ),
    )
    assert first["concerns"] is None and first["picked"] == ["acne_scarring"]
    done = run(
        domain,
        dispatcher,
        make_tracker("/affirm", intent="affirm", requested="concerns", slots={"picked": ["acne_scarring"]}),
    )
    assert done["concerns"] == ["acne_scarring"]


def test_concerns_in_words(database_url, domain, dispatcher):
    slots = run(domain, dispatcher, make_tracker("acne scars and big pores", requested="concerns"))
    assert set(slots["concerns"]) >= {"acne_scarring", "pores_texture"}


def test_further_checks_in_words_and_none(database_url, domain, dispatcher):
    words = run(
        domain, dispatcher, make_tracker("I had botox last month and I have vitiligo", requested="further_checks")
    )
    assert set(words["further_checks"]) == {"injectables_recent", "vitiligo"}
    assert "volunteered" not in words  # the checklist answer says it: nothing to read back
    none = run(domain, dispatcher, make_tracker("/deny", intent="deny", requested="further_checks"))
    assert none["further_checks"] == []


def test_a_correction_at_the_summary_replaces_the_answer(database_url, domain, dispatcher):
    slots = run(
        domain,
        dispatcher,
        make_tracker("actually I do get cold sores", requested="confirmed", slots={"herpes_history": "no"}),
    )
    assert slots["herpes_history"] == "yes"
    assert slots["confirmed"] is None
    assert "utter_answer_updated" in said(dispatcher)


def test_a_correction_without_the_new_value_asks_the_question_again(database_url, domain, dispatcher):
    slots = run(domain, dispatcher, make_tracker("my email is wrong", requested="confirmed", slots=EARLIER))
    assert slots["contact"] is None and slots["contact_email"] is None
    assert slots["requested_slot"] == "contact"


def test_a_message_in_another_language_is_not_taken_as_an_answer(database_url, domain, dispatcher):
    slots = run(
        domain, dispatcher, make_tracker("Bonjour, je voudrais savoir le prix s'il vous plaît", requested="name")
    )
    assert slots["name"] is None
    assert "utter_not_english" in said(dispatcher)


def test_herpes_now_is_skipped_when_never_had_cold_sores(database_url, domain, dispatcher):
    slots = run(domain, dispatcher, make_tracker("/deny", intent="deny", requested="herpes_history", slots=EARLIER))
    assert slots["herpes_history"] == "no"
    assert slots.get("requested_slot") == "keloid"


def test_a_second_try_at_the_name_is_taken_but_never_an_email(database_url, domain, dispatcher):
    email = run(
        domain, dispatcher, make_tracker("jane.doe@example.com", requested="name", slots={"reask_slot": "name"})
    )
    assert email["name"] is None
    odd = run(
        domain, dispatcher, make_tracker("Mira Okafore-Smythe the 2nd", requested="name", slots={"reask_slot": "name"})
    )
    assert odd["name"] == "Mira Okafore-Smythe the 2nd"


def test_confirming_the_summary_judges_stores_and_closes(database_url, domain, dispatcher):
    answers = {
        **EARLIER,
        "herpes_history": "no",
        "keloid": "no",
        "active_acne": "no",
        "isotretinoin": "no",
        "pregnancy": "yes",
        "skin_infection": "no",
        "further_checks": [],
        "notes": "none",
        "medication_facts": [],
        "unrecognised_medications": [],
    }
    tracker = make_tracker("/affirm", intent="affirm", requested="confirmed", slots=answers)
    slots = run(domain, dispatcher, tracker)
    assert slots["confirmed"] is True and slots["outcome"] == "defer"
    assert "utter_outcome_defer" in said(dispatcher)
    shown = store.show(tracker.sender_id)
    assert shown["status"] == "complete" and shown["referral"] is not None
    assert slots["requested_slot"] is None  # the form ends


def test_starting_again_keeps_earlier_answers_and_asks_the_next_question(database_url, domain, dispatcher):
    tracker = make_tracker("hi", intent="greet", slots={**EARLIER}, form_active=False)
    slots = run(domain, dispatcher, tracker)
    assert slots == {"requested_slot": "herpes_history"}


def test_starting_again_after_declining_asks_for_consent_again(database_url, domain, dispatcher):
    slots = run(domain, dispatcher, make_tracker("hi", intent="greet", slots={"consent": False}, form_active=False))
    assert slots == {"consent": None, "requested_slot": "consent"}
