"""Finding 9 (roles): reception never reads a practitioner's closing note, in the API as on the page; only the
practitioner who claimed a referral closes it, and an admin's close is an override, audited as one.

The real web app over HTTP (tests/web's server), a real database."""

from __future__ import annotations

from bot import store
from bot.store import audit, referrals
from bot.web import staff_urls
from tests.web.conftest import consult, flagged, staff_as, web  # noqa: F401  (fixtures)

NOTE = "Booked for 3 June after the GP's letter about the warfarin"


def closed_by(pat, flagged) -> int:  # noqa: F811
    rid = flagged["referral"]["id"]
    assert pat.form(f"/staff/referrals/{rid}/claim").status_code == 303
    assert pat.form(f"/staff/referrals/{rid}/close", {"note": NOTE}).status_code == 303
    return rid


def test_reception_reads_no_closing_note_in_the_api_but_practitioners_and_admins_do(staff_as, flagged) -> None:
    closed_by(staff_as("practitioner"), flagged)

    reception = staff_as("reception").page(f"/api/consultations/{flagged['id']}")
    practitioner = staff_as("practitioner").page(f"/api/consultations/{flagged['id']}")
    admin = staff_as("admin").page(f"/api/consultations/{flagged['id']}")

    assert reception.status_code == practitioner.status_code == admin.status_code == 200
    assert NOTE not in reception.text and "warfarin" not in reception.text
    assert reception.json()["referral"]["outcome_note"] is None
    assert reception.json()["referral"]["status"] == "closed"  # the rest of the contract is unchanged
    assert practitioner.json()["referral"]["outcome_note"] == NOTE
    assert admin.json()["referral"]["outcome_note"] == NOTE
    assert practitioner.json() == staff_urls.show(flagged["id"])  # practitioners get exactly the CLI's JSON


def test_reception_page_shows_no_closing_note_either(staff_as, flagged) -> None:  # noqa: F811
    closed_by(staff_as("practitioner"), flagged)

    page = staff_as("reception").page(f"/staff/consultations/{flagged['id']}")

    assert page.status_code == 200 and "Closed" in page.text and NOTE not in page.text


def test_a_practitioner_who_did_not_claim_it_cannot_close_it(staff_as, flagged) -> None:  # noqa: F811
    ann, bob = staff_as("practitioner"), staff_as("practitioner")
    rid = flagged["referral"]["id"]
    assert ann.form(f"/staff/referrals/{rid}/claim").status_code == 303

    refused = bob.form(f"/staff/referrals/{rid}/close", {"note": "closing someone else's"})
    page = bob.page(f"/staff/referrals/{rid}")

    assert refused.status_code == 400
    assert f"claimed by {ann.email}: only they can close it" in refused.text
    shown = store.show(flagged["id"])["referral"]
    assert shown["status"] == "claimed" and shown["outcome_note"] is None and shown["closed_by"] is None
    assert "only they can close it" in page.text and f'action="/staff/referrals/{rid}/close"' not in page.text
    # contacted by the claimer: still theirs to close
    assert ann.form(f"/staff/referrals/{rid}/contact", {"note": "phoned"}).status_code == 303
    assert bob.form(f"/staff/referrals/{rid}/close", {"note": "x"}).status_code == 400
    assert ann.form(f"/staff/referrals/{rid}/close", {"note": NOTE}).status_code == 303
    shown = store.show(flagged["id"])["referral"]
    assert shown["status"] == "closed" and shown["closed_by"] == ann.email


def test_the_store_refuses_a_non_claimer_too(flagged) -> None:  # noqa: F811
    rid = flagged["referral"]["id"]
    referrals.advance(rid, "claim", "ann@clinic.example")

    try:
        referrals.advance(rid, "close", "bob@clinic.example", "done")
    except referrals.NotClaimer as exc:
        assert exc.claimed_by == "ann@clinic.example"
    else:
        raise AssertionError("a non-claimer closed the referral")
    assert referrals.advance(rid, "close", "ann@clinic.example", "done") == "closed"


def test_an_unclaimed_referral_may_be_closed_by_any_practitioner(staff_as, flagged) -> None:  # noqa: F811
    rid = flagged["referral"]["id"]

    assert staff_as("practitioner").form(f"/staff/referrals/{rid}/close", {"note": NOTE}).status_code == 303


def test_an_admin_closes_a_claimed_referral_only_as_an_audited_override(staff_as, flagged) -> None:  # noqa: F811
    ann, admin = staff_as("practitioner"), staff_as("admin")
    rid = flagged["referral"]["id"]
    assert ann.form(f"/staff/referrals/{rid}/claim").status_code == 303
    page = admin.page(f"/staff/referrals/{rid}")
    assert "Close as an override" in page.text and f"claimed by {ann.email}" in page.text

    assert admin.form(f"/staff/referrals/{rid}/close", {"note": "plain close"}).status_code == 403
    assert admin.form(f"/staff/referrals/{rid}/claim", {"override": "yes"}).status_code == 403
    assert store.show(flagged["id"])["referral"]["status"] == "claimed"
    done = admin.form(f"/staff/referrals/{rid}/close", {"note": "Ann is away: closed after a call", "override": "yes"})

    assert done.status_code == 303
    shown = store.show(flagged["id"])["referral"]
    assert shown["status"] == "closed" and shown["closed_by"] == admin.email
    last = referrals.history(rid)[-1]
    assert (last.action, last.actor, last.from_status, last.to_status) == (
        "close_override",
        admin.email,
        "claimed",
        "closed",
    )
    entries, total = audit.entries(action="referral_closed")
    assert total == 1 and entries[0].actor == admin.email and entries[0].target_id == str(rid)
    assert entries[0].detail == f"admin override (claimed by {ann.email})"  # audited as an override
    assert "closed as an admin override" in ann.page(f"/staff/referrals/{rid}").text


def test_reception_still_cannot_close_even_asking_for_an_override(staff_as, flagged) -> None:  # noqa: F811
    rid = flagged["referral"]["id"]

    response = staff_as("reception").form(f"/staff/referrals/{rid}/close", {"note": "x", "override": "yes"})

    assert response.status_code == 403
    assert store.show(flagged["id"])["referral"]["status"] == "new"
