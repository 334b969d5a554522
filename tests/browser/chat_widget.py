"""Page object for the chat widget: what a client sees and does, in their words (open, say, choose, reload)."""

from __future__ import annotations

import json
import re
from typing import List, Optional

from playwright.sync_api import Locator, Page, expect

REPLY_TIMEOUT_MS = 30_000


class ChatWidget:
    def __init__(self, page: Page) -> None:
        self.page = page

    # ------------------------------------------------------------------------------------------------ parts

    @property
    def launcher(self) -> Locator:
        return self.page.get_by_role("button", name="Chat with us")

    @property
    def panel(self) -> Locator:
        return self.page.get_by_role("dialog", name=re.compile(r"^Chat with "))

    @property
    def log(self) -> Locator:
        return self.page.get_by_role("log", name="Conversation")

    @property
    def message_box(self) -> Locator:
        return self.page.get_by_role("textbox", name="Your message")

    @property
    def quick_replies(self) -> Locator:
        return self.log.get_by_role("group", name="Quick replies").get_by_role("button")

    @property
    def bot_messages(self) -> Locator:
        return self.log.locator(".cc-from-bot")

    @property
    def client_messages(self) -> Locator:
        return self.log.locator(".cc-from-you")

    @property
    def alert(self) -> Locator:
        return self.panel.get_by_role("alert")

    @property
    def status(self) -> Locator:
        return self.panel.get_by_role("status")

    def quick_reply(self, title: str) -> Locator:
        return self.log.get_by_role("group", name="Quick replies").get_by_role("button", name=title, exact=True)

    # ------------------------------------------------------------------------------------------------ actions

    def open(self) -> None:
        self.launcher.click()
        self.wait_for_answer(expect_count_above=0)

    def say(self, text: str, expect_text: Optional[str] = None) -> None:
        before = self.bot_messages.count()
        self.message_box.fill(text)
        self.message_box.press("Enter")
        self.wait_for_answer(before, expect_text)

    def choose(self, title: str, expect_text: Optional[str] = None) -> None:
        before = self.bot_messages.count()
        self.quick_reply(title).click()
        self.wait_for_answer(before, expect_text)

    def wait_for_answer(self, expect_count_above: int, expect_text: Optional[str] = None) -> None:
        expect(self.bot_messages).not_to_have_count(expect_count_above, timeout=REPLY_TIMEOUT_MS)
        expect(self.log).to_have_attribute("aria-busy", "false", timeout=REPLY_TIMEOUT_MS)
        if expect_text is not None:
            expect(self.bot_messages.last).to_contain_text(expect_text, ignore_case=True, timeout=REPLY_TIMEOUT_MS)

    # ------------------------------------------------------------------------------------------------ reading

    def transcript(self) -> List[str]:
        return [text.strip() for text in self.log.locator(".cc-message").all_text_contents()]

    def kept_state(self) -> dict:
        """What the widget keeps in sessionStorage (sender id and the messages shown)."""
        raw = self.page.evaluate(
            "() => { const k = Object.keys(sessionStorage).find(k => k.startsWith('clinic-chat:'));"
            " return k ? sessionStorage.getItem(k) : null; }"
        )
        assert raw, "the widget kept nothing in sessionStorage"
        return json.loads(raw)

    @property
    def sender_id(self) -> str:
        return self.kept_state()["sender"]
