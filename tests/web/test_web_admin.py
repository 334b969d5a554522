"""Admin pages and the staff command line: accounts, roles, deactivation, the last admin, the audit log."""

from __future__ import annotations

import os
import subprocess
import sys

from bot.store import audit
from bot.store import staff as staff_store
from tests.web.server import log_in, make_password


def test_an_admin_adds_an_account_that_can_then_log_in(staff_as, web) -> None:
    import requests

    admin = staff_as("admin")
    password = make_password()

    response = admin.form(
        "/staff/admin/staff", {"email": "New.Person@clinic.example", "role": "practitioner", "password": password}
    )

    assert response.status_code == 303
    assert "new.person@clinic.example" in admin.page("/staff/admin/staff").text
    assert log_in(requests.Session(), web, "new.person@clinic.example", password).status_code == 303
    added = audit.entries(action="staff_added")[0][0]
    assert added.actor == admin.email and added.detail == "role=practitioner" and password not in repr(added)


def test_a_bad_new_account_is_explained_not_crashed(staff_as) -> None:
    admin = staff_as("admin")

    short = admin.form("/staff/admin/staff", {"email": "x@clinic.example", "role": "reception", "password": "short"})
    twice = admin.form("/staff/admin/staff", {"email": admin.email, "role": "admin", "password": make_password()})
    role = admin.form("/staff/admin/staff", {"email": "y@clinic.example", "role": "owner", "password": make_password()})

    assert short.status_code == 400 and "at least 10 characters" in short.text
    assert twice.status_code == 400 and "already an account" in twice.text
    assert role.status_code == 400 and "role must be one of" in role.text


def test_deactivating_an_account_ends_its_sessions(staff_as) -> None:
    admin, reception = staff_as("admin"), staff_as("reception")
    person = staff_store.by_email(reception.email)

    response = admin.form(f"/staff/admin/staff/{person.id}", {"role": "reception", "active": "no"})

    assert response.status_code == 303
    assert reception.page("/staff/consultations").status_code == 303  # back to the login form
    assert audit.entries(action="staff_changed")[0][0].detail == "role=reception active=False"


def test_a_role_change_takes_effect_at_once(staff_as) -> None:
    admin, reception = staff_as("admin"), staff_as("reception")
    person = staff_store.by_email(reception.email)

    admin.form(f"/staff/admin/staff/{person.id}", {"role": "practitioner", "active": "yes"})

    assert staff_store.get(person.id).role == "practitioner"
    assert reception.page("/staff/referrals").status_code == 303  # sessions end with a role change: log in again


def test_the_last_active_admin_cannot_be_removed(staff_as) -> None:
    admin = staff_as("admin")
    me = staff_store.by_email(admin.email)

    demote = admin.form(f"/staff/admin/staff/{me.id}", {"role": "reception", "active": "yes"})
    deactivate = admin.form(f"/staff/admin/staff/{me.id}", {"role": "admin", "active": "no"})

    assert demote.status_code == 400 and deactivate.status_code == 400 and "last active admin" in demote.text
    assert staff_store.get(me.id).role == "admin" and staff_store.get(me.id).active


def test_unknown_or_odd_account_ids_are_refused(staff_as) -> None:
    admin = staff_as("admin")

    assert admin.form("/staff/admin/staff/999", {"role": "reception"}).status_code == 400
    assert admin.form("/staff/admin/staff/abc", {"role": "reception"}).status_code == 400
    assert admin.form("/staff/admin/staff/99999999999999999999999", {"role": "reception"}).status_code == 400


def test_the_audit_log_filters_by_person_action_and_target(staff_as, flagged) -> None:
    reception, admin = staff_as("reception"), staff_as("admin")
    reception.page(f"/staff/consultations/{flagged['id']}")

    by_action = admin.page("/staff/admin/audit", action="view_consultation")
    by_person = admin.page("/staff/admin/audit", actor=reception.email)
    by_target = admin.page("/staff/admin/audit", target=flagged["id"])
    junk = admin.page("/staff/admin/audit", action="<script>", page="x")

    assert "1 entry" in by_action.text and reception.email in by_action.text
    assert "view_consultation" in by_person.text and f'<td class="wrap-any">{admin.email}</td>' not in by_person.text
    assert f"consultation {flagged['id'][:8]}" in by_target.text
    assert junk.status_code == 200


def test_the_command_line_adds_and_resets_accounts(database_url) -> None:
    env = {**os.environ, "DATABASE_URL": database_url, "STAFF_PASSWORD": make_password()}
    added = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "add", "Cli@Clinic.example", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
    )
    again = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "add", "cli@clinic.example", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
    )
    env["STAFF_PASSWORD"] = new_password = make_password()
    reset = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "password", "cli@clinic.example"],
        env=env,
        capture_output=True,
        text=True,
    )
    no_tty = subprocess.run(
        [sys.executable, "-m", "bot", "staff", "add", "x@clinic.example", "--role", "reception"],
        env={k: v for k, v in env.items() if k != "STAFF_PASSWORD"},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )

    assert added.returncode == 0 and "added cli@clinic.example (admin)" in added.stdout
    assert again.returncode == 1 and "already an account" in again.stderr
    assert reset.returncode == 0 and staff_store.authenticate("cli@clinic.example", new_password) is not None
    assert no_tty.returncode != 0 and "STAFF_PASSWORD" in no_tty.stderr


def test_saving_an_unchanged_account_keeps_its_sessions(staff_as) -> None:
    admin, reception = staff_as("admin"), staff_as("reception")
    person = staff_store.by_email(reception.email)

    admin.form(f"/staff/admin/staff/{person.id}", {"role": "reception", "active": "yes"})

    assert reception.page("/staff/consultations").status_code == 200
