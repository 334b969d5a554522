"""Browser tests: Playwright drives Debian's Chromium (no browser download), against the whole product running.

Shared by the clinic page tests and the staff dashboard tests (test_staff_*.py): one running stack for this folder.

Playwright and the stack live only while this folder's tests run (package scope, not pytest-playwright's session
scope): the sync Playwright API keeps an asyncio loop running in the main thread, which would break every later
test that calls `asyncio.run` (Rasa's tracker store, the action tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Dict, Iterator, Optional

import pytest
from playwright.sync_api import Browser, BrowserType, Playwright, sync_playwright

from tests.e2e.stack import Stack, free_port

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    driver = sync_playwright().start()
    yield driver
    driver.stop()


@pytest.fixture(scope="package")
def browser_type(playwright: Playwright, browser_name: str) -> BrowserType:
    return getattr(playwright, browser_name)


@pytest.fixture(scope="package")
def launch_browser(browser_type_launch_args: Dict[str, Any], browser_type: BrowserType) -> Callable[..., Browser]:
    def launch(**kwargs: Any) -> Browser:
        return browser_type.launch(**{**browser_type_launch_args, **kwargs})

    return launch


@pytest.fixture(scope="package")
def browser(launch_browser: Callable[..., Browser]) -> Iterator[Browser]:
    launched = launch_browser()
    yield launched
    launched.close()


@pytest.fixture(scope="package")
def browser_context_args(playwright: Playwright, device: Optional[str], base_url: Optional[str]) -> Dict[str, Any]:
    args: Dict[str, Any] = dict(playwright.devices[device]) if device else {}
    if base_url:
        args["base_url"] = base_url
    return args


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: Dict[str, Any]) -> Dict[str, Any]:
    """pytest-playwright's launch options, pointed at Debian's Chromium. Missing Chromium fails the tests, never
    skips."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"Debian's Chromium is not installed ({CHROMIUM} is missing): install it with "
            "`apt-get install -y chromium` (.ci/run does). The browser tests never download a browser.",
            pytrace=False,
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_FLAGS}


@pytest.fixture(scope="session")
def clinic_site_origin() -> str:
    """The origin of a clinic's own website that embeds the chat (tests serve pages there); Rasa's CORS allows it."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory, clinic_site_origin: str) -> Iterator[Stack]:
    """The whole product (action server, Rasa server, web app) on free ports with a fresh SQLite database."""
    running = Stack(
        tmp_path_factory.mktemp("browser-stack"), with_web=True, extra_env={"CHAT_ORIGINS": clinic_site_origin}
    ).start()
    yield running
    running.stop()
