"""`python -m bot.rasa_run ARGS`: Rasa's own command line (`rasa ARGS`), with two fixes for cost per turn.

Measured with py-spy on the Rasa server under load (bench/speed.py):
- every action server response is checked with `jsonschema.validate`, which re-checks the constant response schema
  itself on every call (40% of the server's time). It is validated here against the same schema, with the same
  error, through a validator built once.
- reading a tracker back from the tracker store looks up each event's class by walking every subclass of `Event`
  with `inspect` for every event (11%). The same lookup here uses a table built from those subclasses, rebuilt if a
  type name is not found (so event classes defined later are still found).
"""
from __future__ import annotations

import sys
from typing import Any, Dict


def patch_action_response_validation() -> None:
    from jsonschema import ValidationError, exceptions
    from jsonschema.validators import validator_for
    from rasa.core.actions import action

    spec = action.RemoteAction.action_response_format_spec()
    validator_class = validator_for(spec)
    validator_class.check_schema(spec)
    validator = validator_class(spec)
    docs = action.DOCS_BASE_URL

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        error = exceptions.best_match(validator.iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (
            ". Failed to validate Action server response from API, make sure your response from the Action "
            f"endpoint is valid. For more information about the format visit {docs}/custom-actions"
        )
        raise error

    action.RemoteAction._validate_action_result = _validate_action_result


def patch_event_type_lookup() -> None:
    from rasa.shared.core import events
    from rasa.shared.utils.common import all_subclasses

    original = events.Event.resolve_by_type
    table: Dict[str, Any] = {}

    def resolve_by_type(type_name: str, default: Any = None) -> Any:
        found = table.get(type_name)
        if found is None:
            for cls in all_subclasses(events.Event):
                table.setdefault(cls.type_name, cls)
            found = table.get(type_name)
        if found is not None:
            return found
        return original(type_name, default)

    events.Event.resolve_by_type = staticmethod(resolve_by_type)


def main() -> None:
    patch_action_response_validation()
    patch_event_type_lookup()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
