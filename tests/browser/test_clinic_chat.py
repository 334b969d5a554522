"""The clinic page and its chat widget, used as a client would: in headless Chromium against the whole running product.

Outcomes are read back through the contract command (`python -m bot consultation show ID --json`, via `stack.show`;
docs/architecture.md, "The consultation JSON").
"""

from __future__ import annotations

import contextlib
import functools
import re
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator, List, Optional

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.chat_widget import ChatWidget
from tests.e2e.stack import ROOT, Stack, free_port

AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
NO_NOS = ["No"] * 8  # blood thinners ... skin infection, each answered with the "No" button


def start_consultation(chat: ChatWidget, page: Page) -> None:
    """Open the chat from the clinic page, consent, and give name, contact, concern and area."""
    page.get_by_role("button", name="Start your pre-consultation").click()
    chat.wait_for_answer(0, "Do you consent?")
    chat.choose("Yes, I consent", "What's your name")
    chat.say("Jane Doe", "How can the clinic contact you")
    chat.say("jane.doe@example.com", "What would you like to improve")
    chat.choose("Acne scarring", "Anything else")
    chat.choose("That's all", "Which area")
    chat.say("cheeks", "medicines")


def finish_consultation(chat: ChatWidget) -> None:
    chat.choose("No, nothing else", "Is that all correct")
    chat.choose("Yes, send it", "Thank you")


def assert_stored(stack: Stack, sender: str, outcome: str) -> dict:
    shown = stack.show(sender)
    assert shown is not None, f"no consultation stored for {sender}"
    assert shown["status"] == "complete", shown
    assert shown["outcome"] == outcome, shown
    return shown


# ---------------------------------------------------------------------------------------------------- whole runs


def test_a_client_completes_a_clear_consultation_by_clicking_and_typing(stack: Stack, page: Page) -> None:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    start_consultation(chat, page)
    chat.say("none", "blood thinner")
    for title in NO_NOS:
        chat.choose(title)
    expect(chat.bot_messages.last).to_contain_text("Do any of these apply")
    # The bot's "\n- item" lines are shown as separate lines of text.
    assert "\n- I'm under 18\n" in chat.bot_messages.last.inner_text()
    chat.choose("None of these", "anything else")
    finish_consultation(chat)

    shown = assert_stored(stack, chat.sender_id, "clear")
    assert shown["reasons"] == [] and shown["referral"] is None
    assert shown["answers"]["name"] == "Jane Doe"
    transcript = chat.transcript()
    assert "You said: Yes, I consent" in transcript and "You said: cheeks" in transcript


def test_a_flagged_consultation_is_stored_with_its_reason_and_referral(stack: Stack, page: Page) -> None:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    start_consultation(chat, page)
    chat.say("none", "blood thinner")
    chat.say("yes, I take clopidogrel", "bleeding or clotting disorder")
    for title in NO_NOS[1:]:
        chat.choose(title)
    chat.choose("None of these", "anything else")
    finish_consultation(chat)

    shown = assert_stored(stack, chat.sender_id, "review")
    assert "anticoagulant" in [reason["code"] for reason in shown["reasons"]]
    assert shown["referral"] is not None


def test_a_reload_keeps_the_conversation(stack: Stack, page: Page) -> None:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    chat.choose("Yes, I consent", "What's your name")
    chat.say("Jane Doe", "How can the clinic contact you")
    before, sender = chat.transcript(), chat.sender_id
    chat.message_box.fill("jane.doe@")  # half-typed

    page.reload()
    expect(chat.panel).to_be_visible()
    assert chat.transcript() == before
    assert chat.sender_id == sender
    expect(chat.message_box).to_have_value("jane.doe@")
    # The same conversation goes on at the server: the next answer is taken as the contact.
    chat.say("jane.doe@example.com", "What would you like to improve")
    expect(chat.quick_reply("Acne scarring")).to_be_visible()


# ---------------------------------------------------------------------------------------------------- keyboard only


def focused(locator: Locator) -> bool:
    return locator.evaluate("el => el.getRootNode().activeElement === el")


def press_until_focused(page: Page, key: str, target: Locator, limit: int = 40) -> None:
    for _ in range(limit):
        page.keyboard.press(key)
        if target.count() and focused(target):
            return
    raise AssertionError(f"{key} never reached {target}")


def assert_focus_visible(locator: Locator) -> None:
    outline = locator.evaluate(
        "el => { const s = getComputedStyle(el); return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"
    )
    assert outline[0] != "none" and outline[1] >= 2, f"no visible focus ring on {locator}: {outline}"


