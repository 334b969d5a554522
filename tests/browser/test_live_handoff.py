"""The live hand-off, done as people do it: a client on the clinic page asks for a person in the middle of the
questions; a practitioner on the dashboard sees them waiting (banner and sound on whatever page they are on), takes
the chat, they write to each other, the practitioner hands back, the assistant asks the open question again and the
consultation completes, flagged `client_requested_human`. Two browser contexts (two people), the whole product
running (tests/e2e/stack.py). Variants: every process restarted during the chat; nobody joins in time; two
practitioners try to take the same chat."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Callable, Dict, Iterator, Tuple

import pytest
import yaml
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

from tests.browser.chat_widget import REPLY_TIMEOUT_MS, ChatWidget
from tests.browser.staff_pages import StaffLogin
from tests.browser.test_clinic_chat import NO_NOS, finish_consultation, start_consultation
from tests.e2e.stack import ROOT, Stack

LIVE_MS = 20_000  # the dashboard polls every 2-3 s; a loaded machine answers slowly
ASK_FOR_A_PERSON = "can I speak to a real person please"


class LiveQueue:
    """/staff/live, and the signal every dashboard page shows."""

    def __init__(self, page: Page, base_url: str) -> None:
        self.page, self.base_url = page, base_url

    @property
    def signal(self) -> Locator:
        return self.page.locator("#live-signal")

    @property
    def signal_text(self) -> Locator:
        return self.page.get_by_role("status").filter(has_text="waiting for a person")

    def chimes(self) -> int:
        return int(self.page.evaluate("() => Number(document.documentElement.dataset.liveChimes || 0)"))

    def open_from_signal(self) -> LiveQueue:
        self.page.get_by_role("link", name="Open the live chats").click()
        expect(self.page.get_by_role("heading", name="Live chats", level=1)).to_be_visible()
        return self

    def row(self, name: str) -> Locator:
        return self.page.locator("table.live-queue tbody tr").filter(has_text=name)

    def open(self, name: str) -> LiveChatPage:
        self.row(name).get_by_role("link", name=name).click()
        return LiveChatPage(self.page)


class LiveChatPage:
    """/staff/live/{conversation_id}: the thread, the reply box and the chat's buttons."""

    def __init__(self, page: Page) -> None:
        self.page = page

    @property
    def thread(self) -> Locator:
        return self.page.get_by_role("log", name="Live conversation")

    @property
    def state(self) -> Locator:
        return self.page.locator("#live-state")

    @property
    def reply_box(self) -> Locator:
        return self.page.get_by_label("Your reply to the client")

    def take(self) -> None:
        self.page.get_by_role("button", name="Take this chat").click()
        expect(self.state).to_have_attribute("data-state", "taken", timeout=LIVE_MS)
        expect(self.reply_box).to_be_visible()

    def write(self, text: str) -> None:
        self.reply_box.fill(text)
        self.reply_box.press("Enter")
        expect(self.thread.locator("li.bubble.staff").filter(has_text=text)).to_be_visible(timeout=LIVE_MS)
        expect(self.reply_box).to_have_value("")

    def end(self) -> None:
        self.page.get_by_role("button", name="End the chat").click()
        expect(self.state).to_have_attribute("data-state", "ended", timeout=LIVE_MS)

    def hand_back(self) -> None:
        self.page.get_by_role("button", name="Hand back to the assistant").click()
        expect(self.state).to_have_attribute("data-state", "returned", timeout=LIVE_MS)


def client_writes(chat: ChatWidget, text: str) -> None:
    """A message while a person has the chat: the assistant does not answer it, so do not wait for a reply."""
    chat.message_box.fill(text)
    chat.message_box.press("Enter")
    expect(chat.client_messages.filter(has_text=text)).to_have_count(1, timeout=REPLY_TIMEOUT_MS)


def staff_line(chat: ChatWidget, text: str) -> Locator:
    return chat.log.locator(".cc-message").filter(has_text=text)


