"""Screenshots of the live chat's staff side for the README: `.venv/bin/python docs/live_screenshots.py`.

Builds a throw-away database with made-up clients who asked for a person (their chats saved through the real tracker
store, the live chats made by bot.live.service), serves the real web app, and photographs the live queue and one
conversation in headless Chromium (Debian's /usr/bin/chromium) into docs/staff-live-queue.png and
docs/staff-live-chat.png. No Rasa runs: the practitioner's messages are written into the tracker as the service
writes them (bot events marked author "staff").
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT / "docs"
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic"]
PASSWORD = "demo-" + os.urandom(6).hex()
PRACTITIONER = "maya.evans@clinic.example"

YES_NO = {"buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"},
                      {"title": "Not sure", "payload": "/unsure"}]}
CLIENTS = [  # conversation id, name, email, minutes since they asked, answers beyond consent/name/contact
    ("web-demo-grace", "Grace Hope", "grace.hope@example.org", 4, {"concerns": ["acne_scarring"], "area": "cheeks",
                                                                    "medications": "warfarin 3mg",
                                                                    "blood_thinners": "yes"}),
    ("web-demo-omar", "Omar Said", "omar.said@example.net", 1, {"concerns": ["fine_lines"], "area": "forehead"}),
    ("web-demo-lena", "Lena Fischer", "lena.f@example.com", 9, {"concerns": ["acne_scarring"], "area": "chin",
                                                                 "medications": "none", "blood_thinners": "no",
                                                                 "bleeding_disorder": "no"}),
]


def events_for(name: str, start: float, staff_turns: bool) -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

    first = name.split()[0]
    turns = [
        ("user", "hi"),
        ("bot", "Hello, and welcome to Northgate Skin Clinic. I'm the clinic's automated assistant. Do you consent to "
                "me collecting health information for your consultation?"),
        ("user", "/affirm"),
        ("bot", "Thank you. What's your name?"),
        ("user", name),
        ("bot", f"Thanks, {first}. How can the clinic contact you?"),
        ("user", f"{first.lower()}@example.org"),
        ("bot", "Do you take a blood thinner, such as clopidogrel or warfarin?"),
        ("user", "can I ask someone first whether it matters that I take warfarin?"),
        ("bot", "I've paused the questions and asked a practitioner to join this chat; this usually takes a few "
                "minutes. Your answers so far are kept, and you can keep writing here: they'll see everything."),
    ]
    if staff_turns:
        turns += [
            ("joined", "Maya (practitioner) has joined the chat."),
            ("staff", f"Hello {first}, I'm Maya, one of the practitioners. Yes, it matters: we can still treat "
                      "you, but I'd like to check a few things first."),
            ("user", "ok, I've been on it for two years, for my heart"),
            ("staff", "Thank you. I'll note that for your consultation and hand you back to the assistant to finish "
                      "the questions."),
        ]
    events = [ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start),
              ActionExecuted("action_listen", timestamp=start + 0.1)]
    t = start + 1
    for kind, text in turns:
        if kind == "user":
            events.append(UserUttered(text, intent={"name": "inform", "confidence": 1.0}, timestamp=t))
        elif kind == "staff":
            events.append(BotUttered(text, metadata={"live": "message", "author": "staff", "name": "Maya",
                                                     "role": "practitioner"}, timestamp=t))
        elif kind == "joined":
            events.append(BotUttered(text, metadata={"live": "joined", "author": "assistant", "name": "Maya",
                                                     "role": "practitioner"}, timestamp=t))
        else:
            events.append(BotUttered(text, data=YES_NO if "blood thinner" in text else {}, timestamp=t))
        t += 14
    return events


def fill() -> str:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import store
    from bot.live import service
    from bot.notify import delivery
    from bot.store import staff
    from bot.store.tracker_store import DatabaseTrackerStore

    now = datetime.now(timezone.utc).replace(microsecond=0)
    tracker_store = DatabaseTrackerStore(domain=Domain.from_yaml('version: "3.1"\nintents: [inform]'))
    member = staff.add(PRACTITIONER, PASSWORD, "practitioner")
    staff.add("reception@clinic.example", PASSWORD, "reception")
    for conversation_id, name, email, minutes, answers in CLIENTS:
        asked = now - timedelta(minutes=minutes)
        store.record_answers(conversation_id, {"consent": True, "name": name, "contact_email": email, **answers},
                             now=asked - timedelta(minutes=3))
        store.flag_human_request(conversation_id, now=asked)
        taken = conversation_id == "web-demo-lena"
        tracker = DialogueStateTracker.from_events(
            conversation_id, events_for(name, (asked - timedelta(minutes=3)).timestamp(), taken), [])
        asyncio.run(tracker_store.save(tracker))
        service.request(conversation_id, resume_form="consultation_form", now=asked)
        if taken:  # no Rasa here: the "has joined" line was saved above, the service only records who has it
            service.take(conversation_id, staff.SignedIn(member, "demo"), now=asked + timedelta(minutes=2))
    delivery.run_once()
    return "web-demo-lena"


def main() -> int:
    from playwright.sync_api import expect, sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="live-shots-"))
    os.environ.update(DATABASE_URL=f"sqlite:///{workdir / 'clinic.db'}", WEB_SECRET=os.urandom(24).hex(),
                      RASA_PORT="1", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    os.environ.pop("SMTP_URL", None)
    from bot.store import migrate
    from tests.web.server import running_app

    migrate.upgrade()
    taken = fill()
    shots = [("staff-live-queue.png", "/staff/live"), ("staff-live-chat.png", f"/staff/live/{taken}")]
    with running_app() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        for filename, path in shots:
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            page = context.new_page()
            page.goto(base + "/staff/login")
            page.get_by_label("Email").fill(PRACTITIONER)
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Log in").click()
            page.wait_for_url("**/staff/**")
            page.goto(base + path)
            expect(page.locator("#live-signal")).to_have_attribute("data-waiting", "2")
            if filename == "staff-live-queue.png":
                page.locator("table.live-queue tbody tr").first.locator("summary").click()
            page.screenshot(path=str(DOCS / filename), full_page=True)
            print(f"docs/{filename}")
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