def test_a_consultation_by_keyboard_alone(stack: Stack, page: Page) -> None:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    press_until_focused(page, "Tab", chat.launcher)
    assert_focus_visible(chat.launcher)
    page.keyboard.press("Enter")
    chat.wait_for_answer(0, "Do you consent?")
    expect(chat.message_box).to_be_focused()

    def pick(title: str, expect_text: Optional[str] = None) -> None:
        before = chat.bot_messages.count()
        button = chat.quick_reply(title)
        press_until_focused(page, "Shift+Tab", button)
        assert_focus_visible(button)
        page.keyboard.press("Enter")
        chat.wait_for_answer(before, expect_text)
        expect(chat.message_box).to_be_focused()  # back in the message box for the next answer

    def type_answer(text: str, expect_text: Optional[str] = None) -> None:
        before = chat.bot_messages.count()
        page.keyboard.type(text)
        page.keyboard.press("Enter")
        chat.wait_for_answer(before, expect_text)

    pick("Yes, I consent", "What's your name")
    type_answer("Sam Patel", "How can the clinic contact you")
    type_answer("07700 900123", "What would you like to improve")
    type_answer("acne scars", "Which area")
    type_answer("forehead", "medicines")
    type_answer("none", "blood thinner")
    for title in ["No", "No", "No", "No", "No", "No"]:  # blood thinners ... isotretinoin
        pick(title)
    expect(chat.bot_messages.last).to_contain_text("pregnant or breastfeeding")
    pick("Not sure", "skin infection")
    pick("No", "Do any of these apply")
    pick("None of these", "anything else")
    pick("No, nothing else", "Is that all correct")
    pick("Yes, send it", "Thank you")

    # Escape closes the pop-up and puts the keyboard back on the launcher; Enter opens it again, history intact.
    shown_before = chat.transcript()
    page.keyboard.press("Escape")
    expect(chat.panel).to_be_hidden()
    expect(chat.launcher).to_be_focused()
    page.keyboard.press("Enter")
    expect(chat.panel).to_be_visible()
    assert chat.transcript() == shown_before

    shown = assert_stored(stack, chat.sender_id, "review")
    assert "unsure_answer" in [reason["code"] for reason in shown["reasons"]]


def test_the_assistant_is_shown_typing_while_it_answers(stack: Stack, page: Page) -> None:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    held = []  # the next answer, held back until the indicator has been seen

    def hold(route):
        if route.request.method == "OPTIONS":
            return route.continue_()
        held.append(route)

    page.route("**/webhooks/rest/webhook", hold)
    chat.quick_reply("Yes, I consent").click()
    expect(page.locator(".cc-typing")).to_be_visible()
    expect(chat.log).to_have_attribute("aria-busy", "true")
    expect(chat.client_messages.last).to_contain_text("Yes, I consent")
    assert held, "the message never left the page"
    held[0].continue_()
    page.unroute("**/webhooks/rest/webhook")
    chat.wait_for_answer(2, "What's your name")
    expect(page.locator(".cc-typing")).to_be_hidden()


def consented_chat(stack: Stack, page: Page):
    """The clinic page's chat, opened and consented: the widget and its conversation id."""
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    chat.choose("Yes, I consent", "What's your name")
    return chat, chat.sender_id


def test_restart_starts_a_new_conversation(stack: Stack, page: Page) -> None:
    chat, first = consented_chat(stack, page)
    chat.panel.get_by_role("button", name="Restart").click()
    chat.panel.get_by_role("button", name="Yes, start again").click()
    chat.wait_for_answer(0, "Do you consent?")
    assert chat.sender_id != first
    expect(chat.client_messages).to_have_count(0)


def test_client_and_bot_text_is_shown_as_text_never_as_markup(stack: Stack, page: Page) -> None:
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    chat.choose("Yes, I consent", "What's your name")
    markup = '<img src=x onerror="window.injected=1"><b>Jo</b>'
    chat.say(markup)
    expect(chat.client_messages.last).to_contain_text(markup)
    assert chat.log.locator("img, b, script").count() == 0
    assert page.evaluate("() => window.injected") is None


# ---------------------------------------------------------------------------------------------------- failures


class Forwarder:
    """A TCP forwarder from a port to the real web app (the chat's server): the 'server comes back' in the outage
    test."""

    def __init__(self, listen_port: int, target_port: int) -> None:
        self.listen_port, self.target_port = listen_port, target_port
        self.server: Optional[socket.socket] = None
        self.sockets: List[socket.socket] = []

    def start(self) -> None:
        self.server = socket.socket()
        self.server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.server.bind(("127.0.0.1", self.listen_port))
        self.server.listen(16)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        assert self.server is not None
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            self.sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                target.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, target):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        for sock in [self.server, *self.sockets]:
            if sock is not None:
                sock.close()


