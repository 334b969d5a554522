"""The clinic's actions (`actions`), with one hook for tests/e2e/test_supervisor.py: while the file named by
SLOW_ACTIONS_FILE exists, the next action call removes it and waits a minute before running, so a test can kill the
action server in the middle of a turn. Used only as ACTIONS_MODULE=tests.e2e.slow_actions."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from rasa_sdk.executor import ActionExecutor

import actions  # noqa: F401  (importing registers the clinic's actions with the SDK)

_run = ActionExecutor.run


async def _slow_once_run(self, action_call):  # type: ignore[no-untyped-def]
    flag = os.environ.get("SLOW_ACTIONS_FILE")
    if flag and Path(flag).exists():
        Path(flag).unlink()
        await asyncio.sleep(60)
    return await _run(self, action_call)


ActionExecutor.run = _slow_once_run  # type: ignore[assignment]
