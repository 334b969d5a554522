"""The two speed fixes in bot/rasa_run.py keep Rasa's behaviour: same validation, same event classes; main() escapes
log arguments and gives Rasa the API's JWT secret inside its own process (the API itself: tests/security)."""

from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events

from bot import rasa_run


@pytest.fixture(scope="module", autouse=True)
def patched():
    before_validate = RemoteAction._validate_action_result
    before_resolve = events.Event.__dict__["resolve_by_type"]
    rasa_run.patch_action_response_validation()
    rasa_run.patch_event_type_lookup()
    yield
    RemoteAction._validate_action_result = before_validate
    events.Event.resolve_by_type = before_resolve


def test_a_valid_action_response_passes():
    action = RemoteAction("action_x", None)
    assert action._validate_action_result({"events": [{"event": "slot", "name": "a", "value": 1}], "responses": []})


def test_an_invalid_action_response_fails_with_rasas_message():
    action = RemoteAction("action_x", None)
    with pytest.raises(ValidationError) as caught:
        action._validate_action_result({"events": [{"no_event_key": 1}], "responses": "not a list"})
    assert "Failed to validate Action server response" in caught.value.message


@pytest.mark.parametrize(
    "name",
    [
        "user",
        "bot",
        "slot",
        "action",
        "active_loop",
        "session_started",
        "restart",
        "pause",
        "resume",
        "followup",
        "reset_slots",
        "user_featurization",
    ],
)
def test_every_event_type_resolves_to_the_same_class(name):
    expected = next(
        c
        for c in __import__("rasa.shared.utils.common", fromlist=["x"]).all_subclasses(events.Event)
        if c.type_name == name
    )
    assert events.Event.resolve_by_type(name) is expected


def test_unknown_event_types_behave_as_before():
    assert events.Event.resolve_by_type("topic") is None
    assert events.Event.resolve_by_type("nonsense", default=events.SlotSet) is events.SlotSet
    with pytest.raises(ValueError):
        events.Event.resolve_by_type("nonsense")


def test_main_escapes_logs_and_gives_rasa_the_api_secret_inside_the_process(monkeypatch):
    import logging

    import rasa.__main__
    from rasa import server

    from bot import redact

    seen = {}
    monkeypatch.setattr(rasa.__main__, "main", lambda: seen.setdefault("argv", list(rasa_run.sys.argv)))
    monkeypatch.setattr(server, "create_app", server.create_app)  # restored after the test
    monkeypatch.setattr(redact, "_installed", False)
    monkeypatch.setattr(logging, "_logRecordFactory", logging.getLogRecordFactory())
    monkeypatch.setenv("RASA_TOKEN", "t" * 40)
    monkeypatch.setattr(rasa_run.sys, "argv", ["/x/bot/rasa_run.py", "run", "--enable-api", "--port", "1"])
    rasa_run.main()
    assert seen["argv"] == [
        "rasa",
        "run",
        "--enable-api",
        "--port",
        "1",
        "--jwt-secret",
        "t" * 40,
        "--jwt-method",
        "HS256",
    ]
    assert redact._installed
    assert (
        logging.LogRecord is not None
        and "\\n" in logging.getLogRecordFactory()("x", logging.INFO, "f", 1, "%s", ("a\nb",), None).getMessage()
    )
    assert getattr(server.create_app, "_json_writes_only", False)


def test_the_pinned_rasa_series_is_the_installed_one_and_the_lock_agrees():
    import rasa

    assert rasa_run.rasa_version_problem() is None
    lock = rasa_run.__file__.rsplit("/bot/", 1)[0] + "/requirements.lock"
    with open(lock, encoding="utf-8") as lines:
        pinned = next(line.split("==")[1].strip() for line in lines if line.startswith("rasa=="))
    assert pinned.startswith(rasa_run.SUPPORTED_RASA) and rasa.__version__ == pinned


@pytest.mark.parametrize("version", ["3.7.0", "3.10.1", "4.0.0", "3.5.17"])
def test_main_refuses_another_rasa_before_patching_anything(monkeypatch, capsys, version):
    import subprocess

    import rasa
    import rasa.__main__

    monkeypatch.setattr(rasa, "__version__", version)
    monkeypatch.setattr(rasa.__main__, "main", lambda: pytest.fail("Rasa must not be started"))
    monkeypatch.setattr(rasa_run, "patch_action_response_validation", lambda: pytest.fail("nothing is patched"))
    monkeypatch.setattr(rasa_run.sys, "argv", ["/x/bot/rasa_run.py", "run"])
    with pytest.raises(SystemExit) as caught:
        rasa_run.main()
    message = str(caught.value.code)
    assert message.startswith("Refusing to start") and f"Rasa {version} is installed" in message
    assert "3.6.x" in message and "requirements.lock" in message
    # a SystemExit with a message is exit status 1 with the message on stderr
    done = subprocess.run(
        [rasa_run.sys.executable, "-c", f"raise SystemExit({message!r})"], capture_output=True, text=True
    )
    assert done.returncode == 1 and "Refusing to start" in done.stderr
