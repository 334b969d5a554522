"""The README's screenshots of the clinic page: `.venv/bin/python -m tests.browser.screenshots [--web-url URL]`.

Starts the whole product on free ports (or uses a running web app), holds the first few turns of a consultation in
Debian's Chromium, and writes docs/clinic-page-desktop.png and docs/clinic-page-mobile.png.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Optional

from playwright.sync_api import sync_playwright

from tests.browser.chat_widget import ChatWidget
from tests.browser.conftest import CHROMIUM, CHROMIUM_FLAGS
from tests.e2e.stack import ROOT, Stack

DOCS = ROOT / "docs"
VIEWPORTS = {"desktop": {"width": 1280, "height": 800}, "mobile": {"width": 320, "height": 640}}


def take(web_url: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        for name, viewport in VIEWPORTS.items():
            page = browser.new_page(viewport=viewport)
            page.goto(web_url + "/")
            chat = ChatWidget(page)
            chat.open()
            chat.choose("Yes, I consent", "What's your name")
            chat.say("Jane Doe", "How can the clinic contact you")
            chat.say("jane.doe@example.com", "What would you like to improve")
            page.mouse.move(0, 0)  # no hover colour on the last button clicked
            chat.message_box.focus()
            path = DOCS / f"clinic-page-{name}.png"
            page.screenshot(path=str(path))
            print(f"wrote {path.relative_to(ROOT)}")
            page.close()
        browser.close()


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--web-url", help="a running web app (default: start the whole product on free ports)")
    args = parser.parse_args(argv)
    DOCS.mkdir(exist_ok=True)
    if args.web_url:
        take(args.web_url.rstrip("/"))
        return 0
    with tempfile.TemporaryDirectory() as workdir:
        stack = Stack(Path(workdir), with_web=True).start()
        try:
            take(stack.web_url)
        finally:
            stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
