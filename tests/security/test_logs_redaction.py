"""Issue 9, finding 7 (and 6's unmasked URL): what reaches a log line.

A sender id with a newline must not forge a line; a database error must not carry its statement's parameters
(names, medicines); a URL with a password is shown masked.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import redact
from bot.store import db

ROOT = Path(__file__).resolve().parents[2]
FORGED_SENDER = "chat-1\nINFO forged: staff admin logged in"
SECRET_VALUE = "Warfarin-Zq81 for Quillon Vantablack"


def env() -> dict:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RASA_TELEMETRY_ENABLED": "false",
        "TF_CPP_MIN_LOG_LEVEL": "3",
        "WEB_SECRET": "test-web-secret-" + "x" * 16,
    }


LOG_A_SENDER = (
    "import logging, sys\n"
    "logging.basicConfig(stream=sys.stdout, level=logging.INFO, format='%(levelname)s %(message)s')\n"
    "logging.getLogger('actions.session').info('message from sender_id=%s', {sender!r})\n"
    "logging.getLogger('bot').warning({sender!r})\n"
    "logging.getLogger('bot').error('failed: %s', ValueError({sender!r}))\n"
)


@pytest.mark.parametrize(
    "start",
    [
        "import bot.__main__ as m\ntry:\n    m.main(['--help'])\nexcept SystemExit:\n    pass\n",
        "import actions\n",
        "import uvicorn, argparse\nuvicorn.run = lambda *a, **k: None\nfrom bot.web import cli\n"
        "cli._serve(argparse.Namespace(port=1, host='127.0.0.1'))\n",
    ],
    ids=["python -m bot", "action server", "web serve"],
)
def test_a_sender_id_with_a_newline_makes_one_log_line(start: str) -> None:
    code = start + LOG_A_SENDER.format(sender=FORGED_SENDER)
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env(), capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = [line for line in done.stdout.splitlines() if "chat-1" in line or "forged" in line]

    assert len(lines) == 3, done.stdout
    assert not any(line.startswith("INFO forged") for line in done.stdout.splitlines())
    assert all("chat-1\\nINFO forged" in line for line in lines)


def test_escaping_in_process() -> None:
    redact.install_log_escaping()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    logger = logging.getLogger("tests.security.forge")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("sender %s sent %d messages (%r)", FORGED_SENDER, 3, {"k": 1})
        logger.warning("by dict %(who)s", {"who": FORGED_SENDER})
    finally:
        logger.removeHandler(handler)
    assert stream.getvalue().count("\n") == 2
    assert "sent 3 messages ({'k': 1})" in stream.getvalue()


@pytest.fixture
def failing_statement(database_url: str):
    def run(kind: str) -> Exception:
        with pytest.raises(sa.exc.DBAPIError) as caught, db.session_scope() as session:
            if kind == "operational":
                session.execute(sa.text("SELECT * FROM no_such_table WHERE name = :name"), {"name": SECRET_VALUE})
            else:
                from bot.store.staff import StaffUser

                now = db.utcnow()
                for _ in range(2):
                    session.add(
                        StaffUser(
                            email="dup@clinic.example",
                            password_hash=SECRET_VALUE,
                            role="reception",
                            active=True,
                            created_at=now,
                            updated_at=now,
                        )
                    )
                    session.flush()
        return caught.value

    return run


@pytest.mark.parametrize("kind", ["operational", "integrity"])
def test_a_database_error_does_not_carry_its_parameters(failing_statement, kind, caplog) -> None:
    exc = failing_statement(kind)
    logging.getLogger("bot.test").exception("store failed: %s", exc, exc_info=exc)

    assert SECRET_VALUE not in str(exc)
    assert "parameters hidden" in str(exc)
    assert SECRET_VALUE not in caplog.text


def test_every_engine_hides_parameters(database_url: str) -> None:
    from rasa.shared.core.domain import Domain

    from bot.store.tracker_store import DatabaseTrackerStore

    assert db.get_engine().hide_parameters is True
    assert DatabaseTrackerStore(domain=Domain.empty()).engine.hide_parameters is True


@pytest.mark.parametrize(
    "url, shown",
    [
        ("postgresql://clinic:s3cret@db.internal/clinic", "postgresql://clinic:***@db.internal/clinic"),
        ("postgresql://clinic:s3#c/r?t@db.internal:5432/clinic", "postgresql://clinic:***@db.internal:5432/clinic"),
        ("smtp+starttls://mailer:hunter2@mail.example:587", "smtp+starttls://mailer:***@mail.example:587"),
        ("https://hooks.example/x?api_key=abc123&to=1", "https://hooks.example/x?api_key=***&to=1"),
        ("sqlite:////srv/var/clinic.db", "sqlite:////srv/var/clinic.db"),
        ("http://localhost:8000/staff/a@b", "http://localhost:8000/staff/a@b"),
    ],
)
def test_urls_are_masked_for_display(url: str, shown: str) -> None:
    assert redact.mask_url(url) == shown
    assert db.url_for_display(url) == shown
