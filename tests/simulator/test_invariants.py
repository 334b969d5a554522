"""Fast tests of the invariants on hand-made transcripts: each must pass a good one and fail a bad one."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

import pytest

from tests.simulator import invariants as inv
from tests.simulator.client import SimulatedClient
from tests.simulator.transcript import ConversationResult, Segment, Turn


def turn(
    i: int,
    text: str,
    kind: str = "answer",
    asked: Optional[str] = None,
    requested: Optional[str] = None,
    replies: Optional[List[str]] = None,
    detail: str = "",
    active: Optional[str] = "consultation_form",
) -> Turn:
    return Turn(
        index=i,
        text=text,
        kind=kind,
        detail=detail,
        asked=asked,
        requested=requested,
        replies=replies if replies is not None else ["ok"],
        active=active,
    )


def stored(
    answers: Dict[str, Any],
    outcome: Optional[str] = None,
    reasons: List[str] = (),
    referral: bool = False,
    status: str = "complete",
    referrals: Optional[int] = None,
) -> Dict[str, Any]:
    return {
        "referrals": (1 if referral else 0) if referrals is None else referrals,
        "show": {
            "status": status,
            "outcome": outcome,
            "answers": answers,
            "reasons": [{"code": c, "rule": c, "detail": ""} for c in reasons],
            "referral": {"id": 1} if referral else None,
        },
    }


def result(
    turns: List[Turn],
    segments: Optional[List[Segment]] = None,
    stored_items: Optional[List[dict]] = None,
    profile: Any = None,
    **flags: Any,
) -> ConversationResult:
    r = ConversationResult(
        seed=0,
        sender="hand-made",
        turns=turns,
        segments=segments or [Segment(consent_given=True)],
        stored=stored_items or [],
        profile=profile,
    )
    for key, value in flags.items():
        setattr(r, key, value)
    return r


def names(violations) -> List[str]:
    return [v.invariant for v in violations]


# ---------------------------------------------------------------------------------------- replies_per_message


def test_replies_per_message_passes_one_to_four_distinct_replies():
    good = result(
        [turn(0, "hi", "open", replies=["Hello", "Do you consent?"]), turn(1, "yes", replies=["a", "b", "c", "d"])]
    )
    assert inv.replies_per_message(good) == []


@pytest.mark.parametrize("replies", [[], ["a", "b", "c", "d", "e"], ["What's your name?", "What's your name?"]])
def test_replies_per_message_fails_none_too_many_or_twice(replies):
    bad = result([turn(0, "hi", "open", replies=["Hello"]), turn(1, "yes", replies=replies)])
    found = inv.replies_per_message(bad)
    assert names(found) == ["replies_per_message"] and found[0].turn == 1


# ------------------------------------------------------------------------------------------ no_question_thrice


def test_no_question_thrice_allows_one_reask_and_ignores_digressions():
    good = result(
        [
            turn(0, "hi", "open", requested="consent"),
            turn(1, "ye i consnet", asked="consent", requested="consent"),  # re-asked once
            turn(
                2, "why?", "digression", asked="consent", requested="consent", detail="why"
            ),  # neither counts nor resets
            turn(3, "yes I consent", asked="consent", requested="name"),
            turn(4, "Penny Stone", asked="name", requested="name"),
            turn(5, "my name is Penny Stone", asked="name", requested="contact"),
        ]
    )
    assert inv.no_question_thrice(good) == []


def test_no_question_thrice_fails_the_third_ask_even_across_a_digression():
    bad = result(
        [
            turn(0, "hi", "open", requested="consent"),
            turn(1, "ye i consnet", asked="consent", requested="consent"),
            turn(2, "does it hurt?", "digression", asked="consent", requested="consent", detail="faq"),
            turn(3, "yes pls", asked="consent", requested="consent"),
            turn(4, "yup, consent given", asked="consent", requested="consent"),
        ]
    )
    found = inv.no_question_thrice(bad)
    assert names(found) == ["no_question_thrice"] and found[0].turn == 3


# ---------------------------------------------------------------------------------------- summary_within_bound


class _Profile:
    consent = "yes"
    yes_no = {
        k: "no"
        for k in (
            "blood_thinners",
            "bleeding_disorder",
            "herpes_history",
            "keloid",
            "active_acne",
            "isotretinoin",
            "pregnancy",
            "skin_infection",
        )
    }


def _path(length: int, reach: bool = True) -> List[Turn]:
    turns = [turn(0, "hi", "open", requested="consent")]
    for i in range(1, length):
        turns.append(turn(i, f"answer {i}", asked="name", requested="name"))
    if reach:
        turns[-1].requested = "confirmed"
    return turns


def test_summary_within_bound_passes_a_short_path():
    assert inv.summary_bound(result(_path(20), profile=_Profile())) == 16 * 3 + 1
    assert inv.summary_within_bound(result(_path(20), profile=_Profile())) == []


def test_summary_within_bound_fails_a_long_or_endless_path():
    too_long = inv.summary_within_bound(result(_path(60), profile=_Profile()))
    never = inv.summary_within_bound(result(_path(10, reach=False), profile=_Profile(), gave_up=True))
    assert names(too_long) == ["summary_within_bound"] and names(never) == ["summary_within_bound"]


def test_summary_within_bound_does_not_apply_to_clients_who_leave():
    assert inv.summary_within_bound(result(_path(10, reach=False), profile=_Profile(), abandoned=True)) == []


# ------------------------------------------------------------------- stored_answers, flag_lost, noted_unsure


def _answer_result(answers: Dict[str, Any], expected: Dict[str, Any]) -> ConversationResult:
    seg = Segment(consent_given=True, expected=expected)
    turns = [turn(0, "hi", "open"), turn(1, "no", asked="keloid", requested="active_acne")]
    return result(turns, [seg], [stored(answers)])


EXPECTED = {
    "name": "Darcy O'Connor",
    "contact_email": "darcy.oc@example.com",
    "contact_phone": "+44 (0)7700 900 315",
    "keloid": "yes",
    "pregnancy": "no",
}


def test_stored_answers_pass_when_they_match_the_truth():
    good = _answer_result(
        {
            "name": "darcy o'connor.",
            "contact_email": "Darcy.OC@example.com",
            "contact_phone": "+4407700900315",
            "keloid": "yes",
            "pregnancy": "no",
        },
        EXPECTED,
    )
    assert inv.stored_answers(good) == [] and inv.flag_lost(good) == [] and inv.noted_unsure(good) == []


def test_stored_answers_fail_a_wrong_name_contact_or_answer():
    bad = _answer_result(
        {"name": "Darcy", "contact_email": "darcy@example.com", "contact_phone": "07700 900 316", "keloid": "yes"},
        EXPECTED,
    )
    messages = [v.message for v in inv.stored_answers(bad)]
    assert len(messages) == 4, messages  # name, email, phone, pregnancy missing
    assert any("pregnancy: not stored" in m for m in messages)


def test_flag_lost_is_a_stored_no_for_a_yes_or_unsure():
    bad = _answer_result({**EXPECTED, "contact_phone": "+4407700900315", "keloid": "no"}, EXPECTED)
    assert names(inv.flag_lost(bad)) == ["flag_lost"]
    assert inv.stored_answers(bad) == []  # reported once, as flag_lost
    unsure_lost = _answer_result({"keloid": "no"}, {"keloid": "unsure"})
    assert names(inv.flag_lost(unsure_lost)) == ["flag_lost"]


def test_noted_unsure_is_soft():
    soft = _answer_result({"keloid": "unsure", "pregnancy": "unsure"}, {"keloid": "yes", "pregnancy": "no"})
    assert len(inv.noted_unsure(soft)) == 2
    assert inv.stored_answers(soft) == [] and inv.flag_lost(soft) == []


def test_a_stored_yes_for_a_no_is_a_mismatch():
    bad = _answer_result({"pregnancy": "yes"}, {"pregnancy": "no"})
    assert names(inv.stored_answers(bad)) == ["stored_answers"]


# --------------------------------------------------------------------------------------------- medicines_kept


FACTS = [
    {"name": "apixaban", "generic": "apixaban", "drug_class": "anticoagulant", "current": True},
    {"name": "isotretinoin", "generic": "isotretinoin", "drug_class": "oral_retinoid", "current": True},
    {"name": "ramipril", "generic": "ramipril", "drug_class": "other", "current": True},
]


def _medicines_result(facts: List[dict], reasons: List[str]) -> ConversationResult:
    seg = Segment(consent_given=True, expected={"medication_facts": FACTS})
    return result(
        [turn(0, "Eliquis and roaccutane", asked="medications", requested="blood_thinners")],
        [seg],
        [stored({"medication_facts": facts}, "defer", reasons)],
    )


def test_medicines_kept_passes_when_in_the_facts_or_flagged():
    good = _medicines_result(
        [{"name": "Eliquis", "generic": "apixaban", "drug_class": "anticoagulant"}], ["isotretinoin_recent"]
    )
    assert inv.medicines_kept(good) == []


def test_medicines_kept_fails_a_lost_blood_thinner():
    bad = _medicines_result([{"name": "roaccutane", "generic": "isotretinoin"}], ["isotretinoin_recent"])
    found = inv.medicines_kept(bad)
    assert names(found) == ["medicines_kept"] and "apixaban" in found[0].message  # ramipril does not matter


# ----------------------------------------------------------------------------------------- flagged_not_cleared


def _flagged(outcome: Optional[str], codes: Dict[str, str]) -> ConversationResult:
    seg = Segment(consent_given=True, expected={"pregnancy": "yes"}, expected_codes=codes)
    return result([turn(0, "hi", "open")], [seg], [stored({}, outcome, list(codes), referral=True)])


def test_flagged_not_cleared_passes_an_outcome_as_severe():
    assert inv.flagged_not_cleared(_flagged("defer", {"pregnancy": "defer", "keloid_tendency": "review"})) == []
    assert inv.flagged_not_cleared(_flagged("clear", {})) == []  # not flagged: nothing to say


@pytest.mark.parametrize("outcome", ["clear", "review", None])
def test_flagged_not_cleared_fails_clear_weaker_or_unjudged(outcome):
    found = inv.flagged_not_cleared(_flagged(outcome, {"pregnancy": "defer"}))
    assert names(found) == ["flagged_not_cleared"]


# ------------------------------------------------------------------------------------ person_request_referred


def _person(reasons: List[str], referral: bool) -> ConversationResult:
    seg = Segment(
        consent_given=True,
        person_requested=True,
        expected={"requested_human": True},
        expected_codes={"client_requested_human": "review"},
    )
    turns = [turn(0, "real person pls", "digression", asked="area", requested="area", detail="person")]
    return result(turns, [seg], [stored({}, "review", reasons, referral, status="handed_off")])


def test_person_request_referred_passes_with_reason_and_referral():
    assert inv.person_request_referred(_person(["client_requested_human"], True)) == []


@pytest.mark.parametrize("reasons,referral", [([], True), (["client_requested_human"], False)])
def test_person_request_referred_fails_without_reason_or_referral(reasons, referral):
    found = inv.person_request_referred(_person(reasons, referral))
    assert names(found) == ["person_request_referred"] and found[0].turn == 0


# ----------------------------------------------------------------------------------- one_referral_per_flagged


def _referrals(count: int, flagged: bool = True) -> ConversationResult:
    seg = Segment(
        consent_given=True, expected={"keloid": "yes"}, expected_codes={"keloid_tendency": "review"} if flagged else {}
    )
    return result(
        [turn(0, "hi", "open")],
        [seg],
        [stored({"keloid": "yes"}, None, [], count > 0, status="abandoned", referrals=count)],
        abandoned=True,
    )


def test_one_referral_per_flagged_passes_exactly_one():
    assert inv.one_referral_per_flagged(_referrals(1)) == []
    assert inv.one_referral_per_flagged(_referrals(0, flagged=False)) == []


@pytest.mark.parametrize("count", [0, 2])
def test_one_referral_per_flagged_fails_none_or_two(count):
    assert names(inv.one_referral_per_flagged(_referrals(count))) == ["one_referral_per_flagged"]


# ------------------------------------------------------------------------------------ declined_stores_nothing


def _declined(answers: Dict[str, Any]) -> ConversationResult:
    seg = Segment(consent_declined=True)
    stores = [stored(answers, status="in_progress")] if answers is not None else []
    return result([turn(0, "no thanks", asked="consent")], [seg], stores)


def test_declined_stores_nothing_passes_with_no_consultation_or_no_answers():
    assert inv.declined_stores_nothing(_declined(None)) == []
    assert inv.declined_stores_nothing(_declined({})) == []


def test_declined_stores_nothing_fails_when_answers_were_kept():
    assert names(inv.declined_stores_nothing(_declined({"name": "Jo"}))) == ["declined_stores_nothing"]


# ------------------------------------------------------------------------------- nothing_forbidden, errors


def test_nothing_forbidden():
    good = result([turn(0, "hi", "open", replies=["A practitioner will review your answers."])])
    bad = result(
        [
            turn(0, "hi", "open", replies=["Great news, you are suitable for treatment!"]),
            turn(1, "ok", replies=["Please stop taking your warfarin."]),
        ]
    )
    assert inv.nothing_forbidden(good) == []
    assert [v.turn for v in inv.nothing_forbidden(bad)] == [0, 1]


def test_assistant_errors():
    bad = result([turn(0, "hi", "open")])
    bad.turns[0].error = "ConnectionError: refused"
    assert inv.assistant_errors(result([turn(0, "hi", "open")])) == []
    assert names(inv.assistant_errors(bad)) == ["assistant_errors"]


# ------------------------------------------------------------------------------------------- prepare / check


def test_prepare_judges_the_truth_with_the_projects_engine():
    client = next(
        SimulatedClient(seed) for seed in range(500) if SimulatedClient(seed).profile.yes_no.get("pregnancy") == "yes"
    )
    r = ConversationResult(
        seed=client.seed, sender="x", profile=client.profile, segments=[Segment(consent_given=True, completed=True)]
    )
    inv.prepare(r)
    assert r.segments[0].expected["pregnancy"] == "yes"
    assert r.segments[0].expected_codes.get("pregnancy") == "defer"


def test_prepare_of_an_abandoned_consultation_uses_only_what_was_answered():
    client = next(
        SimulatedClient(seed) for seed in range(500) if SimulatedClient(seed).profile.yes_no.get("keloid") == "yes"
    )
    r = ConversationResult(
        seed=client.seed,
        sender="x",
        profile=client.profile,
        segments=[Segment(consent_given=True, answered=["name", "contact", "keloid"])],
    )
    inv.prepare(r)
    assert set(r.segments[0].expected) <= {"name", "contact_email", "contact_phone", "keloid"}
    assert "keloid_tendency" in r.segments[0].expected_codes


def test_check_counts_every_invariant():
    r = copy.deepcopy(_person([], False))
    inv.check(r, invariants=inv.INVARIANTS)
    table = inv.counts([r])
    assert set(table) == set(inv.NAMES)
    assert table["person_request_referred"] == (1, 1) and table["one_referral_per_flagged"] == (1, 1)
    assert table["nothing_forbidden"] == (0, 0)


# ------------------------------------------------------------------------------------- person_only_when_asked


def test_person_only_when_asked():
    seg = Segment(consent_given=True, expected={"name": "Pat Human"})
    turns = [turn(0, "Pat Human", asked="name", requested="name")]
    turns[0].intent = "request_human"
    good = result(turns, [seg], [stored({"name": "Pat Human"})])
    bad = result(
        turns,
        [seg],
        [
            stored(
                {"name": "Pat Human", "requested_human": True},
                "review",
                ["client_requested_human"],
                True,
                status="handed_off",
            )
        ],
    )
    assert inv.person_only_when_asked(good) == []
    found = inv.person_only_when_asked(bad)
    assert names(found) == ["person_only_when_asked"] and found[0].turn == 0
    assert inv.person_only_when_asked(_person(["client_requested_human"], True)) == []  # asked: fine


# --------------------------------------------------------------------------------------------- consent_first


def test_consent_first():
    good = result(
        [
            turn(0, "hi", "open", requested="consent"),
            turn(1, "yes I consent", asked="consent", requested="name", detail="consent=yes"),
            turn(2, "Jo Blake", asked="name", requested="medications"),
        ]
    )
    bad = result(
        [
            turn(0, "hi", "open", requested="consent"),
            turn(1, "maybe later? not sure right now", asked="consent", requested="name", detail="consent=unsure"),
            turn(2, "Jo Blake", asked="name", requested="medications"),
        ]
    )
    assert inv.consent_first(good) == []
    found = inv.consent_first(bad)
    assert names(found) == ["consent_first"] and found[0].turn == 2


def test_no_question_thrice_tells_read_backs_of_different_facts_apart():
    def rb(i, fact, requested):
        return turn(i, "yes", "readback", asked="volunteer_confirm", requested=requested, detail=f"{fact}=yes")

    # tacrolimus read back, then mycophenolate (asked twice), then a third fact: no question asked three times
    three_facts = result(
        [
            turn(0, "tacrolimus and mycophenolate", asked="medications", requested="volunteer_confirm"),
            rb(1, "immunosuppression/tacrolimus", "volunteer_confirm"),
            rb(2, "immunosuppression/mycophenolate", "volunteer_confirm"),
            rb(3, "immunosuppression/mycophenolate", "volunteer_confirm"),
            rb(4, "immunosuppression/transplant", "blood_thinners"),
        ]
    )
    assert inv.no_question_thrice(three_facts) == []
    same_fact = result(
        [
            turn(0, "Eliquis", asked="medications", requested="volunteer_confirm"),
            rb(1, "anticoagulant/Eliquis", "volunteer_confirm"),
            rb(2, "anticoagulant/Eliquis", "volunteer_confirm"),
            rb(3, "anticoagulant/Eliquis", "volunteer_confirm"),
        ]
    )
    assert names(inv.no_question_thrice(same_fact)) == ["no_question_thrice"]


def test_phone_numbers_written_nationally_or_internationally_are_one():
    assert inv._phone_key("+44 (0)7700 900 315") == inv._phone_key("+447700900315") == inv._phone_key("07700 900315")
    assert inv._phone_key("+61 491 570 110") == inv._phone_key("+61491570110")
    assert inv._phone_key("07700 900 316") != inv._phone_key("07700 900 315")
