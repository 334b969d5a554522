"""Keeps the product's processes running: starts them, restarts one that dies, gives up only on one that keeps dying.

Each child's output (warnings, logs, tracebacks) goes to one log file (SERVE_LOG, else var/log/serve.log, mode 0600),
each line prefixed with the child's name; the supervisor's own events go there too ("[serve] ..."), and the last
lines of each child are kept in memory to show on screen when it fails.

A child that exits is started again after a backoff (1 s, 2 s, 4 s, ... at most 30 s) while the others keep serving.
When one has failed MAX_FAILURES times within WINDOW_SECONDS (5 in 2 minutes), the supervisor reports it with the last
lines of its log and stops everything: the caller exits non-zero.

Readiness is each child's health address answering (Rasa: GET /, the action server: GET /health, the web app:
GET /health), not merely its port being open.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Deque, Dict, List, Optional, TextIO
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

MAX_FAILURES = 5
WINDOW_SECONDS = 120.0
BACKOFF_START_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 30.0
TAIL_LINES = 40
POLL_SECONDS = 0.25


@dataclass
class Child:
    name: str  # short, in the log: "actions", "rasa", "web"
    label: str  # on screen: "action server"
    args: List[str]
    env: Dict[str, str]
    health_url: str
    popen: Optional[subprocess.Popen] = None
    up: bool = False
    starts: int = 0
    failures: Deque[float] = field(default_factory=collections.deque)
    next_start: Optional[float] = None  # when a restart is due (monotonic); None: running or not scheduled
    tail: Deque[str] = field(default_factory=lambda: collections.deque(maxlen=TAIL_LINES))
    last_code: Optional[int] = None
    # readiness other than an HTTP address (PostgreSQL under bot/cluster.py): a callable that says "ready"
    ready: Optional[Callable[[], bool]] = None

    def answers(self, timeout: float = 1.0) -> bool:
        """Whether it is ready: `ready()` when given, else its health address answers."""
        if self.ready is not None:
            try:
                return bool(self.ready())
            except Exception:  # a readiness probe that fails means "not ready"
                return False
        return answers(self.health_url, timeout=timeout)


def answers(url: str, timeout: float = 1.0) -> bool:
    """The address answers HTTP at all with a non-5xx status (a 404 still means the server is up)."""
    try:
        with urlopen(url, timeout=timeout) as response:  # noqa: S310 (our own local servers)
            return response.status < 500
    except HTTPError as exc:
        return exc.code < 500
    except (URLError, OSError, ValueError):
        return False


def open_log(path: Path) -> TextIO:
    """The log file, appended to, readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.chmod(str(path), 0o600)
    return os.fdopen(fd, "a", encoding="utf-8", errors="replace", buffering=1)


class GaveUp(Exception):
    """A child kept dying: the message says which, how often, and its last lines."""


