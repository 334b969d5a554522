"""The practitioners' side: queue order, claim -> contacted -> closed with who and when, notes, print, the JSON API,
and exactly one referral per flagged consultation however often the chat retries."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
import requests

from bot import store
from bot.store import audit, referrals
from tests.web.conftest import consult, judgement


def test_queue_is_most_severe_first_then_oldest(staff_as, database_url) -> None:
    start = datetime(2025, 3, 1, tzinfo=timezone.utc)
    consult("c-review-old", ("anticoagulant", "review"), name="Review Old", now=start)
    consult("c-defer-new", ("pregnancy", "defer"), name="Defer New", now=start + timedelta(hours=2))
    consult("c-review-new", ("keloid_tendency", "review"), name="Review New", now=start + timedelta(hours=3))
    consult("c-defer-old", ("active_acne", "defer"), name="Defer Old", now=start + timedelta(hours=1))
    consult("c-clear", name="Clear Client", now=start)

    page = staff_as("practitioner").page("/staff/referrals")

    order = [n for n in ("Defer Old", "Defer New", "Review Old", "Review New") if n in page.text]
    assert order == ["Defer Old", "Defer New", "Review Old", "Review New"]
    assert sorted(order, key=page.text.index) == order
    assert "Clear Client" not in page.text


def test_claim_contact_close_records_who_and_when(staff_as, flagged) -> None:
    pat = staff_as("practitioner")
    rid = flagged["referral"]["id"]
    page = pat.page(f"/staff/referrals/{rid}")
    assert "Claim" in page.text and "Why it matters: why pregnancy matters" in page.text

    assert pat.form(f"/staff/referrals/{rid}/claim").status_code == 303
    assert pat.form(f"/staff/referrals/{rid}/contact", {"note": "phoned, left a message"}).status_code == 303
    assert pat.form(f"/staff/referrals/{rid}/close", {"note": "booked after GP letter"}).status_code == 303

    shown = store.show(flagged["id"])["referral"]
    assert shown["status"] == "closed" and shown["outcome_note"] == "booked after GP letter"
    for step in ("claimed", "contacted", "closed"):
        assert shown[f"{step}_by"] == pat.email and shown[f"{step}_at"] is not None
    history = referrals.history(rid)
    assert [(s.action, s.from_status, s.to_status, s.actor) for s in history] == [
        ("claim", "new", "claimed", pat.email),
        ("contact", "claimed", "contacted", pat.email),
        ("close", "contacted", "closed", pat.email),
    ]
    assert history[1].note == "phoned, left a message"
    actions = [e.action for e in audit.entries(target_id=str(rid))[0]]
    assert {"referral_claimed", "referral_contacted", "referral_closed", "view_referral"} <= set(actions)
    assert "booked after GP letter" in pat.page(f"/staff/referrals/{rid}").text


def test_closing_needs_an_outcome_note(staff_as, flagged) -> None:
    pat = staff_as("practitioner")
    rid = flagged["referral"]["id"]

    response = pat.form(f"/staff/referrals/{rid}/close", {"note": "   "})

    assert response.status_code == 400 and "outcome note" in response.text
    assert store.show(flagged["id"])["referral"]["status"] == "new"


def test_a_step_from_the_wrong_status_changes_nothing(staff_as, flagged) -> None:
    ann, bob = staff_as("practitioner"), staff_as("practitioner")
    rid = flagged["referral"]["id"]

    assert ann.form(f"/staff/referrals/{rid}/claim").status_code == 303
    second = bob.form(f"/staff/referrals/{rid}/claim")

    assert second.status_code == 400 and "claimed" in second.text
    assert store.show(flagged["id"])["referral"]["claimed_by"] == ann.email


def test_two_practitioners_claiming_at_once_one_wins(flagged) -> None:
    rid = flagged["referral"]["id"]
    results = []

    def claim(actor: str) -> None:
        try:
            results.append(referrals.advance(rid, "claim", actor))
        except referrals.ReferralError:
            results.append("refused")

    threads = [threading.Thread(target=claim, args=(f"p{i}@clinic.example",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sorted(results) == ["claimed"] + ["refused"] * 5
    assert len(referrals.history(rid)) == 1


def test_a_referral_step_with_a_forged_csrf_token_is_rejected(staff_as, flagged) -> None:
    pat = staff_as("practitioner")
    rid = flagged["referral"]["id"]

    assert pat.form(f"/staff/referrals/{rid}/claim", csrf="forged").status_code == 400
    assert pat.form(f"/staff/referrals/{rid}/claim", csrf=None).status_code == 400
    other = staff_as("practitioner")  # a real token, but of another session
    assert pat.form(f"/staff/referrals/{rid}/claim", csrf=other.csrf).status_code == 400
    assert store.show(flagged["id"])["referral"]["status"] == "new"


@pytest.mark.parametrize("raw", ["abc", "-1", "0", "99999999999999999999999", "1.5"])
def test_odd_referral_ids_are_404s(staff_as, flagged, raw) -> None:
    pat = staff_as("practitioner")

    assert pat.page(f"/staff/referrals/{raw}").status_code == 404
    assert pat.form(f"/staff/referrals/{raw}/claim").status_code == 404


def test_the_printable_summary_is_one_page_of_print_css(staff_as, flagged) -> None:
    page = staff_as("practitioner").page(f"/staff/referrals/{flagged['referral']['id']}/print")

    assert page.status_code == 200
    assert "/static/staff/print.css" in page.text and "Confidential" in page.text
    assert "Rule pregnancy" in page.text and "why pregnancy matters" in page.text
    css = requests.get(page.url.split("/staff/")[0] + "/static/staff/print.css").text
    assert "@page" in css and "size: A4" in css and "@media print" in css
    assert audit.entries(action="print_referral")[1] == 1


def test_notes_can_be_added_at_any_status(staff_as, flagged) -> None:
    pat = staff_as("practitioner")
    rid = flagged["referral"]["id"]

    assert pat.form(f"/staff/referrals/{rid}/note", {"note": "asked GP for letter"}).status_code == 303

    assert [(s.action, s.note) for s in referrals.history(rid)] == [("note", "asked GP for letter")]


# ------------------------------------------------------------------------------------- exactly one referral


def test_exactly_one_referral_under_retries_and_concurrent_writers(database_url) -> None:
    """The chat retries complete() and the client asks for a person twice, from several threads at once."""
    answers = {"name": "Jane Example", "contact_email": "jane@example.org", "blood_thinners": "yes"}
    store.record_answers("c-race", answers)
    errors = []

    def work(i: int) -> None:
        try:
            if i % 3 == 0:
                store.flag_human_request("c-race")
            else:
                store.complete("c-race", answers, judgement(("anticoagulant", "review")))
        except Exception as exc:  # noqa: BLE001 (collected and asserted)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    import sqlalchemy as sa

    from bot.store.db import session_scope
    from bot.store.models import Referral

    with session_scope() as session:
        assert session.execute(sa.select(sa.func.count()).select_from(Referral)).scalar_one() == 1
    shown = store.show("c-race")
    assert shown["referral"] is not None and shown["status"] == "handed_off"
    assert {r["code"] for r in shown["reasons"]} == {"anticoagulant", "client_requested_human"}


# ----------------------------------------------------------------------------------------------------- API


def test_api_consultation_is_the_cli_contract(staff_as, flagged) -> None:
    import json
    import subprocess
    import sys

    from tests.web.server import Staff

    reception: Staff = staff_as("reception")
    served = reception.get(reception.base + f"/api/consultations/{flagged['id']}").json()
    printed = subprocess.run(
        [sys.executable, "-m", "bot", "consultation", "show", flagged["id"], "--json"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    assert served == json.loads(printed)
    assert {"conversation_id", "status", "outcome", "reasons", "answers", "referral"} <= set(served)


def test_api_list_and_referral(staff_as, flagged) -> None:
    pat = staff_as("practitioner")

    listing = pat.get(pat.base + "/api/consultations", params={"outcome": "defer"}).json()
    queue = pat.get(pat.base + "/api/referrals").json()
    detail = pat.get(pat.base + f"/api/referrals/{flagged['referral']['id']}").json()

    assert listing["total"] == 1 and listing["items"][0]["id"] == flagged["id"]
    assert queue["items"][0]["codes"] == ["anticoagulant", "pregnancy"]
    assert detail["consultation"]["id"] == flagged["id"] and detail["history"] == []
    assert pat.get(pat.base + "/api/consultations", params={"outcome": "maybe"}).status_code == 422
    assert pat.get(pat.base + "/api/referrals/0").status_code == 404
    assert pat.get(pat.base + "/api/consultations/nope").json()["error"] == "Not found"


def test_openapi_schema_marks_optional_fields_nullable_and_matches_responses(staff_as, flagged) -> None:
    import jsonschema

    reception = staff_as("reception")
    schema = reception.get(reception.base + "/api/openapi.json").json()
    served = reception.get(reception.base + f"/api/consultations/{flagged['id']}").json()
    listing = reception.get(reception.base + "/api/consultations").json()

    components = schema["components"]["schemas"]
    outcome = components["ConsultationOut"]["properties"]["outcome"]
    assert {"type": "null"} in outcome["anyOf"] and outcome["nullable"] is True
    assert set(schema["paths"]) == {
        "/api/consultations",
        "/api/consultations/{consultation_id}",
        "/api/consultations/{consultation_id}/transcript",
        "/api/referrals",
        "/api/referrals/{referral_id}",
    }

    def validate(instance, name):
        jsonschema.validate(instance, {"$ref": f"#/components/schemas/{name}", "components": schema["components"]})

    validate(served, "ConsultationOut")
    validate(listing, "ConsultationPage")
    served["referral"] = None  # null where the schema allows it
    validate(served, "ConsultationOut")
