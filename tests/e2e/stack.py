"""A real running assistant for tests: Rasa server + action server on free ports, on a fresh SQLite database.

Chat goes through `say(sender, text)`: `sender` is the test's own name for a conversation (`new_sender()`, a
simulator seed's name...); the first time a name is used the Stack asks the REST channel for an issued conversation
(`POST /webhooks/rest/session`: an id and its secret), keeps the pair for that name, and sends the secret with every
message. `conversation_id(sender)` is the id the server gave it (what the store and staff pages know), and `show`
and `tracker` take either. Rasa's HTTP API is called with `api_headers()` (a JWT signed with the stack's random
RASA_TOKEN), never a token in a URL.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import requests

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "clinic.tar.gz"
PYTHON = sys.executable


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Stack:
    workdir: Path
    env: Dict[str, str] = field(default_factory=dict)
    process: Optional[subprocess.Popen] = None
    log_path: Optional[Path] = None
    with_web: bool = False
    extra_env: Dict[str, str] = field(default_factory=dict)
    # test name of a conversation -> (issued conversation id, its secret)
    chats: Dict[str, Tuple[str, str]] = field(default_factory=dict)
    _chats_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def web_url(self) -> str:
        return f"http://localhost:{self.env['WEB_PORT']}"

    def start(self, timeout: float = 240.0) -> Stack:
        if not MODEL.exists():
            raise RuntimeError(f"No trained model at {MODEL}: run `make test` (it trains first) or `make model`.")
        db = self.workdir / "clinic.db"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db}",
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            "RASA_TOKEN": secrets.token_urlsafe(32),  # random and strong: `serve` refuses a weak one
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            # Tests drive the chat through the web app at machine speed: the chat limits out of the way (the security
            # tests set the real ones).
            "CHAT_RATE_CONVERSATION": "100000/1s",
            "CHAT_RATE_ADDRESS": "100000/1s",
            # the children's output (warnings, logs): here, not in the repo's var/log (bot/supervisor.py)
            "SERVE_LOG": str(self.workdir / "serve.log"),
            **self.extra_env,
        }
        subprocess.run([PYTHON, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=self.env, check=True, capture_output=True)
        return self._launch(timeout)

    def restart(self, timeout: float = 240.0) -> Stack:
        """Stop every process and start them again on the same database and ports."""
        self.stop()
        return self._launch(timeout)

    def _launch(self, timeout: float) -> Stack:
        self.log_path = self.workdir / "stack.log"
        with open(self.log_path, "wb") as log:  # the child keeps its own copy of the file
            self.process = subprocess.Popen(
                [PYTHON, "-m", "bot", "serve", "--model", str(MODEL), "--timeout", str(timeout)]
                + ([] if self.with_web else ["--no-web"]),
                cwd=ROOT,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the stack exited while starting:\n{self.log()}")
            if b"is running" in self.log_path.read_bytes():
                return self
            time.sleep(0.5)
        self.stop()
        raise RuntimeError(f"the stack did not start in {timeout}s:\n{self.log()}")

    def output(self) -> str:
        """What `python -m bot serve` itself printed (stdout and stderr) since its last start."""
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def serve_log(self) -> str:
        """The children's output and the supervisor's events (SERVE_LOG)."""
        path = Path(self.env.get("SERVE_LOG", "")) if self.env else None
        return path.read_text(errors="replace") if path and path.is_file() else ""

    def log(self) -> str:
        """The end of the supervisor's output and of its children's log: what a failure message should show."""
        own = self.output()[-3000:]
        children = self.serve_log()[-5000:]
        return f"{own}\n--- children's log ({self.env.get('SERVE_LOG')}), its end:\n{children}" if children else own

    def child_pid(self, name: str) -> int:
        """The pid of the supervisor's child `name` ("actions", "rasa", "web") as last started (from SERVE_LOG)."""
        marker = f"[serve] started {name} (pid "
        found = [line for line in self.serve_log().splitlines() if marker in line]
        if not found:
            raise RuntimeError(f"{name} was never started:\n{self.log()}")
        return int(found[-1].split(marker, 1)[1].rstrip(")"))

    def kill_child(self, name: str) -> int:
        """kill -9 one of the supervisor's children; returns its pid."""
        pid = self.child_pid(name)
        os.kill(pid, signal.SIGKILL)
        return pid

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def issue(self) -> Tuple[str, str]:
        """A new conversation from the REST channel: (conversation id, secret)."""
        response = requests.post(f"{self.rasa_url}/webhooks/rest/session", timeout=30)
        response.raise_for_status()
        issued = response.json()
        return issued["sender"], issued["secret"]

    def new_sender(self) -> str:
        """An issued conversation id, usable as its own name."""
        conversation_id, secret = self.issue()
        with self._chats_lock:
            self.chats[conversation_id] = (conversation_id, secret)
        return conversation_id

    def chat(self, sender: str) -> Tuple[str, str]:
        """The issued (id, secret) of the conversation this test calls `sender`, issued on first use."""
        with self._chats_lock:
            known = self.chats.get(sender)
        if known is None:
            issued = self.issue()
            with self._chats_lock:
                known = self.chats.setdefault(sender, issued)
        return known

    def conversation_id(self, sender: str) -> str:
        """The id the server issued for `sender` (the store's conversation id); `sender` itself if never used."""
        with self._chats_lock:
            known = self.chats.get(sender)
        return known[0] if known else sender

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        conversation_id, secret = self.chat(sender)
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook",
            json={"sender": conversation_id, "secret": secret, "message": text},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    def api_headers(self) -> Dict[str, str]:
        """Authorization for Rasa's HTTP API: a JWT signed with this stack's RASA_TOKEN."""
        from bot import rasa_api

        return rasa_api.headers(self.env["RASA_TOKEN"])

    def tracker(self, sender: str, include_events: str = "ALL", session: Any = requests) -> Dict[str, Any]:
        response = session.get(
            f"{self.rasa_url}/conversations/{self.conversation_id(sender)}/tracker",
            params={"include_events": include_events},
            headers=self.api_headers(),
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    def show(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        done = subprocess.run(
            [PYTHON, "-m", "bot", "consultation", "show", self.conversation_id(conversation_id), "--json"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            return None
        return json.loads(done.stdout)


def new_sender() -> str:
    return "test-" + uuid.uuid4().hex[:12]
