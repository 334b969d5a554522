"""Browser tests: Playwright drives Debian's Chromium (no browser download), against the whole product running.

Shared by the clinic page tests and the staff dashboard tests (test_staff_*.py): one running stack per session.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Iterator

import pytest

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


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: Dict[str, Any]) -> Dict[str, Any]:
    """pytest-playwright's launch options, pointed at Debian's Chromium. Missing Chromium fails the tests, never skips."""
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


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, clinic_site_origin: str) -> Iterator[Stack]:
    """The whole product (action server, Rasa server, web app) on free ports with a fresh SQLite database."""
    running = Stack(
        tmp_path_factory.mktemp("browser-stack"), with_web=True, extra_env={"CHAT_ORIGINS": clinic_site_origin}
    ).start()
    yield running
    running.stop()
