"""What each role may do: reception reads and exports but never works referrals; practitioners work referrals;
admins manage staff and read the audit log. A refusal changes nothing."""

from __future__ import annotations

import pytest

from bot import store

# (method, path, the roles allowed)
MATRIX = [
    ("GET", "/staff/consultations", {"reception", "practitioner", "admin"}),
    ("GET", "/staff/consultations/{cid}", {"reception", "practitioner", "admin"}),
    ("POST", "/staff/consultations/export", {"reception", "admin"}),
    ("GET", "/staff/referrals", {"practitioner", "admin"}),
    ("GET", "/staff/referrals/{rid}", {"practitioner", "admin"}),
    ("GET", "/staff/referrals/{rid}/print", {"practitioner", "admin"}),
    ("POST", "/staff/referrals/{rid}/claim", {"practitioner"}),
    ("POST", "/staff/referrals/{rid}/note", {"practitioner"}),
    ("GET", "/staff/outbox", {"practitioner", "admin"}),
    ("GET", "/staff/admin/staff", {"admin"}),
    ("GET", "/staff/admin/audit", {"admin"}),
    ("GET", "/api/consultations", {"reception", "practitioner", "admin"}),
    ("GET", "/api/consultations/{cid}", {"reception", "practitioner", "admin"}),
    ("GET", "/api/referrals", {"practitioner", "admin"}),
    ("GET", "/api/referrals/{rid}", {"practitioner", "admin"}),
]


@pytest.mark.parametrize("role", ["reception", "practitioner", "admin"])
@pytest.mark.parametrize("method,path,allowed", MATRIX, ids=[f"{m} {p}" for m, p, _ in MATRIX])
def test_role_matrix(staff_as, flagged, role, method, path, allowed) -> None:
    person = staff_as(role)
    url = path.format(cid=flagged["id"], rid=flagged["referral"]["id"])

    response = person.page(url) if method == "GET" else person.form(url, {"note": "a note"})

    if role in allowed:
        assert response.status_code in (200, 303), (response.status_code, response.text[:300])
    else:
        assert response.status_code == 403
        assert "Jane" not in response.text and "anticoagulant" not in response.text


@pytest.mark.parametrize("step", ["claim", "contact", "close", "hand-back"])
def test_reception_cannot_move_a_referral(staff_as, flagged, step) -> None:
    reception = staff_as("reception")
    referral_id = flagged["referral"]["id"]

    response = reception.form(f"/staff/referrals/{referral_id}/{step}", {"note": "closing it"})

    assert response.status_code == 403
    assert "cannot do this" in response.text
    assert store.show(flagged["id"])["referral"]["status"] == "new"


def test_an_admin_reads_referrals_but_does_not_close_them(staff_as, flagged) -> None:
    admin = staff_as("admin")
    referral_id = flagged["referral"]["id"]

    assert admin.page(f"/staff/referrals/{referral_id}").status_code == 200
    assert admin.form(f"/staff/referrals/{referral_id}/close", {"note": "x"}).status_code == 403
    assert store.show(flagged["id"])["referral"]["status"] == "new"


def test_reception_sees_the_referral_status_on_the_consultation(staff_as, flagged) -> None:
    reception = staff_as("reception")

    page = reception.page(f"/staff/consultations/{flagged['id']}")

    assert f"Referral #{flagged['referral']['id']}" in page.text and "New" in page.text
    assert "Open the referral" not in page.text  # no link to a page they may not open