@pytest.fixture
def two_people(browser: Browser) -> Iterator[Callable[[], Tuple[Page, Page]]]:
    """A client's browser and a practitioner's, as separate browser contexts (no shared cookies or storage)."""
    contexts: list[BrowserContext] = []

    def make() -> Tuple[Page, Page]:
        pages = []
        for _ in range(2):
            context = browser.new_context()
            contexts.append(context)
            pages.append(context.new_page())
        return pages[0], pages[1]

    yield make
    for context in contexts:
        context.close()


def add_practitioner(stack: Stack, first_name: str) -> Dict[str, str]:
    """A practitioner account (`python -m bot staff add`); clients see the first name from the email."""
    email = f"{first_name.lower()}.{secrets.token_hex(3)}@clinic.example"
    password = "pw-" + secrets.token_urlsafe(12)
    subprocess.run(
        [sys.executable, "-m", "bot", "staff", "add", email, "--role", "practitioner"],
        cwd=ROOT,
        check=True,
        env={**stack.env, "STAFF_PASSWORD": password},
        capture_output=True,
    )
    return {"email": email, "password": password, "first_name": first_name}


def practitioner_on_the_dashboard(stack: Stack, page: Page, first_name: str = "Sam") -> Dict[str, str]:
    who = add_practitioner(stack, first_name)
    StaffLogin(page, stack.web_url).log_in(who["email"], who["password"], "/staff/referrals")
    return who


def client_asks_for_a_person_at_the_blood_thinner_question(stack: Stack, page: Page, name: str) -> ChatWidget:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    start_consultation(chat, page)
    if name != "Jane Doe":
        raise ValueError("start_consultation names the client Jane Doe")
    chat.say("none", "blood thinner")
    chat.say(ASK_FOR_A_PERSON)
    return chat


def finish_after_hand_back(stack: Stack, chat: ChatWidget) -> dict:
    """The assistant asks the open question (blood thinners) again; the client answers the rest."""
    expect(chat.bot_messages.last).to_contain_text("blood thinner", timeout=REPLY_TIMEOUT_MS)
    for title in NO_NOS:
        chat.choose(title)
    chat.choose("None of these", "anything else")
    finish_consultation(chat)
    shown = stack.show(chat.sender_id)
    # a consultation whose client asked for a person is stored as handed_off once complete (the contract's status)
    assert shown is not None and shown["status"] == "handed_off" and shown["completed_at"], shown
    return shown


def assert_the_open_question_was_read(shown: dict) -> None:
    """The question open when the client asked for a person, answered with the "No" button after the hand-back, is
    stored as an answer ("no"), not as the button's payload. Checked last, so the staff side is checked first."""
    assert shown["answers"]["blood_thinners"] == "no", shown["answers"]


# ---------------------------------------------------------------------------------------------------- the done test


