"""The consultation API as the actions use it: answers, hand-off, completion, restarts, idle expiry."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa

from bot import store
from bot.store import db
from bot.store.models import Referral
from bot.web import staff_urls

from .conftest import count_rows, judgement

CONTRACT_KEYS = {"conversation_id", "status", "outcome", "reasons", "answers", "referral"}


def referrals(url: str) -> List[Dict[str, Any]]:
    with db.get_engine(url).connect() as connection:
        return [dict(r._mapping) for r in connection.execute(sa.text("SELECT * FROM referrals"))]


# ---------------------------------------------------------------------------------------------- current + answers


def test_current_consultation_is_created_once(database_url: str, now) -> None:
    assert store.current_consultation_id("chat-1", create=False, now=now) is None
    first = store.current_consultation_id("chat-1", now=now)

    assert store.current_consultation_id("chat-1", now=now) == first
    assert store.current_consultation_id("chat-1", create=False, now=now) == first
    assert store.current_consultation_id("chat-2", now=now) != first
    assert count_rows(database_url, "consultations") == 2


def test_record_answers_upserts_deletes_and_keeps_contact_columns(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", {"name": " Jane Example ", "contact_email": "Jane@Example.ORG"}, now=now)
    assert store.record_answers("chat-1", {"pregnancy": "yes", "concerns": ["acne_scarring"]}, now=now) == cid
    store.record_answers(
        "chat-1",
        {"pregnancy": "no", "contact_email": None, "contact_phone": "07700 900123"},
        now=now + timedelta(minutes=2),
    )

    shown = store.show(cid)
    assert shown["answers"] == {
        "name": " Jane Example ",
        "concerns": ["acne_scarring"],
        "pregnancy": "no",
        "contact_phone": "07700 900123",
    }
    assert shown["last_activity_at"] == (now + timedelta(minutes=2)).isoformat()
    with db.get_engine(database_url).connect() as connection:
        row = connection.execute(sa.text("SELECT name, contact_email, contact_phone FROM consultations")).one()
    assert tuple(row) == ("Jane Example", None, "07700 900123")
    assert count_rows(database_url, "answers") == 4


def test_email_is_lower_cased_for_search(database_url: str, now) -> None:
    store.record_answers("chat-1", {"contact_email": "Jane@Example.ORG"}, now=now)

    with db.get_engine(database_url).connect() as connection:
        assert connection.execute(sa.text("SELECT contact_email FROM consultations")).scalar() == "jane@example.org"


def test_record_answers_refuses_values_that_are_not_json_without_echoing_them(database_url: str, now) -> None:
    with pytest.raises(TypeError) as caught:
        store.record_answers("chat-1", {"notes": {"secret-value"}}, now=now)

    assert "notes" in str(caught.value) and "secret-value" not in str(caught.value)


def test_naive_now_is_refused(database_url: str, now) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_answers("chat-1", {"name": "x"}, now=now.replace(tzinfo=None))


def test_touch_moves_last_activity_but_never_creates(database_url: str, now) -> None:
    assert store.touch("nobody", now=now) is None
    assert count_rows(database_url, "consultations") == 0

    cid = store.current_consultation_id("chat-1", now=now)
    assert store.touch("chat-1", now=now + timedelta(minutes=5)) == cid
    assert store.show(cid)["last_activity_at"] == (now + timedelta(minutes=5)).isoformat()


# ------------------------------------------------------------------------------------------------------ complete


def test_complete_stores_outcome_reasons_and_one_referral(database_url: str, answers, now) -> None:
    verdict = judgement(("pregnancy", "defer"), ("anticoagulant", "review"))

    shown = store.complete("chat-1", answers, verdict, now=now)

    assert shown["status"] == "complete"
    assert shown["outcome"] == "defer"
    assert shown["rules_version"] == "rules-test-1"
    assert shown["reasons"] == [
        {"code": "pregnancy", "rule": "Rule pregnancy", "detail": "answered yes to pregnancy"},
        {"code": "anticoagulant", "rule": "Rule anticoagulant", "detail": "answered yes to anticoagulant"},
    ]
    assert [(f["code"], f["outcome"], f["rationale"]) for f in shown["findings"]] == [
        ("pregnancy", "defer", "why pregnancy matters"),
        ("anticoagulant", "review", "why anticoagulant matters"),
    ]
    assert shown["answers"]["pregnancy"] == "yes" and "contact_phone" not in shown["answers"]
    assert shown["completed_at"] == now.isoformat()
    referral = shown["referral"]
    assert referral["status"] == "new" and referral["severity"] == "defer"
    assert referral["rules_version"] == "rules-test-1"
    # the staff page's address is the web layer's (bot.web.staff_urls), filled into the consultation JSON there
    assert "transcript_url" not in referral
    referral = staff_urls.show(shown["id"])["referral"]
    assert referral["transcript_url"] == f"http://localhost:8000/staff/consultations/{shown['id']}"


def test_complete_three_times_creates_exactly_one_referral(database_url: str, answers, now) -> None:
    verdict = judgement(("anticoagulant", "review"))

    results = [store.complete("chat-1", answers, verdict, now=now + timedelta(seconds=i)) for i in range(3)]

    assert len({r["id"] for r in results}) == 1
    assert len(referrals(database_url)) == 1
    assert count_rows(database_url, "consultations") == 1
    assert count_rows(database_url, "reasons") == 1
    assert results[-1]["completed_at"] == now.isoformat()  # the first completion time is kept


def test_clear_judgement_creates_no_referral(database_url: str, answers, now) -> None:
    shown = store.complete("chat-1", dict(answers, pregnancy="no"), judgement(), now=now)

    assert shown["outcome"] == "clear"
    assert shown["reasons"] == []
    assert shown["referral"] is None
    assert referrals(database_url) == []


def test_notes_are_kept_but_are_not_reasons(database_url: str, answers, now) -> None:
    verdict = judgement(("anticoagulant", "review"), ("rosacea", "clear"))

    shown = store.complete("chat-1", answers, verdict, now=now)

    assert [r["code"] for r in shown["reasons"]] == ["anticoagulant"]
    assert [n["code"] for n in shown["notes"]] == ["rosacea"]


def test_human_request_then_defer_judgement_raises_the_one_referral(database_url: str, answers, now) -> None:
    store.record_answers("chat-1", {"name": "Jane"}, now=now)
    cid = store.flag_human_request("chat-1", consent=True, now=now)
    assert store.flag_human_request("chat-1", consent=True, now=now) == cid  # retried action
    before = store.show(cid)
    assert before["status"] == "handed_off" and before["outcome"] is None
    assert before["referral"]["severity"] == "review"
    assert [r["code"] for r in before["reasons"]] == ["client_requested_human"]

    shown = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now + timedelta(minutes=3))

    assert shown["id"] == cid
    assert shown["status"] == "handed_off"  # the client still waits for a person
    assert shown["outcome"] == "defer"
    assert shown["answers"]["requested_human"] is True
    assert [r["code"] for r in shown["reasons"]] == ["pregnancy", "client_requested_human"]
    rows = referrals(database_url)
    assert len(rows) == 1 and rows[0]["severity"] == "defer" and rows[0]["rules_version"] == "rules-test-1"
    assert shown["referral"]["created_at"] == now.isoformat()


def test_human_request_makes_a_clear_judgement_a_review(database_url: str, answers, now) -> None:
    store.flag_human_request("chat-1", consent=True, now=now)

    shown = store.complete("chat-1", dict(answers, pregnancy="no"), judgement(), now=now)

    assert shown["outcome"] == "review"
    assert shown["referral"]["severity"] == "review"
    assert [r["code"] for r in shown["reasons"]] == ["client_requested_human"]


def test_human_request_after_a_deferred_completion_keeps_defer(database_url: str, answers, now) -> None:
    store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)

    cid = store.flag_human_request("chat-1", consent=True, now=now + timedelta(minutes=1))

    shown = store.show(cid)
    assert shown["status"] == "handed_off"
    assert shown["referral"]["severity"] == "defer"
    assert [r["code"] for r in shown["reasons"]] == ["pregnancy", "client_requested_human"]
    assert len(referrals(database_url)) == 1


def test_rejudgement_after_a_correction_replaces_reasons(database_url: str, answers, now) -> None:
    first = store.complete("chat-1", answers, judgement(("pregnancy", "defer"), ("anticoagulant", "review")), now=now)
    store.record_answers("chat-1", {"pregnancy": "no"}, now=now + timedelta(minutes=1))

    second = store.complete(
        "chat-1",
        dict(answers, pregnancy="no"),
        judgement(("anticoagulant", "review"), rules_version="rules-test-2"),
        now=now + timedelta(minutes=2),
    )

    assert second["id"] == first["id"]
    assert [r["code"] for r in second["reasons"]] == ["anticoagulant"]
    assert second["outcome"] == "review"
    assert second["referral"]["severity"] == "review" and second["referral"]["rules_version"] == "rules-test-2"
    assert count_rows(database_url, "reasons") == 1


def test_the_database_refuses_a_second_referral(database_url: str, answers, now) -> None:
    shown = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)

    with pytest.raises(sa.exc.IntegrityError), db.session_scope() as session:
        session.add(
            Referral(consultation_id=shown["id"], status="new", severity="review", created_at=now, updated_at=now)
        )


@pytest.mark.parametrize("started", [True, False], ids=["consultation-exists", "no-consultation-yet"])
def test_concurrent_complete_from_two_threads_makes_one_referral(
    database_url: str, answers, now, started: bool
) -> None:
    for round_ in range(5):
        chat = f"chat-{round_}"
        if started:
            store.record_answers(chat, {"name": "Jane"}, now=now)
        barrier = threading.Barrier(2)
        results: List[Any] = []
        errors: List[BaseException] = []

        def run(chat: str, barrier: threading.Barrier, results: List[Any], errors: List[BaseException]) -> None:
            try:
                barrier.wait()
                results.append(store.complete(chat, answers, judgement(("pregnancy", "defer")), now=now))
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=run, args=(chat, barrier, results, errors)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        assert errors == []
        assert results[0]["id"] == results[1]["id"]
        assert results[0]["referral"]["id"] == results[1]["referral"]["id"]
    assert len(referrals(database_url)) == 5
    assert count_rows(database_url, "consultations") == 5


# ---------------------------------------------------------------------------------------------------- show contract


def test_show_has_exactly_the_contract_keys_plus_documented_additions(database_url: str, answers, now) -> None:
    done = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)
    shown = staff_urls.show(done["id"])  # the consultation JSON: the store's record with the staff page's address

    assert set(shown) >= CONTRACT_KEYS
    assert set(shown) - CONTRACT_KEYS == {
        "id",
        "sequence",
        "rules_version",
        "requested_human",
        "findings",
        "notes",
        "created_at",
        "updated_at",
        "last_activity_at",
        "completed_at",
    }
    assert all(set(reason) == {"code", "rule", "detail"} for reason in shown["reasons"])
    assert set(shown["referral"]) == {
        "id",
        "status",
        "severity",
        "rules_version",
        "created_at",
        "updated_at",
        "claimed_by",
        "claimed_at",
        "contacted_by",
        "contacted_at",
        "closed_by",
        "closed_at",
        "outcome_note",
        "transcript_url",
        "incomplete",
    }
    assert shown["status"] in ("in_progress", "complete", "abandoned", "handed_off")


def test_show_by_consultation_id_or_conversation_id(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", {"name": "Jane"}, now=now)

    by_id = store.show(cid)
    assert by_id == store.show("chat-1")
    assert by_id["outcome"] is None and by_id["referral"] is None and by_id["status"] == "in_progress"
    assert store.show("no-such-thing") is None


def test_show_of_a_conversation_is_its_latest_consultation(database_url: str, now) -> None:
    store.record_answers("chat-1", {"name": "Jane"}, now=now)
    store.abandon_current("chat-1", now=now)
    second = store.record_answers("chat-1", {"name": "Jane"}, now=now)  # same instant: order by sequence

    assert store.show("chat-1")["id"] == second
    assert store.show("chat-1")["sequence"] == 2


# ------------------------------------------------------------------------------------------- restart and expiry


def test_abandon_current_keeps_answers_and_the_next_answer_starts_over(database_url: str, now) -> None:
    first = store.record_answers("chat-1", {"name": "Jane", "pregnancy": "yes"}, now=now)

    assert store.abandon_current("chat-1", now=now + timedelta(minutes=1)) == first
    assert store.abandon_current("chat-1", now=now + timedelta(minutes=1)) is None  # retried: nothing left to end

    assert store.show(first)["status"] == "abandoned"
    assert store.show(first)["answers"] == {"name": "Jane", "pregnancy": "yes"}
    assert store.current_consultation_id("chat-1", create=False) is None
    second = store.record_answers("chat-1", {"name": "Jane"}, now=now + timedelta(minutes=2))
    assert second != first and store.show(second)["answers"] == {"name": "Jane"}


def test_restart_after_completion_keeps_the_completed_consultation(database_url: str, answers, now) -> None:
    done = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)

    assert store.abandon_current("chat-1", now=now) == done["id"]

    assert store.show(done["id"])["status"] == "complete"
    assert store.current_consultation_id("chat-1", now=now) != done["id"]


def test_retried_answers_after_completion_land_on_the_same_consultation(database_url: str, answers, now) -> None:
    done = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)

    assert store.record_answers("chat-1", answers, now=now) == done["id"]
    assert count_rows(database_url, "consultations") == 1


def test_expire_idle_abandons_only_idle_in_progress(database_url: str, answers, now) -> None:
    idle = store.record_answers("idle", {"name": "A"}, now=now - timedelta(minutes=90))
    active = store.record_answers("active", {"name": "B"}, now=now - timedelta(minutes=10))
    handed = store.flag_human_request("handed", consent=True, now=now - timedelta(minutes=90))
    done = store.complete("done", answers, judgement(), now=now - timedelta(minutes=90))["id"]

    assert store.expire_idle(60, now=now) == 1
    assert store.expire_idle(60, now=now) == 0

    statuses = {cid: store.show(cid)["status"] for cid in (idle, active, handed, done)}
    assert statuses == {idle: "abandoned", active: "in_progress", handed: "handed_off", done: "complete"}
    # a finished consultation stays current: a later request for a person attaches to it
    assert store.flag_human_request("done", consent=True, now=now) == done


def test_a_client_back_after_expiry_resumes_the_same_consultation(database_url: str, answers, now) -> None:
    cid = store.record_answers("chat-1", {"name": "Jane"}, now=now - timedelta(hours=3))
    store.expire_idle(60, now=now - timedelta(hours=1))
    assert store.current_consultation_id("chat-1", create=False, now=now) == cid  # looking changes nothing
    assert store.show(cid)["status"] == "abandoned"

    assert store.record_answers("chat-1", {"pregnancy": "no"}, now=now) == cid

    shown = store.show(cid)
    assert shown["status"] == "in_progress"
    assert shown["answers"] == {"name": "Jane", "pregnancy": "no"}
    assert store.complete("chat-1", answers, judgement(), now=now)["id"] == cid
    assert count_rows(database_url, "consultations") == 1


def test_touch_resumes_an_expired_consultation(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", {"name": "Jane"}, now=now - timedelta(hours=3))
    store.expire_idle(60, now=now)

    assert store.touch("chat-1", now=now) == cid
    assert store.show(cid)["status"] == "in_progress"


def test_reads_do_not_wait_for_a_writer(database_url: str, now) -> None:
    import time

    cid = store.record_answers("chat-1", {"name": "Jane"}, now=now)
    with db.session_scope() as writer:  # holds SQLite's write lock (BEGIN IMMEDIATE) until the block ends
        writer.execute(sa.text("UPDATE consultations SET rules_version = 'x'"))
        started = time.monotonic()
        shown = store.show(cid)
        assert time.monotonic() - started < 2  # a writer's BEGIN would wait out busy_timeout (15 s)
    assert shown["rules_version"] is None  # WAL: the reader sees the last committed state
