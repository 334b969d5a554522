"""The two speed fixes in bot/rasa_run.py keep Rasa's behaviour: same validation, same event classes."""
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


@pytest.mark.parametrize("name", ["user", "bot", "slot", "action", "active_loop", "session_started", "restart",
                                  "pause", "resume", "followup", "reset_slots", "user_featurization"])
def test_every_event_type_resolves_to_the_same_class(name):
    expected = next(c for c in __import__("rasa.shared.utils.common", fromlist=["x"]).all_subclasses(events.Event)
                    if c.type_name == name)
    assert events.Event.resolve_by_type(name) is expected


def test_unknown_event_types_behave_as_before():
    assert events.Event.resolve_by_type("topic") is None
    assert events.Event.resolve_by_type("nonsense", default=events.SlotSet) is events.SlotSet
    with pytest.raises(ValueError):
        events.Event.resolve_by_type("nonsense")
