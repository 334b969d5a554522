"""One real running product (Rasa + action server + web app) for the security tests, with the real chat limits."""

from __future__ import annotations

from typing import Iterator

import pytest

from bot import settings as settings_module
from tests.e2e.stack import Stack


def default_rate(name: str) -> str:
    rate = settings_module.Settings.__dataclass_fields__[name].default
    return f"{rate.burst}/{rate.seconds:g}s"


@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(
        tmp_path_factory.mktemp("security-stack"),
        with_web=True,
        extra_env={
            "CHAT_RATE_CONVERSATION": default_rate("chat_rate_conversation"),
            "CHAT_RATE_ADDRESS": default_rate("chat_rate_address"),
            "CHAT_ORIGINS": "https://www.clinic.example",
        },
    ).start()
    yield running
    running.stop()
