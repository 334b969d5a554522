"""The supervisor heals (bot/supervisor.py): a killed child is restarted while the others keep serving, nothing a
client wrote meanwhile is lost or recorded twice, and a child that keeps dying stops everything with a clear message.
`python -m bot serve` shows progress, one line per process, and the URLs last; the children's output goes to a log.
"""

from __future__ import annotations

import json
import re
import sqlite3
import stat
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Optional

import pytest
import requests

from tests.e2e.script import STANDARD, Turn, reply_text, run, standard_turns
from tests.e2e.stack import Stack

RESTART_SECONDS = 120  # the action server imports TensorFlow and spaCy: about 25 s on 2 cores


@pytest.fixture(scope="module")
def full_stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("supervised")
    # the clinic's actions, with a hook that can hold one action call (tests/e2e/slow_actions.py)
    extra = {"ACTIONS_MODULE": "tests.e2e.slow_actions", "SLOW_ACTIONS_FILE": str(workdir / "slow-once")}
    running = Stack(workdir, with_web=True, extra_env=extra).start()
    yield running
    running.stop()


def _post(stack: Stack, sender: str, text: str, message_id: Optional[str] = None) -> requests.Response:
    conversation_id, secret = stack.chat(sender)
    body: Dict[str, Any] = {"sender": conversation_id, "secret": secret, "message": text}
    if message_id:
        body["message_id"] = message_id
    return requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", json=body, timeout=60)


def _user_events(stack: Stack, sender: str, text: str) -> int:
    db = stack.env["DATABASE_URL"].split("sqlite:///", 1)[1]
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT data FROM events WHERE sender_id = ? AND type_name = 'user'", (stack.conversation_id(sender),)
        ).fetchall()
    return sum(1 for (data,) in rows if json.loads(data).get("text") == text)


def _wait_until(check, timeout: float, what: str, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        assert stack.process.poll() is None, f"the supervisor exited while {what}:\n{stack.log()}"
        time.sleep(0.5)
    raise AssertionError(f"not {what} after {timeout}s:\n{stack.log()}")


def _answers(url: str) -> bool:
    try:
        return requests.get(url, timeout=1).status_code < 500
    except requests.RequestException:
        return False


# ------------------------------------------------------------------------------------------------ what make run shows


def test_a_normal_start_shows_progress_and_states_with_no_warnings_and_the_urls_last(full_stack: Stack) -> None:
    shown = full_stack.output()
    lines = [line for line in shown.splitlines() if line.strip()]
    assert lines[0].startswith("Starting the action server, the Rasa server and the web app")
    assert full_stack.env["SERVE_LOG"] in lines[0]
    assert not [line for line in lines if re.search(r"warn|deprecat|traceback|error", line, re.IGNORECASE)], shown
    for label, port in (("action server", "ACTIONS_PORT"), ("Rasa server", "RASA_PORT"), ("web app", "WEB_PORT")):
        state = [line for line in lines if line.strip().startswith(label + " ") and f":{full_stack.env[port]}/" in line]
        assert len(state) == 1 and " up " in state[0], shown
    # the URLs block is the last thing on screen
    block = lines.index("The pre-consultation assistant is running (Ctrl-C stops everything).")
    assert all(line.startswith("  ") for line in lines[block + 1 :]), shown
    assert any("Clinic page:" in line for line in lines[block + 1 :]) and "Logs:" in lines[-1]
    # the children's output went to the log, mode 0600, each line named by its process
    log = Path(full_stack.env["SERVE_LOG"])
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    text = log.read_text()
    assert "[rasa] " in text and "[actions] " in text
    assert "Registered function for" in text  # the action server's own start-up lines


def test_each_process_has_a_health_address(full_stack: Stack) -> None:
    env = full_stack.env
    assert requests.get(f"http://127.0.0.1:{env['RASA_PORT']}/", timeout=5).ok
    assert requests.get(f"http://127.0.0.1:{env['ACTIONS_PORT']}/health", timeout=5).ok
    web = requests.get(f"{full_stack.web_url}/health", timeout=5)
    assert web.ok and web.json() == {"status": "ok"}


# ------------------------------------------------------------------------------------------------ healing


def test_a_message_sent_again_with_its_id_is_answered_again_not_recorded_twice(full_stack: Stack) -> None:
    sender = run(full_stack, standard_turns(stop_before="name"))
    message_id = uuid.uuid4().hex
    first = _post(full_stack, sender, "Jane Doe", message_id)
    assert first.status_code == 200 and "How can the clinic contact you" in reply_text(first.json())
    again = _post(full_stack, sender, "Jane Doe", message_id)  # the reply was lost on the way, say
    assert again.status_code == 200 and again.json() == first.json()
    assert _user_events(full_stack, sender, "Jane Doe") == 1
    full_stack.chats.pop(sender, None)


def test_a_killed_action_server_is_restarted_and_the_conversation_goes_on(full_stack: Stack) -> None:
    stack = full_stack
    sender = run(stack, standard_turns(stop_before="name"))
    old = stack.kill_child("actions")
    actions_health = f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}/health"
    _wait_until(lambda: not _answers(actions_health), 10, "seeing the action server gone", stack)

    # while it is down: a friendly "one moment", and the message is not taken
    message_id = uuid.uuid4().hex
    down = _post(stack, sender, "Jane Doe", message_id)
    assert down.status_code == 503, down.text
    assert down.json()["error"] == "unavailable" and "One moment" in down.json()["message"]
    assert _user_events(stack, sender, "Jane Doe") == 0
    # the widget's path says so too, and the web app's health check says the action server is down
    health = requests.get(f"{stack.web_url}/chat/health", timeout=5).json()
    assert health == {"rasa": "up", "actions": "down"}
    assert stack.process.poll() is None, "the supervisor must keep running"
    assert requests.get(f"{stack.web_url}/health", timeout=5).ok  # the others keep serving

    _wait_until(lambda: _answers(actions_health), RESTART_SECONDS, "restarting the action server", stack)
    assert stack.child_pid("actions") != old
    assert "The action server stopped (exit code -9); restarting it in 1 s" in stack.output()

    # sent again (the widget keeps the id of a message that did not get through): recorded once, and it goes on
    back = _post(stack, sender, "Jane Doe", message_id)
    assert back.status_code == 200 and "How can the clinic contact you" in reply_text(back.json()), back.text
    keys = [key for key, _, _ in STANDARD]
    rest = [Turn(message, expect) for _, message, expect in STANDARD[keys.index("contact") :]]
    run(stack, rest, sender=sender)
    assert _user_events(stack, sender, "Jane Doe") == 1
    shown = stack.show(sender)
    assert shown["status"] == "complete" and shown["answers"]["name"] == "Jane Doe"
    client_lines = [line["text"] for line in shown.get("transcript", []) if line.get("sender") == "client"]
    if client_lines:
        assert client_lines.count("Jane Doe") == 1


