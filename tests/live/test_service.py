"""The live hand-off service on a real database (SQLite and PostgreSQL): states, who may do what, the queue, the
timeout sweep in two processes at once, the thread read from Rasa's events table, erasure."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, Dict, List

import pytest

from bot.live import service
from bot.store import audit
from tests.live.conftest import at, signed_in

CID = "web-" + "a" * 32


def test_a_request_waits_in_the_queue_and_is_counted(practitioner: Any, tracker_writes: List) -> None:
    chat = service.request(CID, resume_form="consultation_form", now=at(10))
    assert chat.state == "waiting" and chat.paused and not chat.after_hours
    assert service.waiting_count() == 1
    assert [c.conversation_id for c in service.queue()] == [CID]
    assert service.get(CID).state == "waiting"
    # asked again while waiting: the same chat, not a second one
    assert service.request(CID, now=at(10, 5)).requested_at == at(10)
    assert service.waiting_count() == 1


def test_after_hours_request_is_marked_and_never_times_out(
    practitioner: Any, tracker_writes: List, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = service.request(CID, now=at(20))
    assert chat.after_hours
    assert service.sweep(now=at(23)) == 0
    assert service.get(CID).state == "waiting"


def test_take_is_exclusive_idempotent_for_the_holder_and_audited(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, now=at(10))
    other = signed_in("practitioner", "alex.smith@clinic.example")
    taken = service.take(CID, practitioner, now=at(10, 1))
    assert (taken.state, taken.taken_by, taken.taken_by_name, taken.taken_by_role) == (
        "taken",
        practitioner.staff.id,
        "Sam",
        "practitioner",
    )
    assert service.take(CID, practitioner, now=at(10, 2)).taken_at == at(10, 1)  # idempotent
    with pytest.raises(service.AlreadyTaken) as refused:
        service.take(CID, other)
    assert refused.value.by_name == "Sam"
    assert service.waiting_count() == 0
    assert [e.action for e in audit.entries(target_id=CID)[0]].count("live_taken") == 1
    joined = [m for m in service.thread(CID) if m["kind"] == "joined"]
    assert [m["text"] for m in joined] == ["Sam (practitioner) has joined the chat."]


def test_two_practitioners_taking_at_once_one_wins(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, now=at(10))
    members = [practitioner, signed_in("practitioner", "kim.lee@clinic.example")]
    results: List[Any] = []

    def take(member: Any) -> None:
        try:
            results.append(service.take(CID, member).taken_by)
        except service.AlreadyTaken as exc:
            results.append(exc)

    threads = [threading.Thread(target=take, args=(m,)) for m in members]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [r for r in results if not isinstance(r, Exception)]
    assert len(winners) == 1 and len(results) == 2
    assert service.get(CID).taken_by == winners[0]


def test_only_the_holder_writes_types_hands_back_or_ends(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, resume_form="consultation_form", now=at(10))
    other = signed_in("practitioner", "kim.lee@clinic.example")
    with pytest.raises(service.NotHolder):
        service.send(CID, practitioner, "hello")  # nobody has taken it yet
    service.take(CID, practitioner, now=at(10, 1))
    for attempt in (
        lambda: service.send(CID, other, "hi"),
        lambda: service.typing(CID, other),
        lambda: service.hand_back(CID, other),
        lambda: service.end(CID, other),
    ):
        with pytest.raises(service.NotHolder):
            attempt()
    with pytest.raises(ValueError):
        service.send(CID, practitioner, "   ")
    with pytest.raises(ValueError):
        service.send(CID, practitioner, "x" * (service.MAX_TEXT + 1))


def test_messages_are_tracker_events_marked_as_staff_and_the_thread_orders_them(
    practitioner: Any, tracker_writes: List
) -> None:
    service.request(CID, resume_form="consultation_form", now=at(10))
    assert service.client_message(CID, "m1", "Is it safe with my eczema?") == [
        {"recipient_id": CID, "text": service.ACK_WAITING}
    ]
    assert service.client_message(CID, "m2", "Also I have a question") == []  # acknowledged once is enough
    assert service.client_message(CID, "m1", "Is it safe with my eczema?") == []  # the same message id: not twice
    service.take(CID, practitioner, now=at(10, 2))
    sent = service.send(CID, practitioner, "Hello, I'm Sam. Let me look at your answers.")
    assert sent["author"] == "staff" and sent["name"] == "Sam" and sent["role"] == "practitioner"
    assert isinstance(sent["id"], int)
    thread = service.thread(CID)
    assert [(m["author"], m["text"]) for m in thread] == [
        ("client", "Is it safe with my eczema?"),
        ("assistant", service.ACK_WAITING),
        ("client", "Also I have a question"),
        ("assistant", "Sam (practitioner) has joined the chat."),
        ("staff", "Hello, I'm Sam. Let me look at your answers."),
    ]
    assert thread[-1]["id"] == sent["id"] and thread[-1]["name"] == "Sam"
    assert [m["id"] for m in thread] == sorted(m["id"] for m in thread)
    assert service.thread(CID, after=thread[2]["id"]) == thread[3:]
    assert service.get(CID).last_client_message_at is not None
    # the client's words while paused carry no intent: no rule, form or slot mapping can act on them
    client_events = [e for call in tracker_writes for e in call.get("events", []) if e["event"] == "user"]
    assert client_events and all(
        "intent" not in e["parse_data"] and not e["parse_data"]["entities"] for e in client_events
    )
    actions = [e.action for e in audit.entries(target_id=CID)[0]]
    assert actions.count("live_message") == 1
    assert all("eczema" not in (e.detail or "") for e in audit.entries(target_id=CID)[0])


def test_typing_shows_for_a_few_seconds(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, now=at(10))
    service.take(CID, practitioner, now=at(10, 1))
    now = service.as_utc(None)
    service.typing(CID, practitioner, now=now)
    assert service.status(CID).typing
    service.typing(CID, practitioner, now=now - timedelta(seconds=service.TYPING_SECONDS + 1))
    assert not service.status(CID).typing


def test_hand_back_tells_the_client_and_resumes_the_form(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, resume_form="consultation_form:concerns", now=at(10))
    service.take(CID, practitioner, now=at(10, 1))
    service.hand_back(CID, practitioner, now=at(10, 9))
    chat = service.get(CID)
    assert chat.state == "returned" and not chat.paused
    assert {"resume": CID, "form": "consultation_form", "slot": "concerns"} in tracker_writes
    left = [m for m in service.thread(CID) if m["kind"] == "left"]
    assert left and left[0]["text"].startswith("Sam has left the chat and handed you back to me")
    assert "live_handed_back" in [e.action for e in audit.entries(target_id=CID)[0]]
    with pytest.raises(service.NotLive):
        service.send(CID, practitioner, "one more thing")
    with pytest.raises(service.NotLive):
        service.client_message(CID, "m9", "hello?")
    # asked for again later: a fresh wait
    again = service.request(CID, resume_form="consultation_form", now=at(11))
    assert again.state == "waiting" and again.taken_by is None


def test_the_holder_sets_an_answer_from_the_chat_and_the_questions_go_on_after_it(
    practitioner: Any, tracker_writes: List
) -> None:
    from bot.store import consultation_reads

    service.request(CID, resume_form="consultation_form:blood_thinners", now=at(10))
    other = signed_in("practitioner", "alex.smith@clinic.example")
    with pytest.raises(service.NotHolder):
        service.set_answer(CID, practitioner, "blood_thinners", "yes")  # not taken yet
    service.take(CID, practitioner, now=at(10, 1))
    with pytest.raises(service.NotHolder):
        service.set_answer(CID, other, "blood_thinners", "yes")
    for key, value in (("name", "yes"), ("blood_thinners", "maybe"), ("consent", "no")):
        with pytest.raises(ValueError):
            service.set_answer(CID, practitioner, key, value)

    service.set_answer(CID, practitioner, "blood_thinners", "yes", now=at(10, 2))  # "I take warfarin"

    slot_writes = [e for call in tracker_writes for e in call.get("events", []) if e.get("event") == "slot"]
    assert {"name": "blood_thinners", "value": "yes"}.items() <= slot_writes[-1].items()
    shown = consultation_reads.show(CID)
    assert shown is not None and shown["answers"]["blood_thinners"] == "yes"
    entries = [e for e in audit.entries(target_id=CID)[0] if e.action == "live_answer_set"]
    assert len(entries) == 1 and entries[0].detail == "key=blood_thinners"  # the key, never the answer

    # the open question was the one answered: the hand-back goes on with the next question, not that one again
    service.hand_back(CID, practitioner, now=at(10, 9))
    resumed = [call for call in tracker_writes if "resume" in call]
    assert resumed == [{"resume": CID, "form": "consultation_form", "slot": "bleeding_disorder"}]


def test_an_answer_set_elsewhere_leaves_the_open_question_to_be_asked(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, resume_form="consultation_form:keloid", now=at(10))
    service.take(CID, practitioner, now=at(10, 1))
    service.set_answer(CID, practitioner, "pregnancy", "unsure", now=at(10, 2))
    service.hand_back(CID, practitioner, now=at(10, 9))
    assert [call for call in tracker_writes if "resume" in call] == [
        {"resume": CID, "form": "consultation_form", "slot": "keloid"}
    ]


def test_hand_back_outside_the_questions_resumes_nothing(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, resume_form=None, now=at(10))
    service.take(CID, practitioner, now=at(10, 1))
    service.hand_back(CID, practitioner, now=at(10, 9))
    assert not any("resume" in call for call in tracker_writes)


def test_end_tells_the_client_and_leaves_the_queue(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, now=at(10))
    service.take(CID, practitioner, now=at(10, 1))
    service.end(CID, practitioner, now=at(10, 9))
    assert service.get(CID).state == "ended"
    assert service.queue() == [] and [c.state for c in service.queue(include_done=True)] == ["ended"]
    ended = [m for m in service.thread(CID) if m["kind"] == "ended"]
    assert ended and "Sam has ended the chat" in ended[0]["text"]
    assert "live_ended" in [e.action for e in audit.entries(target_id=CID)[0]]


def test_queue_order_waiting_oldest_first_then_taken(practitioner: Any, tracker_writes: List) -> None:
    ids = [f"web-{n:032d}" for n in range(3)]
    service.request(ids[0], now=at(10, 5))
    service.request(ids[1], now=at(10, 1))
    service.request(ids[2], now=at(10, 0))
    service.take(ids[2], practitioner, now=at(10, 6))
    assert [c.conversation_id for c in service.queue()] == [ids[1], ids[0], ids[2]]


def test_timeout_sweep_in_two_processes_tells_the_client_once(
    practitioner: Any, tracker_writes: List, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIVE_WAIT_MINUTES", "5")
    service.request(CID, now=at(10))
    assert service.sweep(now=at(10, 4)) == 0
    counts: List[int] = []
    barrier = threading.Barrier(2)

    def sweep() -> None:
        barrier.wait()
        counts.append(service.sweep(now=at(10, 6)))

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(counts) == [0, 1]
    assert service.get(CID).state == "timed_out"
    told = [m for m in service.thread(CID) if m["kind"] == "timed_out"]
    assert len(told) == 1 and "/book" in told[0]["text"] and "call back" in told[0]["text"]
    # still in the queue, still takeable
    assert service.waiting_count() == 1
    assert service.take(CID, practitioner, now=at(10, 30)).state == "taken"


def test_a_timeout_the_client_was_not_told_of_is_tried_again(
    practitioner: Any, tracker_writes: List, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.live import assistant

    service.request(CID, now=at(10))

    def down(conversation_id: str, events: List[Dict[str, Any]]) -> None:
        raise assistant.AssistantUnavailable("the assistant could not be reached (test)")

    with monkeypatch.context() as patch:
        patch.setattr(assistant, "append", down)
        assert service.sweep(now=at(10, 6)) == 0
    assert service.get(CID).state == "waiting"
    assert service.sweep(now=at(10, 7)) == 1


def test_forget_erases_the_row(practitioner: Any, tracker_writes: List) -> None:
    service.request(CID, now=at(10))
    assert service.forget(CID) == 1
    assert service.get(CID) is None and service.waiting_count() == 0


def test_first_name_from_the_account() -> None:
    class Member:
        email = "jo.bloggs@clinic.example"

    assert service.first_name(Member()) == "Jo"

    class Named:
        email = "x@y.z"
        first_name = "Priya"

    assert service.first_name(Named()) == "Priya"
