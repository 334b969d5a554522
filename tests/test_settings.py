"""settings.get() builds the settings once, and again only when what they are read from changes: a variable they
read, VAR_DIR, or a secret file kept in VAR_DIR that they read (tests change these between calls)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Dict, Iterator, List

import pytest

from bot import settings as settings_module


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setattr(settings_module, "VAR_DIR", tmp_path)
    for name in ("RASA_TOKEN", "WEB_SECRET", "CHAT_KEY"):
        monkeypatch.delenv(name, raising=False)
    settings_module.reset()
    yield tmp_path
    settings_module.reset()


def test_get_returns_the_same_object_while_nothing_changes(var_dir: Path) -> None:
    first = settings_module.get()
    assert settings_module.get() is first
    assert first == settings_module.from_env()


def test_get_builds_again_after_a_variable_it_reads_changes(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = settings_module.get()
    monkeypatch.setenv("ABANDON_AFTER_MINUTES", "7")
    changed = settings_module.get()
    assert changed is not first and changed.abandon_after_minutes == 7
    assert settings_module.get() is changed
    monkeypatch.setenv("DATABASE_URL", "sqlite:///elsewhere.db")
    assert settings_module.get().database_url == "sqlite:///elsewhere.db"
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("ABANDON_AFTER_MINUTES")
    assert settings_module.get() == first and settings_module.get().database_url.endswith("clinic.db")


def test_a_variable_it_does_not_read_changes_nothing(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = settings_module.get()
    monkeypatch.setenv("SOMETHING_UNRELATED", "x")
    assert settings_module.get() is first


def test_get_builds_again_for_another_var_dir(var_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first = settings_module.get()
    other = var_dir / "other"
    monkeypatch.setattr(settings_module, "VAR_DIR", other)
    second = settings_module.get()
    assert second is not first and second.database_url == f"sqlite:///{other / 'clinic.db'}"
    assert (other / "rasa-token").read_text() == second.rasa_token != first.rasa_token


def test_get_builds_again_when_a_kept_secret_file_changes(var_dir: Path) -> None:
    first = settings_module.get()
    kept = var_dir / "web-secret"
    assert kept.read_text() == first.web_secret
    kept.unlink()
    second = settings_module.get()
    assert second is not first and second.web_secret != first.web_secret
    assert kept.read_text() == second.web_secret and settings_module.get() is second
    # replaced by another process: a new file, even of the same size
    replacement = var_dir / "web-secret.new"
    replacement.write_text("r" * len(second.web_secret))
    os.replace(replacement, kept)
    assert settings_module.get().web_secret == "r" * len(second.web_secret)


def test_a_kept_file_is_not_looked_at_when_its_variable_is_set(var_dir: Path, monkeypatch) -> None:
    monkeypatch.setenv("WEB_SECRET", "w" * 20)
    first = settings_module.get()
    (var_dir / "web-secret").write_text("ignored")
    assert settings_module.get() is first and first.web_secret == "w" * 20


def test_reset_forgets_the_settings(var_dir: Path) -> None:
    first = settings_module.get()
    settings_module.reset()
    again = settings_module.get()
    assert again is not first and again == first


def test_env_names_lists_every_variable_from_env_reads() -> None:
    class Recording(Dict[str, str]):
        read: List[str] = []

        def get(self, key, default=None):  # type: ignore[override]
            self.read.append(key)
            return super().get(key, default)

    settings_module.from_env(Recording(WEB_SECRET="s" * 20, RASA_TOKEN="t" * 40, CHAT_KEY="k" * 40))
    assert set(Recording.read) == set(settings_module.ENV_NAMES)


def test_the_environment_is_read_as_os_environ_has_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_FROM", "Ciarán <c@clinic.example>")
    monkeypatch.setenv("NOTIFY_TO", "")
    monkeypatch.delenv("SMTP_URL", raising=False)
    values = settings_module._env_values()
    public = tuple(os.environ.get(name) for name in settings_module.ENV_NAMES)
    assert [value is None for value in values] == [value is None for value in public]
    assert [bool(value) for value in values] == [bool(value) for value in public]
    monkeypatch.setenv("MAIL_FROM", "other@clinic.example")
    assert settings_module._env_values() != values
