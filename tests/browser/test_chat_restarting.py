"""The widget while a part of the assistant restarts (bot/supervisor.py): the web app answers 503 "unavailable" (Rasa's
REST channel takes nothing while the action server is down: bot/chat/rest.py). The client is asked for a moment, the
text stays in the box, and the message sent again carries the same message_id, so it is never taken twice."""

from __future__ import annotations

import json
from typing import List

from playwright.sync_api import Page, Request, expect

from tests.browser.chat_widget import ChatWidget
from tests.e2e.stack import Stack


def test_while_the_assistant_restarts_the_client_gets_one_moment_and_the_resend_keeps_its_id(
    stack: Stack, page: Page
) -> None:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    chat.choose("Yes, I consent", "What's your name")
    shown_before = chat.client_messages.count()

    refused: List[str] = []

    def one_moment(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method == "OPTIONS":
            return route.continue_()
        refused.append(json.loads(route.request.post_data)["message_id"])
        route.fulfill(status=503, json={"error": "unavailable", "message": "One moment, please", "retry_after": 3})

    page.route("**/webhooks/rest/webhook", one_moment)
    page.route("**/chat/health", lambda route: route.fulfill(status=200, json={"rasa": "up", "actions": "down"}))
    chat.message_box.fill("Jane Doe")
    chat.message_box.press("Enter")
    expect(chat.alert).to_contain_text("One moment, please: the assistant is restarting.")
    expect(chat.alert).to_contain_text("still in the box below")
    expect(chat.message_box).to_have_value("Jane Doe")
    expect(chat.client_messages).to_have_count(shown_before)
    assert len(refused) == 1 and refused[0]

    page.unroute("**/webhooks/rest/webhook")
    page.unroute("**/chat/health")
    expect(chat.status).to_contain_text("The assistant is back", timeout=20_000)

    sent: List[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/webhooks/rest/webhook"):
            sent.append(json.loads(request.post_data)["message_id"])

    page.on("request", note)
    before = chat.bot_messages.count()
    chat.message_box.press("Enter")
    chat.wait_for_answer(before, "How can the clinic contact you")
    assert sent == refused  # the same message, the same id
    chat.say("jane.doe@example.com", "What would you like to improve")
    assert len(sent) == 2 and sent[1] != sent[0]  # a new message, a new id
    assert stack.show(chat.sender_id)["answers"]["name"] == "Jane Doe"
