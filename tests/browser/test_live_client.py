"""The client's side of a live chat, in the real widget: a practitioner (this test, through bot/live/service.py as
the staff pages do) joins, types and writes; the client sees their first name and role (never "the assistant"),
that they are typing, and that they have left; the assistant then asks the open question again."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from bot.live import service
from bot.store import staff as staff_store
from tests.browser.chat_widget import ChatWidget
from tests.browser.test_clinic_chat import consented_chat
from tests.e2e.stack import Stack
from tests.live.client import as_staff_of

TIMEOUT_MS = 15_000


@pytest.fixture
def practitioner(stack: Stack, monkeypatch: pytest.MonkeyPatch) -> Any:
    as_staff_of(stack, monkeypatch)
    member = staff_store.add(f"sam.{uuid.uuid4().hex[:6]}@clinic.example", "a long enough password 123", "practitioner")
    return staff_store.SignedIn(staff=member, csrf_token="t")


def live_key(page: Page) -> Any:
    return page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('clinic-chat-live:')).length")


def test_a_practitioner_joins_types_writes_and_leaves(stack: Stack, page: Page, practitioner: Any) -> None:
    chat, sender = consented_chat(stack, page)
    chat.say("Jane Doe", "How can the clinic contact you")
    chat.say("Could I talk to a real person please?", "paused the questions")
    expect(chat.bot_messages.last).not_to_contain_text("How can the clinic contact you")
    assert service.get(sender).state == "waiting"

    service.take(sender, practitioner)
    expect(chat.log).to_contain_text("Sam (practitioner) has joined the chat.", timeout=TIMEOUT_MS)
    assert live_key(page) == 1  # kept for the next visit from this browser while the chat is with a person

    service.typing(sender, practitioner)
    typing = page.get_by_role("status").filter(has_text="is typing")
    expect(typing).to_have_text("Sam is typing\u2026", timeout=TIMEOUT_MS)

    service.send(sender, practitioner, "Hello, I'm Sam. What would you like to ask?")
    staff_message = chat.log.locator(".cc-from-staff").last
    expect(staff_message).to_contain_text("Hello, I'm Sam. What would you like to ask?", timeout=TIMEOUT_MS)
    expect(staff_message.locator(".cc-author")).to_have_text("Sam, practitioner")
    expect(staff_message).to_contain_text("Sam, practitioner said:")  # what a screen reader reads
    expect(staff_message).not_to_contain_text("Assistant")
    expect(typing).to_be_hidden()
    expect(chat.log).to_have_attribute("role", "log")
    expect(chat.log).to_have_attribute("aria-live", "polite")

    # the client answers the practitioner; no automated reply comes
    chat.message_box.fill("Is it painful?")
    chat.message_box.press("Enter")
    expect(chat.client_messages.last).to_contain_text("Is it painful?")
    expect(chat.log).to_have_attribute("aria-busy", "false", timeout=TIMEOUT_MS)
    assert [m["text"] for m in service.thread(sender) if m["author"] == "client"][-1] == "Is it painful?"

    service.hand_back(sender, practitioner)
    expect(chat.log).to_contain_text("Sam has left the chat and handed you back to me", timeout=TIMEOUT_MS)
    expect(chat.bot_messages.last).to_contain_text("How can the clinic contact you", timeout=TIMEOUT_MS)
    page.wait_for_function(
        "() => !Object.keys(localStorage).some(k => k.startsWith('clinic-chat-live:'))", timeout=TIMEOUT_MS
    )

    # and the questions go on where they stood
    chat.say("jane.doe@example.com", "What would you like to improve")
    assert service.get(sender).state == "returned"


def test_the_stream_picks_up_after_a_reload(stack: Stack, page: Page, practitioner: Any) -> None:
    chat, sender = consented_chat(stack, page)
    chat.say("Jane Doe", "How can the clinic contact you")
    chat.say("I'd like to speak to someone", "paused the questions")
    service.take(sender, practitioner)
    expect(chat.log).to_contain_text("has joined the chat", timeout=TIMEOUT_MS)
    page.reload()
    chat = ChatWidget(page)
    service.send(sender, practitioner, "Written while you reloaded")
    expect(chat.log.locator(".cc-from-staff")).to_have_count(1, timeout=TIMEOUT_MS)
    expect(chat.log.locator(".cc-from-staff")).to_contain_text("Written while you reloaded")
    service.end(sender, practitioner)
    expect(chat.log).to_contain_text("Sam has ended the chat", timeout=TIMEOUT_MS)
    expect(chat.log.locator(".cc-from-staff")).to_have_count(1)  # nothing twice
