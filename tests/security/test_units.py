"""The pieces on their own: issued ids and secrets, the token bucket, the client address, the settings."""

from __future__ import annotations

import pytest

from bot import rasa_api
from bot import settings as settings_module
from bot.chat import ownership

KEY = "k" * 43


def test_only_the_issued_secret_opens_a_conversation() -> None:
    issued = ownership.issue(KEY)
    assert ownership.verify(KEY, issued.conversation_id, issued.secret)
    assert not ownership.verify(KEY, issued.conversation_id, None)
    changed = issued.secret[:-1] + ("1" if issued.secret.endswith("0") else "0")  # always another secret
    assert changed != issued.secret
    assert not ownership.verify(KEY, issued.conversation_id, changed)
    assert not ownership.verify("x" * 43, issued.conversation_id, issued.secret)  # another server's key
    assert not ownership.verify(KEY, "web-never-issued", issued.secret)
    assert ownership.issue(KEY).conversation_id != issued.conversation_id


def test_the_bucket_takes_a_burst_then_its_rate() -> None:
    bucket = ownership.RateLimiter(settings_module.ChatRate(10, 10.0))
    assert [bucket.allow("c", now=0.0)[0] for _ in range(12)] == [True] * 10 + [False] * 2
    assert bucket.allow("c", now=0.0)[1] == pytest.approx(1.0)
    assert bucket.allow("c", now=1.01)[0] and not bucket.allow("c", now=1.02)[0]
    assert bucket.allow("other", now=0.0)[0]
    # typing normally: a message every 2 s for an hour
    steady = ownership.RateLimiter(settings_module.ChatRate(10, 10.0))
    assert all(steady.allow("c", now=2.0 * i)[0] for i in range(1800))


def test_forwarded_for_is_believed_only_from_trusted_proxies() -> None:
    assert ownership.client_address("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"
    assert ownership.client_address("127.0.0.1", "198.51.100.1", ()) == "127.0.0.1"
    assert ownership.client_address("10.0.0.5", "198.51.100.1, 10.0.0.7", ("10.0.0.0/8",)) == "198.51.100.1"
    assert ownership.client_address("203.0.113.9", "198.51.100.1", ("10.0.0.0/8",)) == "203.0.113.9"


def test_chat_rate_settings() -> None:
    assert settings_module._chat_rate({"X": "20/1s"}, "X", "1/1s") == (20, 1.0)
    assert settings_module._chat_rate({}, "X", "10/10s") == (10, 10.0)
    assert settings_module._chat_rate({"X": "30/1m"}, "X", "1/1s") == (30, 60.0)
    for bad in ("fast", "0/1s", "5/0s"):
        with pytest.raises(settings_module.SettingsError):
            settings_module._chat_rate({"X": bad}, "X", "1/1s")


def test_weak_tokens() -> None:
    assert rasa_api.weak_token_problem("dev-token-change-me") == "RASA_TOKEN is a known default"
    assert "shorter" in rasa_api.weak_token_problem("x" * 31)
    assert rasa_api.weak_token_problem("x" * 32) is None


def test_rasa_on_all_interfaces_is_called_on_loopback() -> None:
    base = settings_module.from_env({"RASA_HOST": "0.0.0.0", "RASA_PORT": "5099"})
    assert rasa_api.base_url(base) == "http://127.0.0.1:5099"
    assert rasa_api.base_url(settings_module.from_env({"RASA_PORT": "5099"})) == "http://127.0.0.1:5099"
