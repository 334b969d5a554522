"""The recorded test stories (tests/stories/conversations.yml) replay with `rasa test` without a prediction error:
every user message classified as recorded, every action predicted as recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RASA = str(Path(sys.executable).parent / "rasa")
STORIES = ROOT / "tests" / "stories" / "conversations.yml"
MODEL = ROOT / "models" / "clinic.tar.gz"


def test_recorded_stories_replay_without_prediction_errors(tmp_path):
    assert MODEL.exists(), "no trained model: run `make test` (it trains first)"
    assert STORIES.exists(), "no recorded stories: run `.venv/bin/python -m tests.stories.record`"
    env = {**os.environ, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [
            RASA,
            "test",
            "core",
            "--stories",
            str(STORIES),
            "--model",
            str(MODEL),
            "--out",
            str(tmp_path),
            "--fail-on-prediction-errors",
            "--no-plot",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text()[:6000] if failed.exists() else ""
    assert done.returncode == 0, (done.stdout + done.stderr)[-4000:] + "\n" + details
    assert "# None of the test stories failed" in failed.read_text() if failed.exists() else True


_ANNOTATION = __import__("re").compile(r"\[([^\]]+)\](?:\{[^}]*\}|\([^)]*\))")


def recorded_user_messages():
    """Each recorded client message (entity markup removed) with the intent it had."""
    import yaml

    stories = yaml.safe_load(STORIES.read_text(encoding="utf-8"))["stories"]
    seen = {}
    for story in stories:
        for step in story["steps"]:
            text = step.get("user")
            if text and not text.startswith("/") and "intent" in step:
                seen.setdefault(_ANNOTATION.sub(r"\1", text), step["intent"])
    return seen


def test_recorded_user_messages_are_still_understood_the_same_way():
    """`rasa test core` replays the recorded intents; here the model classifies each recorded message again."""
    import asyncio

    from rasa.core.agent import Agent

    assert MODEL.exists(), "no trained model: run `make test` (it trains first)"
    agent = Agent.load(str(MODEL))
    expected = recorded_user_messages()
    assert len(expected) > 50

    async def classify():
        return {text: (await agent.parse_message(text))["intent"]["name"] for text in expected}

    predicted = asyncio.run(classify())
    changed = {text: (expected[text], predicted[text]) for text in expected if predicted[text] != expected[text]}
    assert changed == {}, "intent changed (recorded, now): " + "; ".join(f"{t!r}: {v}" for t, v in changed.items())
