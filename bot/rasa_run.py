"""`python -m bot.rasa_run ARGS`: Rasa's own command line (`rasa ARGS`), with two fixes for cost per turn and the
HTTP API's credential given inside the process.

The API's credential: with `run --enable-api`, the JWT secret (RASA_TOKEN, else var/rasa-token; a known default or
a short one is refused) is added to this process's own argument list as `--jwt-secret ... --jwt-method HS256`. A
change of sys.argv inside the process is not what `ps` shows (that is the command line it was started with), so the
secret is in no command line; serve.py passes none. Callers sign a JWT with it (bot/rasa_api.py) and send it as
`Authorization: Bearer`; no `--auth-token` is given, so Rasa accepts no `?token=` in a URL. Writes to
`/conversations/...` must be `application/json` (415 otherwise): a cross-site form (text/plain) is refused even
before the missing header is.

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
from typing import Any, Dict, List, Optional

# The patches below replace private Rasa methods as they are in this release series (requirements.lock pins 3.6.21).
SUPPORTED_RASA = "3.6."


def rasa_version_problem(version: Optional[str] = None) -> Optional[str]:
    """Why the installed Rasa cannot be patched (not the pinned 3.6.x), else None."""
    if version is None:
        import rasa

        version = getattr(rasa, "__version__", "unknown")
    if str(version).startswith(SUPPORTED_RASA):
        return None
    return (
        f"bot.rasa_run patches private methods of Rasa {SUPPORTED_RASA}x (pinned in requirements.lock), "
        f"but Rasa {version} is installed; install the pinned version (make run recreates .venv from "
        "requirements.lock) or re-check the patches in bot/rasa_run.py against this Rasa first"
    )


def require_supported_rasa() -> None:
    """Exit (status 1, with the reason) on a Rasa other than the pinned 3.6.x, before anything is patched."""
    problem = rasa_version_problem()
    if problem:
        raise SystemExit(f"Refusing to start: {problem}")


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


API_WRITE_METHODS = ("POST", "PUT", "PATCH")
JSON_REQUIRED = {"error": "json_required", "message": "Writes to the HTTP API must be sent as application/json."}


def patch_api_json_writes() -> None:
    """Rasa's API refuses a write to /conversations/... that is not application/json (415)."""
    from rasa import server
    from sanic import response

    if getattr(server.create_app, "_json_writes_only", False):
        return
    original = server.create_app

    def create_app(*args: Any, **kwargs: Any) -> Any:
        app = original(*args, **kwargs)

        @app.middleware("request")
        async def json_writes_only(request: Any) -> Any:
            if request.method in API_WRITE_METHODS and request.path.startswith("/conversations/"):
                kind = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
                if kind != "application/json":
                    return response.json(JSON_REQUIRED, status=415)
            return None

        return app

    create_app._json_writes_only = True  # type: ignore[attr-defined]
    server.create_app = create_app


def with_api_secret(argv: List[str]) -> List[str]:
    """argv with `--jwt-secret TOKEN --jwt-method HS256` when it runs the server with the API; exits on a weak token."""
    if len(argv) < 2 or argv[1] != "run" or "--enable-api" not in argv or "--jwt-secret" in argv:
        return argv
    from bot import rasa_api
    from bot import settings as settings_module

    token = settings_module.get().rasa_token
    problem = rasa_api.weak_token_problem(token)
    if problem:
        raise SystemExit(f"Refusing to start Rasa's HTTP API: {problem}; {rasa_api.WEAK_TOKEN_HELP}")
    return argv + ["--jwt-secret", token, "--jwt-method", "HS256"]


def main() -> None:
    require_supported_rasa()
    from bot.redact import install_log_escaping

    install_log_escaping()
    patch_action_response_validation()
    patch_event_type_lookup()
    patch_api_json_writes()
    from rasa.__main__ import main as rasa_main

    sys.argv[:] = with_api_secret(["rasa", *sys.argv[1:]])
    rasa_main()


if __name__ == "__main__":
    main()
