"""A client of the clinic's chat through the web app, as the widget talks to it: a conversation issued by
POST /chat/session, messages through the proxy, and the live stream (POST /chat/stream) read as server-sent events
in a thread, reconnecting from the last event id as the widget does. Used by the end-to-end tests and
bench/live_latency.py."""

from __future__ import annotations

import contextlib
import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import requests


@dataclass
class StreamEvent:
    kind: str
    data: Dict[str, Any]
    received: float  # time.monotonic() when it arrived


@dataclass
class LiveClient:
    web_url: str
    sender: str = ""
    secret: str = ""
    after: int = 0
    headers: Dict[str, str] = field(default_factory=dict)  # of the last reply
    events: queue.Queue[StreamEvent] = field(default_factory=queue.Queue)
    seen_ids: List[int] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: Optional[threading.Thread] = None
    _response: Any = None
    reconnects: int = 0
    ended: bool = False
    history: List[StreamEvent] = field(default_factory=list)  # every stream event received, in order
    _matched: int = 0

    def start(self) -> LiveClient:
        issued = requests.post(f"{self.web_url}/chat/session", json={}, timeout=30)
        issued.raise_for_status()
        self.sender, self.secret = issued.json()["sender"], issued.json()["secret"]
        return self

    def say(self, text: str, message_id: Optional[str] = None) -> List[Dict[str, Any]]:
        body = {"sender": self.sender, "secret": self.secret, "message": text}
        if message_id:
            body["message_id"] = message_id
        for _attempt in range(60):  # 503 "one moment" while a process restarts: the widget retries the same id
            response = requests.post(f"{self.web_url}/webhooks/rest/webhook", json=body, timeout=90)
            if response.status_code not in (502, 503, 504):
                break
            time.sleep(1)
        if response.status_code >= 400:
            raise AssertionError(f"{response.status_code} after {text!r}: {response.text[:300]}")
        self.headers = dict(response.headers)
        if "X-Chat-Last-Event" in response.headers and self._thread is None:
            self.after = max(self.after, int(response.headers["X-Chat-Last-Event"]))
        return response.json()

    @property
    def live(self) -> Optional[str]:
        return self.headers.get("X-Chat-Live") or self.headers.get("x-chat-live")

    # -- the stream -----------------------------------------------------------------------------------------------

    def open_stream(self) -> LiveClient:
        self._stop.clear()
        self.ended = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        self._stop.set()
        if self._response is not None:
            with contextlib.suppress(Exception):
                self._response.close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._thread = None

    def _run(self) -> None:
        delay = 0.2
        while not self._stop.is_set():
            outcome = None
            try:
                with requests.post(
                    f"{self.web_url}/chat/stream",
                    stream=True,
                    timeout=(5, 60),
                    json={"sender": self.sender, "secret": self.secret, "after": self.after},
                ) as resp:
                    self._response = resp
                    if resp.status_code != 200:
                        raise ConnectionError(f"HTTP {resp.status_code}")
                    delay = 0.2
                    outcome = self._read(resp)
            except Exception:
                outcome = None
            if outcome == "end" or self._stop.is_set():
                self.ended = outcome == "end"
                return
            if outcome != "again":
                self.reconnects += 1
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    def _read(self, resp: Any) -> Optional[str]:
        kind, data = "message", ""
        for raw in resp.iter_lines(chunk_size=1, decode_unicode=True):
            if self._stop.is_set():
                return None
            line = raw if isinstance(raw, str) else raw.decode()
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                data += line[6:]
            elif line == "":
                if data:
                    body = json.loads(data)
                    if kind == "message":
                        if body["id"] <= self.after:  # never twice
                            kind, data = "message", ""
                            continue
                        self.after = body["id"]
                        self.seen_ids.append(body["id"])
                    self.events.put(StreamEvent(kind, body, time.monotonic()))
                    if kind in ("end", "again"):
                        return kind
                kind, data = "message", ""
        return None

    def mark(self) -> int:
        """A place in the stream's history: wait_for(..., since=mark) looks at what came after it."""
        self._collect()
        return len(self.history)

    def _collect(self) -> None:
        while True:
            try:
                self.history.append(self.events.get_nowait())
            except queue.Empty:
                return

    def wait_for(self, predicate: Any, timeout: float = 30.0, since: Optional[int] = None) -> StreamEvent:
        """The first stream event after `since` (default: after the last one matched) matching predicate(event)."""
        start = self._matched if since is None else since
        deadline = time.monotonic() + timeout
        while True:
            self._collect()
            for index in range(start, len(self.history)):
                if predicate(self.history[index]):
                    self._matched = index + 1
                    return self.history[index]
            start = max(start, len(self.history))
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    "no matching stream event in time; seen: "
                    + "; ".join(f"{e.kind} {e.data}" for e in self.history[-8:])
                )
            with contextlib.suppress(queue.Empty):
                self.history.append(self.events.get(timeout=min(left, 0.5)))


def message(author: str, contains: str = "") -> Any:
    return lambda e: e.kind == "message" and e.data["author"] == author and contains.lower() in e.data["text"].lower()


def status(**expected: Any) -> Any:
    return lambda e: e.kind == "status" and all(e.data.get(k) == v for k, v in expected.items())


def tracker(stack: Any, conversation_id: str) -> Dict[str, Any]:
    response = requests.get(
        f"{stack.rasa_url}/conversations/{conversation_id}/tracker",
        params={"include_events": "ALL"},
        headers=stack.api_headers(),
        timeout=60,
    )
    response.raise_for_status()
    return response.json()


def open_all_day_clinic(path: Any) -> Any:
    """A copy of data/clinic.yml whose opening hours cover every minute (so the test does not depend on the clock)."""
    import yaml

    from tests.e2e.stack import ROOT

    raw = yaml.safe_load((ROOT / "data" / "clinic.yml").read_text())
    raw["opening_hours"] = {
        "timezone": "Europe/London",
        **{d: "00:00-24:00" for d in ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")},
    }
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path


def as_staff_of(stack: Any, monkeypatch: Any) -> None:
    """This test process calls the live service as the staff side does: on the stack's database and Rasa."""
    from bot.store import db

    for name in ("DATABASE_URL", "RASA_PORT", "RASA_TOKEN", "CLINIC_FILE", "LIVE_WAIT_MINUTES"):
        if name in stack.env:
            monkeypatch.setenv(name, stack.env[name])
    db.clear_engine_cache()


def pair(values: List[Any]) -> Tuple[Any, ...]:
    return tuple(values)