class Supervisor:
    def __init__(
        self,
        children: List[Child],
        log_path: Path,
        cwd: Path,
        say: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True),
        max_failures: int = MAX_FAILURES,
        window_seconds: float = WINDOW_SECONDS,
        backoff_start: float = BACKOFF_START_SECONDS,
        backoff_cap: float = BACKOFF_CAP_SECONDS,
    ) -> None:
        self.children = children
        self.log_path = log_path
        self.cwd = cwd
        self.say = say
        self.max_failures = max_failures
        self.window_seconds = window_seconds
        self.backoff_start = backoff_start
        self.backoff_cap = backoff_cap
        self._log = open_log(log_path)
        self._log_lock = threading.Lock()
        self.started = False  # every child has answered once: from then on restarts are announced on screen

    # ------------------------------------------------------------------------------------------------ the log

    def log(self, name: str, line: str) -> None:
        with self._log_lock, contextlib.suppress(ValueError):  # ValueError: closed at shutdown
            self._log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} [{name}] {line.rstrip()}\n")

    def event(self, line: str, screen: bool = True) -> None:
        """The supervisor's own news: in the log, and on screen."""
        self.log("serve", line)
        if screen:
            self.say(line)

    def _pump(self, child: Child, stream) -> None:
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", errors="replace").rstrip("\n")
            child.tail.append(line)
            self.log(child.name, line)
        stream.close()

    def tail_text(self, child: Child, lines: int = 20) -> str:
        kept = list(child.tail)[-lines:]
        return "\n".join(f"    {line}" for line in kept) if kept else "    (it wrote nothing)"

    # ------------------------------------------------------------------------------------------------ processes

    def start(self, child: Child) -> None:
        child.popen = subprocess.Popen(
            child.args,
            cwd=self.cwd,
            env=child.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        child.starts += 1
        child.up = False
        child.next_start = None
        self.log("serve", f"started {child.name} (pid {child.popen.pid})")
        threading.Thread(
            target=self._pump, args=(child, child.popen.stdout), daemon=True, name=f"log-{child.name}"
        ).start()

    def start_all(self) -> None:
        for child in self.children:
            self.start(child)

    def _failed(self, child: Child, now: float) -> None:
        """`child` has exited: schedule its restart, or give up when it keeps dying."""
        assert child.popen is not None
        child.last_code = child.popen.returncode
        # anything it left behind in its session (a worker holding the port) goes with it
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(child.popen.pid, signal.SIGKILL)
        child.popen = None
        child.up = False
        child.failures.append(now)
        while child.failures and now - child.failures[0] > self.window_seconds:
            child.failures.popleft()
        count = len(child.failures)
        if count >= self.max_failures:
            message = (
                f"The {child.label} keeps stopping: it exited {count} times within "
                f"{self.window_seconds / 60:.0f} minutes (last exit code {child.last_code}). Stopping everything.\n"
                f"  Its last lines ({self.log_path}):\n{self.tail_text(child)}"
            )
            self.log("serve", message)
            raise GaveUp(message)
        delay = min(self.backoff_cap, self.backoff_start * 2 ** (count - 1))
        child.next_start = now + delay
        self.event(
            f"The {child.label} stopped (exit code {child.last_code}); restarting it in {delay:.0f} s "
            f"(failure {count} of {self.max_failures} allowed in {self.window_seconds / 60:.0f} minutes). "
            "The others keep serving.",
            screen=True,
        )

    def step(self) -> None:
        """One round: notice exits, start what is due, notice who answers. Raises GaveUp."""
        now = time.monotonic()
        for child in self.children:
            if child.popen is not None and child.popen.poll() is not None:
                self._failed(child, now)
            if child.popen is None and child.next_start is not None and now >= child.next_start:
                self.start(child)
            if child.popen is not None and not child.up and child.answers(timeout=0.5):
                child.up = True
                if child.starts > 1:
                    self.event(f"The {child.label} is back (restart {child.starts - 1}).", screen=self.started)

    def wait_until_up(self, timeout: float) -> None:
        """Every child answers; exits meanwhile count as failures (restarted with backoff). Raises GaveUp."""
        deadline = time.monotonic() + timeout
        while not all(child.up for child in self.children):
            if time.monotonic() > deadline:
                late = [child for child in self.children if not child.up]
                details = "\n".join(f"  {child.label}, its last lines:\n{self.tail_text(child)}" for child in late)
                message = (
                    f"Not ready after {timeout:.0f} s: {', '.join(c.label for c in late)} "
                    f"(full log: {self.log_path}).\n{details}"
                )
                self.log("serve", message)
                raise GaveUp(message)
            self.step()
            time.sleep(POLL_SECONDS)
        self.started = True

    def run_forever(self, stop: threading.Event) -> None:
        """Keeps the children running until `stop` is set. Raises GaveUp."""
        while not stop.is_set():
            self.step()
            stop.wait(POLL_SECONDS)

    def states(self) -> List[str]:
        """One line per child: its name, up or down, its health address."""
        width = max(len(child.label) for child in self.children)
        return [
            f"  {child.label:<{width}}  {'up' if child.up and child.answers() else 'down':<4}  {child.health_url}"
            for child in self.children
        ]

    def stop_all(self, grace: float = 10.0) -> None:
        running = [child.popen for child in self.children if child.popen is not None and child.popen.poll() is None]
        for popen in running:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGTERM)
        deadline = time.monotonic() + grace
        for popen in running:
            try:
                popen.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(popen.pid, signal.SIGKILL)
        self.log("serve", "stopped")
        with self._log_lock:
            self._log.close()
