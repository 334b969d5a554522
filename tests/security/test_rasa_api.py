"""Finding 1: Rasa's HTTP API was open to the network with a known token, in `ps` and in URLs.

Now: Rasa listens on loopback; its API takes only a JWT (signed with a strong RASA_TOKEN) in a header, never a token
in a URL; writes need JSON; the secret is on no command line; serve refuses a known-default or short token."""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import stat
import subprocess
import sys
import warnings
from pathlib import Path
from typing import List, Set

import jwt
import pytest
import requests

from bot import rasa_api, rasa_pause
from bot import settings as settings_module
from tests.e2e.stack import MODEL, ROOT, Stack

OLD_DEFAULT = "dev-token-change-me"


def _signed_with_old_default() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT rightly warns that the key is short: that is the point
        return jwt.encode({"user": {"username": "x", "role": "admin"}}, OLD_DEFAULT, algorithm="HS256")


def tracker_url(stack: Stack, sender: str) -> str:
    return f"{stack.rasa_url}/conversations/{stack.conversation_id(sender)}/tracker"


@pytest.fixture(scope="module")
def client(stack: Stack) -> str:
    """A conversation with a stored answer (the name) that nobody else may read or change."""
    for text in ("hi", "/affirm", "Grace Hope"):
        stack.say("victim", text)
    assert stack.tracker("victim", "NONE")["slots"]["name"] == "Grace Hope"
    return "victim"


@pytest.mark.parametrize(
    "params, headers",
    [
        ({}, {}),  # no credential at all
        ({"token": OLD_DEFAULT}, {}),  # the old default from the README
        ({"token": "test-token"}, {}),
        ({"token": "STACK"}, {}),  # even the real secret is not accepted in a URL
        ({}, {"Authorization": f"Bearer {OLD_DEFAULT}"}),
        ({}, {"Authorization": "Bearer " + _signed_with_old_default()}),  # a JWT signed with the old default
    ],
)
def test_the_tracker_is_refused_without_the_jwt(stack: Stack, client: str, params: dict, headers: dict) -> None:
    params = {k: stack.env["RASA_TOKEN"] if v == "STACK" else v for k, v in params.items()}
    response = requests.get(tracker_url(stack, client), params=params, headers=headers, timeout=30)
    assert response.status_code == 401, response.text
    assert "Grace Hope" not in response.text


def test_the_tracker_is_served_with_the_jwt_in_a_header(stack: Stack, client: str) -> None:
    response = requests.get(tracker_url(stack, client), headers=stack.api_headers(), timeout=30)
    assert response.status_code == 200 and response.json()["slots"]["name"] == "Grace Hope"


def test_a_user_role_jwt_reads_no_other_conversation(stack: Stack, client: str) -> None:
    token = jwt.encode(
        {"user": {"username": "someone-else", "role": "user"}}, stack.env["RASA_TOKEN"], algorithm="HS256"
    )
    response = requests.get(tracker_url(stack, client), headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert response.status_code == 403


@pytest.mark.parametrize("credential", ["none", "old-default-query", "jwt"])
def test_a_cross_site_text_plain_post_to_tracker_events_is_refused(stack: Stack, client: str, credential: str) -> None:
    # What a form on another website can send: text/plain, an Origin, no custom header (but maybe ?token=).
    params = {"token": OLD_DEFAULT} if credential == "old-default-query" else {}
    headers = {"Content-Type": "text/plain", "Origin": "https://evil.example"}
    if credential == "jwt":  # even with the credential, a write must be JSON
        headers.update(stack.api_headers())
    body = '[{"event": "slot", "name": "name", "value": "Changed By Someone Else"}]'
    for method in ("POST", "PUT"):
        response = requests.request(
            method, tracker_url(stack, client) + "/events", params=params, data=body, headers=headers, timeout=30
        )
        assert response.status_code in (401, 415), response.text
    assert stack.tracker(client, "NONE")["slots"]["name"] == "Grace Hope"


def _listening(port: int) -> List[str]:
    """The local addresses of sockets listening on `port` (from /proc/net/tcp and tcp6)."""
    found = []
    for table, width in (("/proc/net/tcp", 8), ("/proc/net/tcp6", 32)):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            fields = line.split()
            address, hex_port = fields[1].split(":")
            if fields[3] != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(address)
            if width == 8:
                found.append(str(ipaddress.IPv4Address(raw[::-1])))
            else:
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                found.append(str(ipaddress.IPv6Address(words)))
    return found


def non_loopback_addresses() -> Set[str]:
    found: Set[str] = set()
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        found.update(subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=10).stdout.split())
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # no packet is sent for a UDP connect; it only picks the route
            found.add(sock.getsockname()[0])
        except OSError:
            pass
    return {a for a in found if not ipaddress.ip_address(a).is_loopback and not a.startswith("0.")}


