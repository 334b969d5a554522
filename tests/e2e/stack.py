"""A real running assistant for tests: Rasa server + action server on free ports, on a fresh SQLite database."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

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

    @property
    def rasa_url(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def web_url(self) -> str:
        return f"http://localhost:{self.env['WEB_PORT']}"

    def start(self, timeout: float = 240.0) -> "Stack":
        if not MODEL.exists():
            raise RuntimeError(f"No trained model at {MODEL}: run `make test` (it trains first) or `make model`.")
        db = self.workdir / "clinic.db"
        self.env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{db}",
            "RASA_PORT": str(free_port()),
            "ACTIONS_PORT": str(free_port()),
            "WEB_PORT": str(free_port()),
            "RASA_TOKEN": "test-token",
            "RASA_TELEMETRY_ENABLED": "false",
            "TF_CPP_MIN_LOG_LEVEL": "3",
            **self.extra_env,
        }
        subprocess.run([PYTHON, "-m", "bot", "db", "upgrade"], cwd=ROOT, env=self.env, check=True,
                       capture_output=True)
        return self._launch(timeout)

    def restart(self, timeout: float = 240.0) -> "Stack":
        """Stop every process and start them again on the same database and ports."""
        self.stop()
        return self._launch(timeout)

    def _launch(self, timeout: float) -> "Stack":
        self.log_path = self.workdir / "stack.log"
        log = open(self.log_path, "wb")
        self.process = subprocess.Popen(
            [PYTHON, "-m", "bot", "serve", "--model", str(MODEL), "--timeout", str(timeout)]
            + ([] if self.with_web else ["--no-web"]),
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
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

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-6000:] if self.log_path else ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)

    def say(self, sender: str, text: str) -> List[Dict[str, Any]]:
        response = requests.post(
            f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def show(self, conversation_id: str) -> Optional[Dict[str, Any]]:
        done = subprocess.run(
            [PYTHON, "-m", "bot", "consultation", "show", conversation_id, "--json"],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )
        if done.returncode != 0:
            return None
        return json.loads(done.stdout)


def new_sender() -> str:
    return "test-" + uuid.uuid4().hex[:12]
