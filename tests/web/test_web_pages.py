"""Reception's list, search, filters, pages and export; the consultation page; client text shown as text."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta, timezone

import pytest

from bot import store
from bot.store import audit
from tests.web.conftest import consult

SCRIPT = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def names_on(html: str) -> list:
    return re.findall(r'<a href="/staff/consultations/[0-9a-f]{32}">([^<]*)</a>', html)


@pytest.fixture
def several(database_url):
    day = datetime(2025, 3, 10, 10, 0, tzinfo=timezone.utc)
    consult(
        "c-priya",
        ("anticoagulant", "review"),
        name="Priya Patel",
        email="priya@example.org",
        phone="07700900001",
        now=day,
    )
    consult(
        "c-tom", name="Tom Smith", email="tom.smith@example.com", phone="+447700900002", now=day + timedelta(days=1)
    )
    consult(
        "c-aisha",
        ("pregnancy", "defer"),
        name="Aisha Khan",
        email="aisha@example.net",
        phone="07700900003",
        now=day + timedelta(days=2),
    )
    store.record_answers("c-liam", {"name": "Liam Jones"}, now=day + timedelta(days=3))
    return day


@pytest.mark.parametrize(
    "query,expected",
    [
        ("", ["Liam Jones", "Aisha Khan", "Tom Smith", "Priya Patel"]),
        ("patel", ["Priya Patel"]),
        ("PATEL", ["Priya Patel"]),
        ("tom.smith@", ["Tom Smith"]),
        ("Priya@Example.org", ["Priya Patel"]),
        ("07700 900003", ["Aisha Khan"]),
        ("+447700900002", ["Tom Smith"]),
        ("c-tom", ["Tom Smith"]),
        ("nobody", []),
        ("%", []),
        ("_", []),
    ],
)
def test_search_by_name_email_phone_or_id(staff_as, several, query, expected) -> None:
    page = staff_as("reception").page("/staff/consultations", q=query)

    assert page.status_code == 200
    assert names_on(page.text) == expected


def test_search_by_consultation_id_and_its_prefix(staff_as, several) -> None:
    reception = staff_as("reception")
    cid = store.show("c-aisha")["id"]

    assert names_on(reception.page("/staff/consultations", q=cid).text) == ["Aisha Khan"]
    assert "Aisha Khan" in names_on(reception.page("/staff/consultations", q=cid[:10]).text)


@pytest.mark.parametrize(
    "params,expected",
    [
        ({"status": "in_progress"}, ["Liam Jones"]),
        ({"outcome": "defer"}, ["Aisha Khan"]),
        ({"outcome": "review", "status": "complete"}, ["Priya Patel"]),
        ({"from": "2025-03-11", "to": "2025-03-12"}, ["Aisha Khan", "Tom Smith"]),
        ({"from": "2025-03-12"}, ["Liam Jones", "Aisha Khan"]),
        ({"to": "2025-03-10"}, ["Priya Patel"]),
    ],
)
def test_filters_by_date_status_and_outcome(staff_as, several, params, expected) -> None:
    assert names_on(staff_as("reception").page("/staff/consultations", **params).text) == expected


@pytest.mark.parametrize(
    "params",
    [
        {"page": "abc"},
        {"page": "-3"},
        {"page": "99999999999999999999"},
        {"from": "yesterday"},
        {"to": "2025-13-45"},
        {"status": "deleted"},
        {"outcome": "<b>"},
        {"q": "x" * 5000},
        {"q": "'; DROP TABLE consultations; --"},
        {"q": "\x00\u202e"},
    ],
)
def test_bad_input_never_crashes_the_list(staff_as, several, params) -> None:
    page = staff_as("reception").page("/staff/consultations", **params)

    assert page.status_code == 200
    assert store.show("c-tom") is not None


def test_undecodable_query_bytes_never_crash_the_list(staff_as, several) -> None:
    reception = staff_as("reception")

    response = reception.get(reception.base + "/staff/consultations?q=%ff%fe%00&from=%c3", allow_redirects=False)

    assert response.status_code == 200


def test_pages_of_fifty(staff_as, database_url) -> None:
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    for i in range(53):
        store.record_answers(f"chat-{i}", {"name": f"Client {i:02d}"}, now=start + timedelta(minutes=i))
    reception = staff_as("reception")

    first = reception.page("/staff/consultations")
    second = reception.page("/staff/consultations", page="2")

    assert len(names_on(first.text)) == 50 and names_on(first.text)[0] == "Client 52"
    assert names_on(second.text) == ["Client 02", "Client 01", "Client 00"]
    assert "Page 2 of 2" in second.text and 'rel="prev"' in second.text


def test_client_markup_is_shown_as_text_everywhere(staff_as, database_url) -> None:
    shown = consult("c-evil", ("anticoagulant", "review"), name=SCRIPT, notes=SCRIPT, email="evil@example.org")
    from bot.store import person_requests

    person_requests.keep("c-evil", "m1", SCRIPT)
    practitioner = staff_as("practitioner")
    pages = [
        practitioner.page("/staff/consultations"),
        practitioner.page(f"/staff/consultations/{shown['id']}"),
        practitioner.page(f"/staff/referrals/{shown['referral']['id']}"),
        practitioner.page(f"/staff/referrals/{shown['referral']['id']}/print"),
        practitioner.page("/staff/referrals"),
    ]

    for page in pages:
        assert page.status_code == 200
        assert "<script>alert" not in page.text and "<img src=x" not in page.text
        assert "&lt;script&gt;alert(" in page.text
    assert pages[0].headers["content-security-policy"].startswith("default-src 'self'")


def test_the_transcript_reads_as_bubbles_with_times(staff_as, database_url, save_conversation) -> None:
    save_conversation("c-chat", datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc).timestamp())
    shown = consult("c-chat", ("anticoagulant", "review"))

    page = staff_as("reception").page(f"/staff/consultations/{shown['id']}")

    bubbles = re.findall(
        r'<li class="bubble (client|assistant)">.*?<time datetime="([^"]+)">([^<]+)</time>\s*'
        r"<p>([^<]*)</p>",
        page.text,
        re.S,
    )
    assert [(who, text) for who, _iso, _shown, text in bubbles] == [
        ("client", "hello"),
        ("assistant", "Hello! Shall we start?"),
        ("client", "Yes"),
        ("assistant", "Thank you."),
    ]
    assert bubbles[0][1].startswith("2025-03-01T09:00:01") and bubbles[0][2].endswith("09:00:01")  # GMT in March
    assert "Rule anticoagulant" in page.text and "why anticoagulant matters" in page.text  # reasons beside it
    assert "Review" in page.text and "Treatment area" in page.text


def test_viewing_a_consultation_is_audited(staff_as, flagged) -> None:
    reception = staff_as("reception")

    reception.page(f"/staff/consultations/{flagged['id']}")
    reception.get(reception.base + f"/api/consultations/{flagged['id']}")

    entries, total = audit.entries(action="view_consultation")
    assert total == 2
    assert {(e.actor, e.target_type, e.target_id) for e in entries} == {
        (reception.email, "consultation", flagged["id"])
    }


def test_unknown_consultation_is_a_plain_404(staff_as, database_url) -> None:
    page = staff_as("reception").page("/staff/consultations/" + "0" * 32)

    assert page.status_code == 404 and "no such consultation" in page.text
    assert "Traceback" not in page.text


def test_export_is_a_csv_of_the_filtered_list_and_is_audited(staff_as, several) -> None:
    reception = staff_as("reception")

    response = reception.form("/staff/consultations/export", {"outcome": "review", "q": "", "from": "", "to": ""})

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'attachment; filename="consultations-' in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [r["name"] for r in rows] == ["Priya Patel"]
    assert rows[0]["outcome"] == "review" and rows[0]["referral_status"] == "new"
    entries, _ = audit.entries(action="export")
    assert entries[0].actor == reception.email and entries[0].detail == "outcome=review rows=1"


def test_export_keeps_formulas_out_of_spreadsheets(staff_as, database_url) -> None:
    consult("c-formula", name='=HYPERLINK("http://evil.example")', email="+x@example.org")

    response = staff_as("reception").form("/staff/consultations/export", {})

    row = next(csv.DictReader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert row["name"].startswith("'=") and row["email"].startswith("'+")


def test_export_without_csrf_is_rejected_and_not_audited(staff_as, several) -> None:
    reception = staff_as("reception")

    response = reception.form("/staff/consultations/export", {"outcome": "review"}, csrf="forged")

    assert response.status_code == 400 and "Priya" not in response.text
    assert audit.entries(action="export")[1] == 0


def test_too_large_a_form_is_refused(staff_as, database_url) -> None:
    response = staff_as("reception").form("/staff/consultations/export", {"q": "x" * 100_000})

    assert response.status_code == 413


def test_list_views_are_audited_without_the_search_text(staff_as, several) -> None:
    reception = staff_as("reception")

    reception.page("/staff/consultations", q="Priya Patel", outcome="review")

    entry = audit.entries(action="list_consultations")[0][0]
    assert entry.detail == "search outcome=review page=1" and "Priya" not in entry.detail