def test_a_turn_the_action_server_dies_in_is_not_recorded_and_goes_through_when_sent_again(
    full_stack: Stack,
) -> None:
    stack = full_stack
    sender = run(stack, standard_turns(stop_before="name"))
    actions_health = f"http://127.0.0.1:{stack.env['ACTIONS_PORT']}/health"
    _wait_until(lambda: _answers(actions_health), RESTART_SECONDS, "the action server answering", stack)
    flag = Path(stack.env["SLOW_ACTIONS_FILE"])
    flag.write_text("hold the next action call")
    message_id = uuid.uuid4().hex
    answer: Dict[str, requests.Response] = {}
    turn = threading.Thread(target=lambda: answer.setdefault("r", _post(stack, sender, "Jane Doe", message_id)))
    turn.start()
    _wait_until(lambda: not flag.exists(), 30, "the turn reaching the action server", stack)
    stack.kill_child("actions")  # in the middle of the turn
    turn.join(timeout=60)
    failed = answer["r"]
    assert failed.status_code == 503 and failed.json()["error"] == "unavailable", failed.text
    assert _user_events(stack, sender, "Jane Doe") == 0  # the failed turn was rolled back: nothing recorded

    _wait_until(lambda: _answers(actions_health), RESTART_SECONDS, "restarting the action server", stack)
    back = _post(stack, sender, "Jane Doe", message_id)
    assert back.status_code == 200 and "How can the clinic contact you" in reply_text(back.json()), back.text
    assert _user_events(stack, sender, "Jane Doe") == 1
    assert stack.show(sender)["answers"]["name"] == "Jane Doe"


def test_a_killed_web_app_comes_back(full_stack: Stack) -> None:
    stack = full_stack
    old = stack.kill_child("web")
    health = f"{stack.web_url}/health"
    _wait_until(
        lambda: stack.child_pid("web") != old and _answers(health), RESTART_SECONDS, "restarting the web app", stack
    )
    assert stack.process.poll() is None
    session = requests.post(f"{stack.web_url}/chat/session", timeout=10).json()
    replies = requests.post(
        f"{stack.web_url}/webhooks/rest/webhook",
        timeout=60,
        json={"sender": session["sender"], "secret": session["secret"], "message": "hi"},
    )
    assert replies.ok and "Do you consent?" in reply_text(replies.json())


# ------------------------------------------------------------------------------------------------ giving up


def test_a_child_that_keeps_dying_stops_everything_with_a_clear_message(tmp_path) -> None:
    broken = Stack(tmp_path, extra_env={"ACTIONS_MODULE": "tests.e2e.no_such_actions_package"})
    started = time.monotonic()
    with pytest.raises(RuntimeError, match="exited while starting"):
        broken.start(timeout=300)
    took = time.monotonic() - started
    assert broken.process.wait(timeout=30) == 1
    shown = broken.output()
    assert "The action server keeps stopping: it exited 5 times within 2 minutes (last exit code 1)" in shown
    assert "Could not start" in shown
    assert "tests.e2e.no_such_actions_package" in shown  # its last lines say why
    assert shown.count("restarting it in") == 4 and "restarting it in 8 s" in shown
    assert took < 240
    # the others went with it
    assert not _answers(f"http://127.0.0.1:{broken.env['RASA_PORT']}/")
