"""The command line as operators and the outside tests use it: `.venv/bin/python -m bot ...` in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict

from bot import store
from bot.store import migrate
from bot.web import staff_urls

from .conftest import conversation_events, count_events, judgement

ROOT = Path(__file__).resolve().parents[2]


def bot(*args: str, database_url: str, env: Dict[str, str] = None) -> subprocess.CompletedProcess:
    environment = dict(os.environ, DATABASE_URL=database_url, **(env or {}))
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )


def test_show_json_prints_the_contract(database_url: str, answers, now) -> None:
    done = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)

    result = bot("consultation", "show", done["id"], "--json", database_url=database_url)

    assert result.returncode == 0, result.stderr
    printed = json.loads(result.stdout)
    assert printed == staff_urls.with_urls(done)  # the store's record with the staff page's address
    assert printed["referral"]["transcript_url"].endswith(f"/staff/consultations/{done['id']}")
    assert printed["status"] == "complete" and printed["outcome"] == "defer"
    assert printed["reasons"] == [
        {"code": "pregnancy", "rule": "Rule pregnancy", "detail": "answered yes to pregnancy"}
    ]
    assert bot("consultation", "show", "chat-1", "--json", database_url=database_url).stdout == result.stdout


def test_show_unknown_id_exits_1_with_a_message(database_url: str) -> None:
    result = bot("consultation", "show", "no-such-id", "--json", database_url=database_url)

    assert result.returncode == 1
    assert result.stdout == ""
    assert "no consultation" in result.stderr and "no-such-id" in result.stderr


def test_show_without_json_is_readable_text(database_url: str, answers, now) -> None:
    done = store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)

    result = bot("consultation", "show", done["id"], database_url=database_url)

    assert result.returncode == 0, result.stderr
    assert "outcome:  defer" in result.stdout
    assert "[defer] pregnancy: Rule pregnancy" in result.stdout
    assert f"/staff/consultations/{done['id']}" in result.stdout


def test_db_upgrade_makes_and_keeps_the_schema(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'clinic.db'}"

    for _ in range(2):  # safe to run on every start
        result = bot("db", "upgrade", database_url=url)
        assert result.returncode == 0, result.stderr
        assert migrate.head_revision() in result.stdout
    assert (tmp_path / "var" / "clinic.db").exists()


def test_expire_uses_the_idle_minutes_given(database_url: str) -> None:
    from datetime import datetime, timedelta, timezone

    real_now = datetime.now(timezone.utc)  # the command runs on the real clock
    cid = store.record_answers("chat-1", {"name": "Jane"}, now=real_now - timedelta(minutes=30))

    kept = bot("consultation", "expire", "--idle-minutes", "45", database_url=database_url)
    assert kept.returncode == 0 and "abandoned 0" in kept.stdout
    assert store.show(cid)["status"] == "in_progress"
    expired = bot("consultation", "expire", database_url=database_url, env={"ABANDON_AFTER_MINUTES": "20"})
    assert expired.returncode == 0 and "abandoned 1" in expired.stdout
    assert store.show(cid)["status"] == "abandoned"


def test_data_export_erase_and_purge(database_url: str, answers, now, save_conversation) -> None:
    store.complete("chat-1", answers, judgement(("pregnancy", "defer")), now=now)
    save_conversation("chat-1", conversation_events(now.timestamp()))

    exported = bot("data", "export", "chat-1", database_url=database_url)
    assert exported.returncode == 0, exported.stderr
    data = json.loads(exported.stdout)
    assert len(data["consultations"]) == 1 and len(data["transcript"]) == 4
    assert bot("data", "export", "nobody", database_url=database_url).returncode == 1

    refused = bot("data", "erase", "chat-1", database_url=database_url)
    assert refused.returncode == 1 and "--yes" in refused.stderr
    assert store.show("chat-1") is not None

    erased = bot("data", "erase", "chat-1", "--yes", database_url=database_url)
    assert erased.returncode == 0, erased.stderr
    assert "erased 1 consultation(s)" in erased.stdout
    assert store.show("chat-1") is None and count_events(database_url, "chat-1") == 0

    purged = bot("data", "purge", "--older-than-days", "30", database_url=database_url)
    assert purged.returncode == 0 and purged.stdout.startswith("purged 0 consultation(s)")
    assert bot("data", "purge", "--older-than-days", "0", database_url=database_url).returncode == 2
