"""Screenshots of the staff dashboard for the README: `.venv/bin/python docs/staff_screenshots.py`.

Builds a throw-away database with made-up clients (judged by the real screening rules, one transcript saved through
the real tracker store), serves the real web app, and photographs each main page in headless Chromium (Debian's
/usr/bin/chromium, no download) into docs/staff-*.png.
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

BASE = {"consent": True, "concerns": ["acne_scarring"], "area": "cheeks", "medications": "none",
        "blood_thinners": "no", "bleeding_disorder": "no", "herpes_history": "no", "keloid": "no",
        "active_acne": "no", "isotretinoin": "no", "pregnancy": "no", "skin_infection": "no", "further_checks": [],
        "notes": None}
CLIENTS = [
    ("demo-priya", "Priya Patel", "priya.patel@example.org", None,
     {"blood_thinners": "yes", "medications": "clopidogrel 75mg daily",
      "medication_facts": [{"name": "clopidogrel", "generic": "clopidogrel", "drug_class": "antiplatelet",
                            "current": True, "months_ago": None}]}),
    ("demo-tom", "Tom Smith", None, "07700900002", {}),
    ("demo-aisha", "Aisha Khan", "aisha.khan@example.net", "07700900003", {"pregnancy": "yes"}),
    ("demo-liam", "Liam Jones", "liam@example.com", None, {"herpes_history": "yes", "herpes_active": "no"}),
    ("demo-sofia", "Sofia Garcia", "sofia.g@example.org", None, {}),
    ("demo-wei", "Wei Chen", None, "07700900006", {"keloid": "unsure"}),
    ("demo-ella", "Ella Brown <b>test</b>", "ella@example.org", None, {"active_acne": "yes"}),
]


YES_NO = {"buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"},
                     {"title": "Not sure", "payload": "/unsure"}]}
PRIYA = [
    ("clopidogrel 75mg every day", "Do you take a blood thinner, such as clopidogrel or warfarin?", YES_NO),
    ("yes, the clopidogrel", "Do you have a bleeding or clotting disorder?", YES_NO),
]
LIAM = [
    ("none", "Have you ever had cold sores or another herpes outbreak?", YES_NO),
    ("yes, a few times, but not now", "Do you have a cold sore or a herpes outbreak right now?", YES_NO),
    ("/deny", "Nearly done. Is there anything else you'd like the practitioner to know?", None),
]


def transcript_events(start: float, name: str) -> list:
    first = name.split()[0]
    from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, UserUttered

    yes_no = {"buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"},
                          {"title": "Not sure", "payload": "/unsure"}]}
    turns = [
        ("hi", "Hello, and welcome to Northgate Skin Clinic. I'm the clinic's automated assistant. Do you consent "
               "to me collecting health information for your consultation?", yes_no),
        ("/affirm", "Thank you. What's your name?", None),
        (name, f"Thanks, {first}. How can the clinic contact you?", None),
        (f"{first.lower()}@example.org", "What would you like to improve?", None),
        ("acne scars on my cheeks", "Do you take any medicines at the moment?", None),
    ] + (PRIYA if first == "Priya" else LIAM) + [
        ("/deny", f"Thank you, {first}. I've sent your answers to a practitioner at Northgate Skin Clinic. They "
                  "will contact you within one working day.", None) if first == "Priya" else
        ("can I talk to someone at the clinic?", "Of course. I've asked for a person from Northgate Skin Clinic to "
         "get in touch; the team replies within one working day. Until then I'll keep anything you write here for "
         "them.", None),
    ]
    events = [ActionExecuted("action_session_start", timestamp=start), SessionStarted(timestamp=start),
              ActionExecuted("action_listen", timestamp=start + 0.1)]
    t = start + 1
    for said, reply, data in turns:
        events += [UserUttered(said, intent={"name": "inform", "confidence": 1.0}, timestamp=t),
                   BotUttered(reply, data=data or {}, timestamp=t + 1.2),
                   ActionExecuted("action_listen", timestamp=t + 1.3)]
        t += 23
    return events


def fill() -> dict:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot import store
    from bot.notify import delivery
    from bot.screening import judge, load_rules
    from bot.store import person_requests, referrals, staff
    from bot.store.tracker_store import DatabaseTrackerStore

    rules = load_rules()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    ids = {}
    for n, (sender, name, email, phone, extra) in enumerate(CLIENTS):
        answers = {**BASE, "name": name, "contact_email": email, "contact_phone": phone, **extra}
        when = now - timedelta(hours=5 * (len(CLIENTS) - n))
        store.record_answers(sender, answers, now=when)
        ids[sender] = store.complete(sender, answers, judge(answers, rules), now=when + timedelta(minutes=4))
    store.record_answers("demo-nadia", {"consent": True, "name": "Nadia Novak"}, now=now - timedelta(minutes=9))
    store.flag_human_request("demo-liam", now=now - timedelta(hours=2))
    person_requests.keep("demo-liam", "m1", "Could someone call me after 5pm? I work days.",
                         now=now - timedelta(hours=1))
    domain = Domain.from_yaml('version: "3.1"\nintents: [inform]')
    tracker_store = DatabaseTrackerStore(domain=domain)
    for sender, name in (("demo-priya", "Priya Patel"), ("demo-liam", "Liam Jones")):
        started = ids[sender]["created_at"]
        tracker = DialogueStateTracker.from_events(
            sender, transcript_events(datetime.fromisoformat(started).timestamp() - 240, name), domain.slots)
        asyncio.run(tracker_store.save(tracker))
    for email, role in (("reception@clinic.example", "reception"), ("dr.evans@clinic.example", "practitioner"),
                        ("admin@clinic.example", "admin")):
        staff.add(email, PASSWORD, role)
    referrals.advance(ids["demo-aisha"]["referral"]["id"], "claim", "dr.evans@clinic.example")
    delivery.run_once()  # SMTP_URL is unset: the notices wait in the outbox, as the dashboard shows
    return ids


def main() -> int:
    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="staff-shots-"))
    os.environ.update(DATABASE_URL=f"sqlite:///{workdir / 'clinic.db'}", WEB_SECRET=os.urandom(24).hex(),
                      RASA_PORT="1", SQLALCHEMY_SILENCE_UBER_WARNING="1")
    os.environ.pop("SMTP_URL", None)
    from bot.store import migrate
    from tests.web.server import running_app

    migrate.upgrade()
    ids = fill()
    priya, liam = ids["demo-priya"], ids["demo-liam"]
    shots = [
        ("staff-login.png", None, "/staff/login"),
        ("staff-consultations.png", "reception@clinic.example", "/staff/consultations"),
        ("staff-consultation.png", "reception@clinic.example", f"/staff/consultations/{priya['id']}"),
        ("staff-referrals.png", "dr.evans@clinic.example", "/staff/referrals"),
        ("staff-referral.png", "dr.evans@clinic.example", f"/staff/referrals/{liam['referral']['id']}"),
        ("staff-referral-print.png", "dr.evans@clinic.example", f"/staff/referrals/{priya['referral']['id']}/print"),
        ("staff-audit.png", "admin@clinic.example", "/staff/admin/audit"),
    ]
    with running_app() as base, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_FLAGS)
        for filename, email, path in shots:
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            page = context.new_page()
            if email:
                page.goto(base + "/staff/login")
                page.get_by_label("Email").fill(email)
                page.get_by_label("Password").fill(PASSWORD)
                page.get_by_role("button", name="Log in").click()
                page.wait_for_url("**/staff/**")
            if filename.endswith("print.png"):
                page.emulate_media(media="print")
                page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
            page.goto(base + path)
            page.screenshot(path=str(DOCS / filename), full_page=not filename.endswith("print.png"))
            print(f"docs/{filename}")
            context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
