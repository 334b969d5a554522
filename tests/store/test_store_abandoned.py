"""A client who leaves part-way takes no flag with them: idle expiry and restarts judge the answers given so far
with the real rules, a flag (or a request for a person) gets exactly one referral marked incomplete, announced once,
and a client who comes back and finishes gets the same referral, judged whole."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any, Dict, List

import pytest
import sqlalchemy as sa

from bot import store
from bot.notify import delivery
from bot.screening import judge, load_rules
from bot.screening.answers import YES_NO_KEYS
from bot.store import consultations, db, migrate, outbox, referrals

from .conftest import count_rows

IDLE = timedelta(minutes=90)  # longer than the 60 minutes every test expires after

# the first questions of a consultation, nothing flagged yet; the rest never reached
STARTED: Dict[str, Any] = {
    "name": "Jane Example",
    "contact_email": "jane@example.org",
    "concerns": ["acne_scarring"],
    "area": "cheeks",
    "medications": "none",
    "blood_thinners": "no",
}


@pytest.fixture(autouse=True)
def one_recipient(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NOTIFY_TO", "desk@clinic.example")  # one notice per referral


def notices(now) -> List[outbox.Letter]:
    """Queue what the delivery loop would queue now, then every new-referral notice there is."""
    delivery.queue_referral_notices(now=now)
    with db.session_scope(write=False) as session:
        ids = session.execute(sa.select(outbox.OutboxMessage.referral_id)).scalars().all()
    return [
        letter
        for rid in sorted(set(ids))
        for letter in outbox.by_referral(rid)
        if letter.kind == outbox.KIND_NEW_REFERRAL
    ]


def full_answers(**changes: Any) -> Dict[str, Any]:
    answers = dict(STARTED, further_checks=[], notes=None)
    answers.update({key: "no" for key in YES_NO_KEYS})
    answers.update(changes)
    return answers


# ------------------------------------------------------------------------------------------------------ idle expiry


def test_idle_expiry_with_a_triggered_rule_is_judged_and_referred_once(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", dict(STARTED, blood_thinners="yes"), now=now - IDLE)

    assert store.expire_idle(60, now=now) == 1

    shown = store.show(cid)
    assert shown["status"] == "abandoned" and shown["completed_at"] is None
    assert shown["outcome"] == "review"
    assert shown["rules_version"] == load_rules().version
    assert [r["code"] for r in shown["reasons"]] == ["anticoagulant"]
    assert "blood thinners" in shown["reasons"][0]["detail"]
    referral = shown["referral"]
    assert referral is not None and referral["incomplete"] is True
    assert referral["severity"] == "review" and referral["status"] == "new"
    assert referral["rules_version"] == load_rules().version
    assert count_rows(database_url, "referrals") == 1
    assert [n.referral_id for n in notices(now)] == [referral["id"]]


def test_expire_idle_twice_still_one_referral_and_one_notice(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", dict(STARTED, pregnancy="yes"), now=now - IDLE)
    assert store.expire_idle(60, now=now) == 1
    first = store.show(cid)
    assert len(notices(now)) == 1

    assert store.expire_idle(60, now=now + timedelta(minutes=1)) == 0
    assert store.expire_idle(60, now=now + timedelta(minutes=2)) == 0

    assert store.show(cid) == first  # nothing changed, not even a time
    assert count_rows(database_url, "referrals") == 1
    assert len(notices(now + timedelta(minutes=2))) == 1
    assert first["outcome"] == "defer" and first["referral"]["severity"] == "defer"


def test_a_half_finished_clean_consultation_stays_unjudged_and_unreferred(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", STARTED, now=now - IDLE)

    assert store.expire_idle(60, now=now) == 1

    shown = store.show(cid)
    assert shown["status"] == "abandoned"
    assert shown["outcome"] is None and shown["reasons"] == [] and shown["findings"] == []
    assert shown["referral"] is None and shown["rules_version"] is None
    assert count_rows(database_url, "referrals") == 0
    assert notices(now) == []


def test_unanswered_questions_are_neither_flags_nor_not_sure() -> None:
    """The proof behind judging stored answers as they are: with the real rules a missing key never matches (an
    unanswered question would otherwise read as "not sure", a review)."""
    rules = load_rules()

    assert judge({}, rules).findings == ()
    assert judge(STARTED, rules).findings == ()
    for key in YES_NO_KEYS:  # stopped just before each question in turn
        asked = YES_NO_KEYS[: YES_NO_KEYS.index(key)]
        answers = dict(STARTED, **{k: "no" for k in asked})
        assert judge(answers, rules).findings == (), key
    # and an answer that was given still counts, "not sure" included
    assert [f.code for f in judge(dict(STARTED, keloid="unsure"), rules).findings] == ["unsure_answer"]


def test_a_not_sure_answer_given_before_leaving_is_a_flag(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", dict(STARTED, bleeding_disorder="unsure"), now=now - IDLE)

    store.expire_idle(60, now=now)

    shown = store.show(cid)
    assert [r["code"] for r in shown["reasons"]] == ["unsure_answer"]
    assert shown["referral"]["incomplete"] is True


def test_a_consultation_with_no_answers_is_abandoned_unjudged(database_url: str, now) -> None:
    """A declined consent stores no answers: nothing to judge."""
    cid = store.current_consultation_id("chat-1", now=now - IDLE)

    assert store.expire_idle(60, now=now) == 1

    shown = store.show(cid)
    assert shown["status"] == "abandoned" and shown["outcome"] is None and shown["referral"] is None


def test_expire_idle_works_through_many_in_bounded_batches(
    database_url: str, now, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(consultations, "_EXPIRE_BATCH", 3)
    flagged = [store.record_answers(f"flag-{i}", dict(STARTED, keloid="yes"), now=now - IDLE) for i in range(5)]
    clean = [store.record_answers(f"clean-{i}", STARTED, now=now - IDLE) for i in range(4)]
    active = store.record_answers("active", dict(STARTED, keloid="yes"), now=now - timedelta(minutes=5))

    assert store.expire_idle(60, now=now) == 9

    assert all(store.show(c)["referral"]["incomplete"] is True for c in flagged)
    assert all(store.show(c)["referral"] is None for c in clean)
    assert store.show(active)["status"] == "in_progress" and store.show(active)["referral"] is None
    assert count_rows(database_url, "referrals") == 5


def test_concurrent_sweeps_make_one_referral_each(database_url: str, now) -> None:
    ids = [store.record_answers(f"chat-{i}", dict(STARTED, pregnancy="yes"), now=now - IDLE) for i in range(6)]
    human = store.flag_human_request("human", consent=True, now=now - IDLE)
    barrier = threading.Barrier(3)
    results: List[int] = []
    errors: List[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(store.expire_idle(60, now=now))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and sum(results) == 6
    assert count_rows(database_url, "referrals") == 7
    assert all(store.show(c)["referral"]["incomplete"] is True for c in ids + [human])
    assert len(notices(now)) == 7


# ------------------------------------------------------------------------------------------- a request for a person


def test_a_human_request_then_expiry_marks_the_one_referral_incomplete(database_url: str, now) -> None:
    store.record_answers("chat-1", STARTED, now=now - IDLE)
    cid = store.flag_human_request("chat-1", consent=True, now=now - IDLE)
    before = store.show(cid)["referral"]
    assert before["incomplete"] is False and len(notices(now - IDLE)) == 1

    assert store.expire_idle(60, now=now) == 0  # nothing abandoned: a person has it

    shown = store.show(cid)
    assert shown["status"] == "handed_off"
    assert shown["referral"]["id"] == before["id"] and shown["referral"]["incomplete"] is True
    assert shown["outcome"] == "review"
    assert [r["code"] for r in shown["reasons"]] == ["client_requested_human"]
    assert count_rows(database_url, "referrals") == 1
    assert len(notices(now)) == 1  # announced once, when the client asked
    assert store.expire_idle(60, now=now + timedelta(minutes=5)) == 0
    assert store.show(cid) == shown


def test_a_human_request_with_a_flag_left_unfinished_takes_the_flags_severity(database_url: str, now) -> None:
    store.record_answers("chat-1", dict(STARTED, pregnancy="yes"), now=now - IDLE)
    cid = store.flag_human_request("chat-1", consent=True, now=now - IDLE)
    assert store.show(cid)["referral"]["severity"] == "review"

    store.expire_idle(60, now=now)

    shown = store.show(cid)
    assert shown["outcome"] == "defer" and shown["referral"]["severity"] == "defer"
    assert [r["code"] for r in shown["reasons"]] == ["pregnancy", "client_requested_human"]
    assert count_rows(database_url, "referrals") == 1


def test_a_hand_off_finished_in_time_is_left_alone(database_url: str, now) -> None:
    store.flag_human_request("chat-1", consent=True, now=now - IDLE)
    done = store.complete(
        "chat-1", full_answers(), judge(full_answers(requested_human=True), load_rules()), now=now - IDLE
    )

    store.expire_idle(60, now=now)

    assert store.show(done["id"]) == done and done["referral"]["incomplete"] is False


def test_a_client_back_on_an_unfinished_hand_off_is_judged_on_what_they_add(database_url: str, now) -> None:
    cid = store.flag_human_request("chat-1", consent=True, now=now - 2 * IDLE)
    store.expire_idle(60, now=now - IDLE)
    assert store.show(cid)["referral"]["severity"] == "review"

    store.record_answers("chat-1", {"pregnancy": "yes"}, now=now - IDLE)  # back, answers one more, leaves again
    store.expire_idle(60, now=now)

    shown = store.show(cid)
    assert shown["outcome"] == "defer" and shown["referral"]["severity"] == "defer"
    assert shown["referral"]["incomplete"] is True and count_rows(database_url, "referrals") == 1


# --------------------------------------------------------------------------------------------------------- restart


def test_a_restart_with_a_flag_makes_an_incomplete_referral(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", dict(STARTED, active_acne="yes"), now=now)

    assert store.abandon_current("chat-1", now=now + timedelta(minutes=1)) == cid

    shown = store.show(cid)
    assert shown["status"] == "abandoned" and shown["outcome"] == "defer"
    assert [r["code"] for r in shown["reasons"]] == ["active_acne"]
    assert shown["referral"]["incomplete"] is True and shown["referral"]["severity"] == "defer"
    assert len(notices(now)) == 1
    # the chat starts over on a new consultation, untouched by the old one's referral
    second = store.record_answers("chat-1", {"name": "Jane"}, now=now + timedelta(minutes=2))
    assert second != cid and store.show(second)["referral"] is None
    assert store.expire_idle(60, now=now + timedelta(hours=3)) == 1
    assert count_rows(database_url, "referrals") == 1


def test_a_restart_of_a_clean_or_finished_consultation_makes_no_referral(database_url: str, now) -> None:
    clean = store.record_answers("clean", STARTED, now=now)
    done = store.complete("done", full_answers(), judge(full_answers(), load_rules()), now=now)

    store.abandon_current("clean", now=now)
    store.abandon_current("done", now=now)

    assert store.show(clean)["outcome"] is None and store.show(clean)["referral"] is None
    assert store.show(done["id"])["status"] == "complete" and store.show(done["id"])["referral"] is None


def test_a_restart_after_a_human_request_marks_its_referral_incomplete(database_url: str, now) -> None:
    cid = store.flag_human_request("chat-1", consent=True, now=now)

    store.abandon_current("chat-1", now=now)

    shown = store.show(cid)
    assert shown["status"] == "handed_off" and shown["referral"]["incomplete"] is True
    assert count_rows(database_url, "referrals") == 1


# --------------------------------------------------------------------------------------------- the client returns


def test_a_client_who_comes_back_and_completes_keeps_the_referral_judged_whole(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", dict(STARTED, blood_thinners="yes"), now=now - 3 * IDLE)
    store.expire_idle(60, now=now - 2 * IDLE)
    partial = store.show(cid)["referral"]
    assert partial["incomplete"] is True and partial["severity"] == "review"

    assert store.record_answers("chat-1", {"pregnancy": "yes"}, now=now - IDLE) == cid
    resumed = store.show(cid)
    assert resumed["status"] == "in_progress" and resumed["referral"]["incomplete"] is True  # not finished yet

    answers = full_answers(blood_thinners="yes", pregnancy="yes")
    shown = store.complete("chat-1", answers, judge(answers, load_rules()), now=now)

    assert shown["id"] == cid and shown["status"] == "complete" and shown["completed_at"] == now.isoformat()
    assert shown["referral"]["id"] == partial["id"] and shown["referral"]["incomplete"] is False
    assert shown["outcome"] == "defer" and shown["referral"]["severity"] == "defer"
    assert [r["code"] for r in shown["reasons"]] == ["pregnancy", "anticoagulant"]
    assert count_rows(database_url, "referrals") == 1
    assert len(notices(now)) == 1
    assert store.expire_idle(60, now=now + 2 * IDLE) == 0 and store.show(cid) == shown


def test_a_client_who_comes_back_and_corrects_the_flag_away(database_url: str, now) -> None:
    """The referral is kept (staff may be on it) and follows the answers; completing it clean clears the mark."""
    cid = store.record_answers("chat-1", dict(STARTED, keloid="yes"), now=now - 2 * IDLE)
    store.expire_idle(60, now=now - IDLE)

    store.record_answers("chat-1", {"keloid": "no"}, now=now - IDLE)
    assert store.show(cid)["reasons"] == [] and store.show(cid)["referral"]["incomplete"] is True

    shown = store.complete("chat-1", full_answers(), judge(full_answers(), load_rules()), now=now)
    assert shown["outcome"] == "clear" and shown["reasons"] == []
    assert shown["referral"] is not None and shown["referral"]["incomplete"] is False


def test_a_client_who_comes_back_and_leaves_again_is_judged_again(database_url: str, now) -> None:
    cid = store.record_answers("chat-1", dict(STARTED, keloid="yes"), now=now - 3 * IDLE)
    store.expire_idle(60, now=now - 2 * IDLE)

    store.touch("chat-1", now=now - IDLE)
    store.record_answers("chat-1", {"skin_infection": "yes"}, now=now - IDLE)
    assert store.expire_idle(60, now=now) == 1

    shown = store.show(cid)
    assert shown["status"] == "abandoned" and shown["outcome"] == "defer"
    assert [r["code"] for r in shown["reasons"]] == ["skin_infection", "keloid_tendency"]
    assert count_rows(database_url, "referrals") == 1 and len(notices(now)) == 1


def test_the_referral_queue_says_which_are_incomplete(database_url: str, now) -> None:
    store.record_answers("left", dict(STARTED, keloid="yes"), now=now - IDLE)
    store.expire_idle(60, now=now)
    answers = full_answers(keloid="yes")
    store.complete("finished", answers, judge(answers, load_rules()), now=now)

    items, total = referrals.queue()

    assert total == 2
    assert {i.conversation_id: i.incomplete for i in items} == {"left": True, "finished": False}


# ------------------------------------------------------------------------------------------------------ migration


def test_the_migration_keeps_referrals_and_what_hangs_off_them(database_url: str, now) -> None:
    """0003 adds a column in place: SQLite must not copy the table (dropping the old one would cascade)."""
    cid = store.record_answers("chat-1", dict(STARTED, keloid="yes"), now=now - IDLE)
    store.expire_idle(60, now=now)
    rid = store.show(cid)["referral"]["id"]
    referrals.add_note(rid, "ann@clinic.example", "called")
    assert len(notices(now)) == 1

    from alembic import command

    command.downgrade(migrate.alembic_config(database_url), "0002_staff")
    with db.get_engine(database_url).connect() as connection:
        columns = {c["name"] for c in sa.inspect(connection).get_columns("referrals")}
    assert "incomplete" not in columns and count_rows(database_url, "outbox") == 1
    migrate.upgrade(database_url)  # back to head: existing rows read false

    assert migrate.current_revision(database_url) == migrate.head_revision()
    with db.get_engine(database_url).connect() as connection:
        assert "incomplete" in {c["name"] for c in sa.inspect(connection).get_columns("referrals")}
    assert count_rows(database_url, "referrals") == 1
    assert count_rows(database_url, "referral_events") == 1
    assert count_rows(database_url, "outbox") == 1
    assert store.show(cid)["referral"]["incomplete"] is False


# ----------------------------------------------------------------------------------------------------- PostgreSQL


def test_abandoned_consultations_on_postgresql(postgres_url: str, now) -> None:
    flagged = [store.record_answers(f"chat-{i}", dict(STARTED, pregnancy="yes"), now=now - IDLE) for i in range(5)]
    clean = store.record_answers("clean", STARTED, now=now - IDLE)
    human = store.flag_human_request("human", consent=True, now=now - IDLE)
    barrier = threading.Barrier(3)
    results: List[int] = []
    errors: List[BaseException] = []

    def sweep() -> None:
        try:
            barrier.wait()
            results.append(store.expire_idle(60, now=now))
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=sweep) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == [] and sum(results) == 6
    assert count_rows(postgres_url, "referrals") == 6
    assert all(store.show(c)["referral"]["incomplete"] is True for c in flagged + [human])
    assert store.show(clean)["referral"] is None and store.show(clean)["outcome"] is None
    assert len(notices(now)) == 6

    restarted = store.record_answers("restart", dict(STARTED, keloid="yes"), now=now)
    store.abandon_current("restart", now=now)
    assert store.show(restarted)["referral"]["incomplete"] is True
    answers = full_answers(pregnancy="yes")
    shown = store.complete("chat-0", answers, judge(answers, load_rules()), now=now)
    assert shown["id"] == flagged[0] and shown["referral"]["incomplete"] is False

    from alembic import command

    command.downgrade(migrate.alembic_config(postgres_url), "0002_staff")
    command.upgrade(migrate.alembic_config(postgres_url), "head")
    assert count_rows(postgres_url, "referrals") == 7 and count_rows(postgres_url, "outbox") == 6
    assert store.show(restarted)["referral"]["incomplete"] is False
