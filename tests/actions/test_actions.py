"""The other actions: finishing, asking for a person, why, corrections, restart, session start."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, List

import pytest

from actions.digressions import ActionCorrectAnswer, ActionDefaultFallback, ActionExplainWhy, ActionRequestHuman
from actions.finish import finish_consultation_async
from actions.questions import ActionAskConfirmed, ActionAskFurtherChecks
from actions.session import ActionSessionStart
from bot import store
from tests.actions.conftest import make_tracker

CLEAR = {
    "name": "Jane Doe",
    "contact_email": "jane@example.com",
    "concerns": ["acne_scarring"],
    "area": "cheeks",
    "medications": "none",
    "medication_facts": [],
    "unrecognised_medications": [],
    "blood_thinners": "no",
    "bleeding_disorder": "no",
    "herpes_history": "no",
    "keloid": "no",
    "active_acne": "no",
    "isotretinoin": "no",
    "pregnancy": "no",
    "skin_infection": "no",
    "further_checks": [],
    "notes": "none",
    "confirmed": True,
}


def run(action, domain, dispatcher, tracker) -> List[Dict[str, Any]]:
    return asyncio.run(action.run(dispatcher, tracker, domain))


def finish(dispatcher, tracker) -> Dict[str, Any]:
    return asyncio.run(finish_consultation_async(dispatcher, tracker)) or {}


def responses(dispatcher) -> List[str]:
    return [m.get("response") for m in dispatcher.messages if m.get("response")]


def test_a_clear_consultation_is_stored_and_the_client_invited_to_book(database_url, domain, dispatcher):
    tracker = make_tracker("/affirm", intent="affirm", slots=CLEAR, form_active=False)
    assert finish(dispatcher, tracker) == {"outcome": "clear"}
    assert responses(dispatcher) == ["utter_outcome_clear"]
    shown = store.show(tracker.sender_id)
    assert shown["status"] == "complete" and shown["outcome"] == "clear" and shown["referral"] is None


def test_a_flagged_consultation_gets_exactly_one_referral_even_when_the_action_is_retried(
    database_url, domain, dispatcher
):
    slots = {**CLEAR, "herpes_history": "yes", "herpes_active": "yes"}
    tracker = make_tracker("/affirm", intent="affirm", slots=slots, form_active=False)
    for _ in range(3):  # Rasa retries a custom action when the action server is slow to answer
        finish(dispatcher, tracker)
    shown = store.show(tracker.sender_id)
    assert shown["outcome"] == "defer"
    assert {r["code"] for r in shown["reasons"]} >= {"active_herpes", "herpes_history"}
    assert shown["referral"] is not None
    from sqlalchemy import func, select

    from bot.store import db
    from bot.store.models import Referral

    with db.session_scope(write=False) as session:
        assert session.execute(select(func.count()).select_from(Referral)).scalar_one() == 1
    assert "utter_outcome_defer" in responses(dispatcher)


class FlakyStore:
    """store.complete failing the first `failures` times (a locked or unreachable database), then the real one."""

    def __init__(self, failures: int) -> None:
        self.failures, self.calls, self.real = failures, 0, store.complete

    def __call__(self, *args, **kwargs):
        self.calls += 1
        if self.calls <= self.failures:
            raise RuntimeError("database is locked")
        return self.real(*args, **kwargs)


def test_the_async_finish_retries_without_blocking_the_event_loop(database_url, domain, dispatcher, monkeypatch):
    from actions import finish as finish_module

    flaky = FlakyStore(2)
    monkeypatch.setattr(store, "complete", flaky)
    monkeypatch.setattr(finish_module, "_RETRY_SECONDS", 0.05)
    import time

    monkeypatch.setattr(time, "sleep", lambda seconds: pytest.fail("time.sleep blocks the loop"))
    tracker = make_tracker("/affirm", intent="affirm", slots=CLEAR, form_active=False)
    threads = []
    real = flaky.real
    flaky.real = lambda *args, **kwargs: threads.append(threading.get_ident()) or real(*args, **kwargs)

    async def both():
        ticks = 0

        async def ticker():
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0.01)

        running = asyncio.ensure_future(ticker())
        result = await finish_module.finish_consultation_async(dispatcher, tracker)
        running.cancel()
        return result, ticks

    result, ticks = asyncio.run(both())
    assert result == {"outcome": "clear"} and flaky.calls == 3
    assert ticks >= 10  # the loop ran other work during the 0.05 + 0.1 s of waiting
    assert threads and threads[0] != threading.get_ident()  # the store call ran off the loop's thread
    assert responses(dispatcher) == ["utter_outcome_clear"] and store.show(tracker.sender_id)["status"] == "complete"


def test_after_the_last_failed_attempt_the_client_is_told_to_call(database_url, domain, dispatcher, monkeypatch):
    from actions import finish as finish_module

    flaky = FlakyStore(99)
    monkeypatch.setattr(store, "complete", flaky)
    monkeypatch.setattr(finish_module, "_RETRY_SECONDS", 0.0)
    tracker = make_tracker("/affirm", intent="affirm", slots=CLEAR, form_active=False)
    result = asyncio.run(finish_module.finish_consultation_async(dispatcher, tracker))
    assert result is None and flaky.calls == 3
    said = [m.get("text") or "" for m in dispatcher.messages]
    assert len(said) == 1 and "please call the clinic on 020 7946 0958" in said[0]
    assert not responses(dispatcher)


def test_asking_for_a_person_flags_and_stores_it(database_url, domain, dispatcher):
    tracker = make_tracker("can I talk to a person", intent="request_human", slots={"consent": True})
    run(ActionRequestHuman(), domain, dispatcher, tracker)
    shown = store.show(tracker.sender_id)
    assert shown["status"] == "handed_off"
    assert "client_requested_human" in {r["code"] for r in shown["reasons"]}
    assert shown["referral"] is not None
    # with consent a practitioner is asked to join the chat live (bot/live/): the assistant says so
    from bot.live import service as live

    assert live.get(tracker.sender_id).state == "waiting"
    assert any("paused the questions" in (m.get("text") or "") for m in dispatcher.messages)


def test_why_outside_the_questions_explains_them_all(domain, dispatcher):
    run(ActionExplainWhy(), domain, dispatcher, make_tracker("why do you ask", intent="ask_why", form_active=False))
    assert responses(dispatcher) == ["utter_why_general"]


def test_fallback_is_reverted_so_the_dialogue_listens_again(domain, dispatcher):
    events = run(
        ActionDefaultFallback(), domain, dispatcher, make_tracker("not sure", intent="unsure", form_active=False)
    )
    assert responses(dispatcher) == ["utter_default"]
    assert [e["event"] for e in events] == ["rewind"]


def test_a_correction_by_button_asks_the_question_again(database_url, domain, dispatcher):
    tracker = make_tracker(
        '/correct_answer{"field":"pregnancy"}',
        intent="correct_answer",
        entities=[{"entity": "field", "value": "pregnancy"}],
        slots={"pregnancy": "no"},
    )
    events = run(ActionCorrectAnswer(), domain, dispatcher, tracker)
    values = {e["name"]: e["value"] for e in events}
    assert values["pregnancy"] is None and values["confirmed"] is None


def test_the_summary_lists_every_answer(domain, dispatcher):
    tracker = make_tracker("/deny", intent="deny", slots=CLEAR)
    run(ActionAskConfirmed(), domain, dispatcher, tracker)
    text = dispatcher.messages[0]["text"]
    for fragment in ("Jane Doe", "jane@example.com", "Acne scarring", "cheeks", "Blood thinners: No"):
        assert fragment in text
    assert [b["payload"] for b in dispatcher.messages[0]["buttons"]] == ["/affirm", "/correct_answer"]


def test_the_checklist_offers_every_check_and_a_way_out(domain, dispatcher):
    run(ActionAskFurtherChecks(), domain, dispatcher, make_tracker("", requested="further_checks"))
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert '/inform{"check":"vitiligo"}' in payloads and "/deny" in payloads and "/unsure" in payloads


def test_session_start_sets_the_clinics_details(domain, dispatcher):
    events = run(ActionSessionStart(), domain, dispatcher, make_tracker("hi", intent="greet", form_active=False))
    values = {e.get("name"): e.get("value") for e in events if e.get("event") == "slot"}
    assert values["clinic_phone"] and values["clinic_name"]
    assert values["isotretinoin_window_months"] == 6
    assert events[0]["event"] == "session_started" and events[-1]["name"] == "action_listen"


def test_fallback_in_another_language_names_english(domain, dispatcher):
    run(
        ActionDefaultFallback(),
        domain,
        dispatcher,
        make_tracker("¿Qué es el microneedling? ¿Cuánto cuesta?", intent="nlu_fallback", form_active=False),
    )
    assert responses(dispatcher) == ["utter_not_english"]
