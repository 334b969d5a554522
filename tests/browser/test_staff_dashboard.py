"""The staff dashboard in headless Chromium, on the whole running product: a real conversation creates a flagged
consultation; a practitioner finds it, reads the transcript, claims and closes it; reception searches and exports."""

from __future__ import annotations

import csv
import random
import re
import secrets
import string
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Dict

import pytest
from playwright.sync_api import Page, expect

from tests.browser.staff_pages import ConsultationList, ReferralPage, ReferralQueue, StaffLogin
from tests.e2e.script import run, standard_turns
from tests.e2e.stack import ROOT, Stack


def add_staff(stack: Stack, role: str) -> Dict[str, str]:
    email = f"{role}-{uuid.uuid4().hex[:6]}@clinic.example"
    password = "pw-" + secrets.token_urlsafe(12)
    subprocess.run(
        [sys.executable, "-m", "bot", "staff", "add", email, "--role", role],
        cwd=ROOT,
        check=True,
        env={**stack.env, "STAFF_PASSWORD": password},
        capture_output=True,
    )
    return {"email": email, "password": password}


@pytest.fixture(scope="module")
def flagged_client(stack: Stack) -> Dict[str, str]:
    """A whole conversation over the chat's REST channel that a practitioner must review (clopidogrel)."""
    name = "Mira " + "".join(random.choice(string.ascii_lowercase) for _ in range(7)).capitalize()
    sender = run(stack, standard_turns({"name": name, "blood_thinners": "yes, clopidogrel"}, stop_before="notes"))
    stack.say(sender, "/deny")  # nothing else to add
    stack.say(sender, "/affirm")  # the summary is right
    shown = stack.show(sender)
    for _ in range(3):
        if shown and shown["outcome"]:
            break
        stack.say(sender, "/affirm")
        shown = stack.show(sender)
    assert shown and shown["outcome"] == "review" and shown["referral"], shown
    return {"name": name, "sender": sender, "id": shown["id"]}


def test_a_practitioner_finds_reads_claims_and_closes_the_referral(stack: Stack, page: Page, flagged_client) -> None:
    who = add_staff(stack, "practitioner")
    StaffLogin(page, stack.web_url).log_in(who["email"], who["password"])

    queue = ReferralQueue(page)
    expect(page.get_by_role("heading", name="Referrals", level=1)).to_be_visible()
    referral = queue.open(flagged_client["name"])

    expect(page.get_by_role("heading", level=1)).to_contain_text(flagged_client["name"])
    expect(referral.transcript).to_contain_text("blood thinner")
    expect(referral.transcript).to_contain_text("yes, clopidogrel")
    expect(page.get_by_role("region", name="Reasons")).to_contain_text("anticoagulant")
    expect(page.get_by_role("region", name="Contact")).to_contain_text("jane.doe@example.com")

    referral.claim()
    referral.mark_contacted("phoned, booked a call with the prescriber")
    referral.close("Review done: OK to book after prescriber letter.")

    expect(page.get_by_text("Review done: OK to book after prescriber letter.").first).to_be_visible()
    expect(page.locator("ol.history")).to_contain_text(f"{who['email']}: claimed")
    queue.open_queue()
    expect(page.get_by_role("link", name=flagged_client["name"])).to_have_count(0)  # no longer open
    queue.show("Closed")
    expect(page.get_by_role("link", name=flagged_client["name"])).to_be_visible()


def test_reception_searches_reads_the_transcript_and_exports(
    stack: Stack, page: Page, flagged_client, tmp_path: Path
) -> None:
    who = add_staff(stack, "reception")
    StaffLogin(page, stack.web_url).log_in(who["email"], who["password"])
    listing = ConsultationList(page, stack.web_url)

    listing.search(flagged_client["name"].split()[-1].lower())
    expect(listing.rows).to_have_count(1)
    expect(listing.count).to_contain_text("1 consultation")
    view = listing.open(flagged_client["name"])
    expect(view.client_bubbles.first).to_contain_text("hi")
    expect(view.assistant_bubbles.first.locator("time")).to_have_attribute("datetime", re.compile(r"^\d{4}-"))
    expect(view.outcome).to_contain_text("Review")
    expect(view.reasons).to_contain_text("anticoagulant")
    expect(page.get_by_role("link", name="Open the referral")).to_have_count(0)

    listing.open_list()
    listing.filter(outcome="Review")
    expect(listing.rows.filter(has_text=flagged_client["name"])).to_have_count(1)
    exported = listing.export(tmp_path)

    rows = list(csv.DictReader(exported.read_text(encoding="utf-8-sig").splitlines()))
    assert exported.name.startswith("consultations-") and exported.suffix == ".csv"
    assert flagged_client["name"] in [r["name"] for r in rows]
    assert {r["outcome"] for r in rows} == {"review"}

    page.set_viewport_size({"width": 320, "height": 640})  # a phone: the page reflows, tables scroll in place
    for path in ("/staff/consultations", f"/staff/consultations/{flagged_client['id']}"):
        page.goto(stack.web_url + path)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    StaffLogin(page, stack.web_url).log_out()


def test_a_hand_off_pauses_the_assistant_until_a_practitioner_hands_it_back(stack: Stack, page: Page) -> None:
    sender = run(stack, standard_turns({"name": "Sam Rivers"}, stop_before="concerns"))
    stack.say(sender, "stop")
    told = " ".join(r.get("text", "") for r in stack.say(sender, "I'd like to talk to a real person"))
    assert "paused the questions" in told  # a live chat waits for a practitioner (bot/live/service.py)

    kept = " ".join(r.get("text", "") for r in stack.say(sender, "Also: I'm on isotretinoin <b>since May</b>"))
    assert "kept that" in kept  # straight to Rasa (no web proxy here): the assistant's own pause keeps it
    shown = stack.show(sender)
    assert shown["status"] == "handed_off" and shown["referral"]

    who = add_staff(stack, "practitioner")
    StaffLogin(page, stack.web_url).log_in(who["email"], who["password"], f"/staff/referrals/{shown['referral']['id']}")
    expect(page.get_by_role("region", name="Conversation")).to_contain_text(
        "Also: I'm on isotretinoin <b>since May</b>"
    )
    expect(page.get_by_role("region", name="Conversation")).to_contain_text("paused")
    ReferralPage(page).hand_back()

    answered = " ".join(r.get("text", "") for r in stack.say(sender, "what is micro-needling?"))
    assert "collagen" in answered.lower() and "kept that" not in answered
    kept_again = " ".join(r.get("text", "") for r in stack.say(sender, "thanks"))
    assert "kept that" not in kept_again  # the live chat is over: the assistant reads messages again