def test_a_practitioner_takes_the_chat_writes_with_the_client_and_hands_it_back(
    stack: Stack, two_people, tmp_path: Path
) -> None:
    client, practitioner = two_people()
    practitioner_on_the_dashboard(stack, practitioner)
    live = LiveQueue(practitioner, stack.web_url)
    expect(live.signal).to_have_attribute("data-waiting", "0", timeout=LIVE_MS)
    chimes_before = live.chimes()

    chat = client_asks_for_a_person_at_the_blood_thinner_question(stack, client, "Jane Doe")

    # the practitioner, still on the referral queue, sees and hears that someone waits
    expect(live.signal_text).to_be_visible(timeout=LIVE_MS)
    expect(live.signal).to_have_attribute("data-waiting", "1")
    expect(practitioner.locator("#live-nav-count")).to_have_text("1")
    assert live.chimes() == chimes_before + 1
    live.open_from_signal()
    row = live.row("Jane Doe")
    expect(row).to_contain_text("Waiting for a person")
    expect(row).to_contain_text("client_requested_human")
    row.get_by_text(re.compile(r"\d+ answers")).click()
    expect(row).to_contain_text("jane.doe@example.com")

    view = live.open("Jane Doe")
    expect(view.thread).to_contain_text(ASK_FOR_A_PERSON)
    expect(view.thread.locator("li.bubble.client").filter(has_text="Yes, I consent")).to_have_count(1)
    expect(view.thread.locator("li.bubble.assistant").filter(has_text="What's your name")).to_have_count(1)
    view.take()
    expect(practitioner.locator("#live-holder")).to_contain_text("Taken by Sam (practitioner): you")

    view.write("Hello Jane, this is the practitioner. How can I help?")
    expect(staff_line(chat, "Hello Jane, this is the practitioner")).to_be_visible(timeout=LIVE_MS)

    client_writes(chat, "I wanted to ask whether the needles hurt")
    expect(view.thread.locator("li.bubble.client").filter(has_text="whether the needles hurt")).to_be_visible(
        timeout=LIVE_MS
    )

    # while the practitioner types, the client sees it (typing() through the widget's stream)
    view.reply_box.press_sequentially("Very", delay=40)
    expect(client.locator(".cc-live-typing")).to_have_text("Sam is typing\u2026", timeout=LIVE_MS)
    view.write("Very little: we use a numbing cream. Let's finish your questions.")
    expect(staff_line(chat, "we use a numbing cream")).to_be_visible(timeout=LIVE_MS)
    expect(client.locator(".cc-live-typing")).to_be_hidden(timeout=LIVE_MS)
    view.hand_back()

    shown = finish_after_hand_back(stack, chat)
    codes = [r["code"] for r in shown["reasons"]]
    assert "client_requested_human" in codes, shown
    assert shown["outcome"] == "review" and shown["requested_human"] is True, shown

    # the transcript pages mark the practitioner's turns with their name and role, never as the assistant
    practitioner.goto(f"{stack.web_url}/staff/consultations/{shown['id']}")
    staff_turns = practitioner.locator("ol.chat li.bubble.staff")
    expect(staff_turns).to_have_count(2)
    expect(staff_turns.first.locator(".who")).to_have_text("Sam (practitioner)")
    assistant_turns = practitioner.locator("ol.chat li.bubble.assistant")
    expect(assistant_turns.filter(has_text="finish your questions")).to_have_count(0)
    assert_the_open_question_was_read(shown)


def test_every_process_restarts_during_the_chat_and_it_goes_on(stack: Stack, two_people) -> None:
    client, practitioner = two_people()
    practitioner_on_the_dashboard(stack, practitioner)
    chat = client_asks_for_a_person_at_the_blood_thinner_question(stack, client, "Jane Doe")
    practitioner.goto(f"{stack.web_url}/staff/live/{chat.sender_id}")
    view = LiveChatPage(practitioner)
    view.take()
    view.write("Hello, I'm here.")
    expect(staff_line(chat, "Hello, I'm here.")).to_be_visible(timeout=LIVE_MS)

    stack.restart()

    # the pages were never reloaded: the dashboard's poll and the widget's stream come back by themselves
    expect(view.state).to_have_attribute("data-state", "taken", timeout=LIVE_MS)
    view.write("Still here after the restart.")
    expect(staff_line(chat, "Still here after the restart.")).to_be_visible(timeout=60_000)
    client_writes(chat, "Good, thanks")
    expect(view.thread.locator("li.bubble.client").filter(has_text="Good, thanks")).to_be_visible(timeout=LIVE_MS)
    view.hand_back()
    shown = finish_after_hand_back(stack, chat)
    assert "client_requested_human" in [r["code"] for r in shown["reasons"]], shown
    assert shown["outcome"] == "review", shown
    assert_the_open_question_was_read(shown)