def test_rasa_listens_on_loopback_only(stack: Stack) -> None:
    port = int(stack.env["RASA_PORT"])
    assert _listening(port) == ["127.0.0.1"]
    for address in non_loopback_addresses():
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            assert sock.connect_ex((address, port)) != 0, f"Rasa answers on {address}:{port}"
    # the action server too; the chat reaches browsers through the web app only
    assert _listening(int(stack.env["ACTIONS_PORT"])) == ["127.0.0.1"]


def descendants(pid: int) -> List[int]:
    """Every process started (directly or not) by `pid`, from /proc/*/stat."""
    children: dict = {}
    for path in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = path.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        children.setdefault(int(fields[1]), []).append(int(path.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def test_the_secret_is_on_no_command_line(stack: Stack) -> None:
    token = stack.env["RASA_TOKEN"]
    assert stack.process is not None
    ours = {str(pid) for pid in [stack.process.pid, *descendants(stack.process.pid)]}
    shown = subprocess.run(["ps", "-eww", "-o", "pid=,args="], capture_output=True, text=True, check=True).stdout
    lines = [line.strip() for line in shown.splitlines() if line.split(None, 1)[0] in ours]
    rasa = [line for line in lines if "bot.rasa_run" in line]
    assert len(lines) >= 4 and rasa, f"the stack's processes are not running? {lines}"
    assert all("--jwt-secret" not in line and "--auth-token" not in line for line in rasa)
    assert token not in shown  # nor in any other process's
    for pid in ours:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError):
            continue
        assert token.encode() not in cmdline, pid
    assert token not in stack.log()


def test_our_own_caller_of_the_api_uses_the_header(stack: Stack, client: str) -> None:
    settings = settings_module.from_env(stack.env)
    assert rasa_pause.is_paused(stack.conversation_id(client), settings) is False
    rasa_pause.hand_back(stack.conversation_id(client), settings)  # a JSON write with the JWT: accepted


def test_a_strong_token_is_made_once_and_kept_private(tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(settings_module, "VAR_DIR", tmp_path)
    first = settings_module.from_env({}).rasa_token
    kept = tmp_path / "rasa-token"
    assert kept.read_text() == first and rasa_api.weak_token_problem(first) is None
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert settings_module.from_env({}).rasa_token == first
    chat_key = tmp_path / "chat-key"
    assert stat.S_IMODE(chat_key.stat().st_mode) == 0o600 and len(chat_key.read_text()) >= 32


@pytest.mark.parametrize("token", [OLD_DEFAULT, "test-token", "short-but-not-default"])
def test_serve_refuses_a_known_default_or_short_token(tmp_path, token: str) -> None:
    if not MODEL.exists():
        pytest.fail(f"no trained model at {MODEL}: run `make model`", pytrace=False)
    env = {**os.environ, "RASA_TOKEN": token, "VAR_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--no-web", "--model", str(MODEL)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert "Refusing to start" in done.stderr and "RASA_TOKEN" in done.stderr and "var/rasa-token" in done.stderr
    assert "is running" not in done.stdout


def test_the_rasa_child_refuses_a_weak_token_too(monkeypatch) -> None:
    from bot import rasa_run

    monkeypatch.setenv("RASA_TOKEN", OLD_DEFAULT)
    with pytest.raises(SystemExit) as refused:
        rasa_run.with_api_secret(["rasa", "run", "--enable-api"])
    assert "known default" in str(refused.value)
    strong = "s" * 40
    monkeypatch.setenv("RASA_TOKEN", strong)
    assert rasa_run.with_api_secret(["rasa", "run", "--enable-api"])[-4:] == [
        "--jwt-secret",
        strong,
        "--jwt-method",
        "HS256",
    ]
    assert rasa_run.with_api_secret(["rasa", "train"]) == ["rasa", "train"]