EMBED_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Example Clinic</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body><main><h1>Example Clinic</h1><p>The clinic's own website, with the chat embedded.</p></main>
<script src="{web}/static/chat/chat.js" defer
        data-server-url="{server}"
        data-clinic-name="Example Clinic"
        data-phone="020 7946 0000"
        data-email="hello@clinic.example"
        data-privacy-url="https://clinic.example/privacy"
        data-colour="#6a1b9a"></script>
</body></html>"""


class ClinicSite:
    """A clinic's own website on another origin, serving pages that embed the chat with the README's snippet."""

    def __init__(self, origin: str, folder: Path) -> None:
        self.origin, self.folder = origin, folder
        handler = functools.partial(QuietHandler, directory=str(folder))
        self.server = ThreadingHTTPServer(("127.0.0.1", int(origin.rsplit(":", 1)[1])), handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def embed(self, page: Page, stack: Stack, server_url: str) -> ChatWidget:
        name = f"page-{free_port()}.html"
        (self.folder / name).write_text(EMBED_PAGE.format(web=stack.web_url, server=server_url), encoding="utf-8")
        page.goto(f"{self.origin}/{name}")
        return ChatWidget(page)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        pass


@pytest.fixture(scope="module")
def clinic_site(clinic_site_origin: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClinicSite]:
    site = ClinicSite(clinic_site_origin, tmp_path_factory.mktemp("clinic-site"))
    yield site
    site.stop()


def test_when_the_assistant_is_down_the_client_is_told_keeps_their_text_and_it_reconnects(
    stack: Stack, clinic_site: ClinicSite, page: Page
) -> None:
    dead_port = free_port()  # nothing listens here until the forwarder starts
    chat = clinic_site.embed(page, stack, f"http://127.0.0.1:{dead_port}")
    chat.launcher.click()
    expect(chat.panel).to_be_visible()
    expect(chat.panel.get_by_role("heading", name="Chat with Example Clinic")).to_be_visible()
    expect(chat.panel.get_by_role("link", name=re.compile("Privacy notice"))).to_have_attribute(
        "href", "https://clinic.example/privacy"
    )

    expect(chat.alert).to_contain_text("isn't available")
    expect(chat.alert.get_by_role("link", name="020 7946 0000")).to_have_attribute("href", "tel:02079460000")
    expect(chat.alert.get_by_role("link", name="hello@clinic.example")).to_have_attribute(
        "href", "mailto:hello@clinic.example"
    )

    chat.message_box.fill("Do you treat stretch marks?")
    chat.message_box.press("Enter")
    expect(chat.alert).to_contain_text("still in the box below")
    expect(chat.message_box).to_have_value("Do you treat stretch marks?")
    expect(chat.client_messages).to_have_count(0)

    assert axe_violations(page) == [], "the outage notice"

    forwarder = Forwarder(dead_port, int(stack.env["WEB_PORT"]))
    forwarder.start()
    try:
        expect(chat.status).to_contain_text("The assistant is back", timeout=20_000)
        expect(chat.alert).to_be_empty()
        chat.wait_for_answer(0, "Do you consent?")  # the greeting it could not send before
        expect(chat.message_box).to_have_value("Do you treat stretch marks?")
        before = chat.bot_messages.count()
        chat.message_box.press("Enter")
        chat.wait_for_answer(before)
        expect(chat.client_messages.last).to_contain_text("Do you treat stretch marks?")
        expect(chat.message_box).to_have_value("")
    finally:
        forwarder.stop()


def test_when_the_action_server_fails_the_client_is_told_and_it_reconnects(stack: Stack, page: Page) -> None:
    # Rasa answers an empty list when its action server is down, and the web app's health check says so.
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    web_origin = stack.web_url

    def empty_reply(route):
        if route.request.method == "OPTIONS":
            return route.continue_()
        route.fulfill(status=200, json=[], headers={"Access-Control-Allow-Origin": web_origin})

    page.route("**/webhooks/rest/webhook", empty_reply)
    page.route("**/chat/health", lambda route: route.fulfill(status=200, json={"rasa": "up", "actions": "down"}))
    chat.quick_reply("Yes, I consent").click()
    expect(chat.alert).to_contain_text("isn't available")
    expect(chat.alert).to_contain_text("020 7946 0958")
    expect(chat.quick_reply("Yes, I consent")).to_be_visible()  # still there to use again

    page.unroute("**/webhooks/rest/webhook")
    page.unroute("**/chat/health")
    expect(chat.status).to_contain_text("The assistant is back", timeout=20_000)
    chat.choose("Yes, I consent", "What's your name")


def test_the_widget_talks_to_the_web_app_only_never_to_rasa(stack: Stack, clinic_site: ClinicSite, page: Page) -> None:
    seen: List[str] = []
    page.on("request", lambda request: seen.append(request.url))
    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    chat.choose("Yes, I consent", "What's your name")
    embedded = clinic_site.embed(page, stack, stack.web_url)  # another website, chatting through CHAT_ORIGINS
    embedded.launcher.click()
    embedded.wait_for_answer(0, "Do you consent?")
    rasa_port = f":{stack.env['RASA_PORT']}"
    assert seen and not [url for url in seen if rasa_port in url]
    assert any(url.endswith("/chat/session") for url in seen)
    kept = embedded.kept_state()
    assert kept["sender"].startswith("web-") and len(kept["secret"]) == 64  # issued by the server, with its secret


def test_a_conversation_the_server_refuses_starts_afresh_and_keeps_the_text(stack: Stack, page: Page) -> None:
    chat, first = consented_chat(stack, page)
    # Another browser's conversation id, or a lost secret: the server refuses it (403) and a new one starts.
    page.evaluate(
        "() => { const k = Object.keys(sessionStorage).find(k => k.startsWith('clinic-chat:'));"
        " const s = JSON.parse(sessionStorage.getItem(k)); s.secret = '0'.repeat(64);"
        " sessionStorage.setItem(k, JSON.stringify(s)); }"
    )
    page.reload()
    chat.say("Jane Doe")
    expect(chat.status).to_contain_text("A new conversation has started")
    chat.wait_for_answer(0, "Do you consent?")
    assert chat.sender_id != first
    expect(chat.message_box).to_have_value("Jane Doe")
    expect(chat.alert).to_be_empty()


def test_too_many_messages_get_a_friendly_notice_and_the_text_stays(stack: Stack, page: Page) -> None:
    from bot.chat.ownership import RATE_LIMITED

    page.goto(stack.web_url + "/")
    chat = ChatWidget(page)
    chat.open()
    chat.wait_for_answer(0, "Do you consent?")
    page.route(
        "**/webhooks/rest/webhook",
        lambda route: route.fulfill(status=429, json={**RATE_LIMITED, "retry_after": 2}, headers={"Retry-After": "2"}),
    )
    chat.message_box.fill("yes go ahead")
    chat.message_box.press("Enter")
    expect(chat.status).to_contain_text("faster than I can read them")
    expect(chat.message_box).to_have_value("yes go ahead")
    expect(chat.alert).to_be_empty()  # not an outage
    page.unroute("**/webhooks/rest/webhook")
    before = chat.bot_messages.count()
    chat.message_box.press("Enter")
    chat.wait_for_answer(before, "What's your name")


# ---------------------------------------------------------------------------------------------------- layout and a11y


def test_the_page_and_chat_fit_a_320px_screen(stack: Stack, page: Page) -> None:
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(stack.web_url + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320
    chat = ChatWidget(page)
    chat.open()
    box = chat.panel.bounding_box()
    assert box is not None and box["x"] == 0 and box["width"] == 320 and box["height"] == 640
    for part in (chat.message_box, page.get_by_role("button", name="Send"), chat.quick_reply("Yes, I consent")):
        part_box = part.bounding_box()
        assert part_box is not None and part_box["x"] >= 0 and part_box["x"] + part_box["width"] <= 320, part
    assert chat.log.evaluate("el => el.scrollWidth <= el.clientWidth")


def axe_violations(page: Page) -> list:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make node_modules` (npm ci) first", pytrace=False)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate(
        "async () => await axe.run(document, {runOnly: {type: 'tag', values:"
        " ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice']}})"
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']][:5]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def test_the_clinic_page_and_chat_have_no_serious_accessibility_violations(stack: Stack, page: Page) -> None:
    page.goto(stack.web_url + "/")
    assert axe_violations(page) == [], "clinic page, chat closed"
    chat = ChatWidget(page)
    chat.open()
    chat.choose("Yes, I consent", "What's your name")
    assert axe_violations(page) == [], "clinic page, chat open"
    page.goto(stack.web_url + "/privacy")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Privacy notice")
    assert axe_violations(page) == [], "privacy notice"