def test_two_practitioners_cannot_both_take_the_chat(stack: Stack, two_people, browser: Browser) -> None:
    client, first = two_people()
    second_context = browser.new_context()
    try:
        second = second_context.new_page()
        practitioner_on_the_dashboard(stack, first, "Ada")
        practitioner_on_the_dashboard(stack, second, "Ben")
        chat = client_asks_for_a_person_at_the_blood_thinner_question(stack, client, "Jane Doe")
        url = f"{stack.web_url}/staff/live/{chat.sender_id}"
        first.goto(url)
        second.goto(url)
        mine, theirs = LiveChatPage(first), LiveChatPage(second)
        expect(theirs.page.get_by_role("button", name="Take this chat")).to_be_visible()

        mine.take()
        # the second page, not reloaded, learns who has it: no reply box, no Take button
        expect(second.locator("#live-not-yours")).to_have_text(
            "Ada has this chat: only they can write to the client.", timeout=LIVE_MS
        )
        expect(theirs.reply_box).to_be_hidden()
        expect(second.get_by_role("button", name="Take this chat")).to_be_hidden()

        # a Take sent anyway (a page that had not polled yet) is refused, naming who has it
        with second.expect_navigation():
            second.evaluate("() => document.getElementById('live-take').submit()")
        expect(second.get_by_role("heading", name="Cannot do that")).to_be_visible()
        expect(second.locator("main")).to_contain_text("Ada has already taken this chat.")
        second.goto(url)
        expect(theirs.state).to_have_attribute("data-state", "taken")
        expect(second.locator("#live-holder")).to_have_text("Taken by Ada (practitioner)")
        expect(theirs.reply_box).to_be_hidden()

        mine.write("Only I can write here.")
        expect(staff_line(chat, "Only I can write here.")).to_be_visible(timeout=LIVE_MS)
        mine.end()
        expect(chat.log).to_contain_text("Ada has ended the chat", timeout=LIVE_MS)
        expect(theirs.state).to_have_attribute("data-state", "ended", timeout=LIVE_MS)
    finally:
        second_context.close()


# ---------------------------------------------------------------------------------------------------- nobody joins

ALWAYS_OPEN = {
    "timezone": "Europe/London",
    "closed_dates": [],
    **{day: "00:00-24:00" for day in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
}


@pytest.fixture
def impatient_stack(tmp_path: Path, clinic_site_origin: str) -> Iterator[Stack]:
    """The whole product where a client waits LIVE_WAIT_MINUTES=0.1 (6 s) for a person, in a clinic that is always
    open (the timeout applies within opening hours only)."""
    clinic = yaml.safe_load((ROOT / "data" / "clinic.yml").read_text(encoding="utf-8"))
    clinic["opening_hours"] = ALWAYS_OPEN
    clinic_file = tmp_path / "clinic.yml"
    clinic_file.write_text(yaml.safe_dump(clinic, allow_unicode=True), encoding="utf-8")
    running = Stack(
        tmp_path,
        with_web=True,
        extra_env={"LIVE_WAIT_MINUTES": "0.1", "CLINIC_FILE": str(clinic_file), "CHAT_ORIGINS": clinic_site_origin},
    ).start()
    yield running
    running.stop()


def test_nobody_joins_in_time_the_client_is_told_and_a_practitioner_can_still_take_it(
    impatient_stack: Stack, two_people
) -> None:
    stack = impatient_stack
    client, practitioner = two_people()
    practitioner_on_the_dashboard(stack, practitioner)
    live = LiveQueue(practitioner, stack.web_url)
    chat = client_asks_for_a_person_at_the_blood_thinner_question(stack, client, "Jane Doe")
    expect(live.signal_text).to_be_visible(timeout=LIVE_MS)

    # the client is told nobody could join, and offered a call back or the booking link
    expect(chat.log).to_contain_text("nobody has been able to join yet", timeout=120_000)
    live.open_from_signal()
    row = live.row("Jane Doe")
    expect(row).to_contain_text("nobody joined", timeout=LIVE_MS)
    expect(live.signal).to_have_attribute("data-waiting", "1")  # still waiting for a person: still signalled
    # the email notice (queued by the notifier's round while the client waits) is in the outbox: no SMTP_URL here
    practitioner.goto(f"{stack.web_url}/staff/outbox")
    expect(practitioner.get_by_text("A client is waiting for a person in the live chat").first).to_be_visible()
    live.open_from_signal()

    view = live.open("Jane Doe")
    expect(view.state).to_have_attribute("data-state", "timed_out")
    view.take()
    view.write("Sorry for the wait, I'm here now.")
    expect(staff_line(chat, "Sorry for the wait")).to_be_visible(timeout=LIVE_MS)
    view.hand_back()
    shown = finish_after_hand_back(stack, chat)
    assert "client_requested_human" in [r["code"] for r in shown["reasons"]], shown
    assert_the_open_question_was_read(shown)
