"""A real SMTP server (aiosmtpd) on a free port, started and stopped by the test."""

from __future__ import annotations

import email
import os
from dataclasses import dataclass, field
from email.message import Message
from typing import Iterator, List

import pytest

from tests.web.server import free_port

os.environ.setdefault("WEB_SECRET", "test-web-secret-" + "x" * 16)


@dataclass
class Inbox:
    """What the SMTP server received."""

    messages: List[Message] = field(default_factory=list)
    recipients: List[List[str]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:  # aiosmtpd's handler hook
        self.messages.append(email.message_from_bytes(envelope.content))
        self.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.inbox = Inbox()
        self.controller = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> SmtpServer:
        from aiosmtpd.controller import Controller

        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """An SMTP server's address in SMTP_URL, not yet started (call .start(): a test may first find it down)."""
    server = SmtpServer(free_port())
    monkeypatch.setenv("SMTP_URL", server.url)
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def notices_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are about one notice's delivery: no digest window (tests/security/test_referrals_flood.py tests
    the window)."""
    monkeypatch.setenv("NOTIFY_DIGEST_SECONDS", "0")
