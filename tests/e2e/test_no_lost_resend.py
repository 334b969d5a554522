"""No chat message is answered 200 unless its user event is in the events table exactly once (bot/chat/rest.py).

The two requests here go through the real REST channel code (`ClinicRestInput._take`, as its webhook calls it) on a
real SQLite events table (bot/store/tracker_store.py's DatabaseTrackerStore under Rasa's fail-safe wrapper) with
Rasa's own InMemoryLockStore (one Rasa server: its lock is not reentrant, so the channel cannot hold it across a
whole request). Rasa's turn is played by `_rasa_turn`, which does what rasa/core/agent.py and processor.py do for a
form question (lock, retrieve, user event, the form's custom action through Rasa's RemoteAction to a real HTTP
server, the question asked again, one save), so the moment each request reaches is under the test's control.

The order that lost acknowledged messages (bench/faults.py, README): a turn whose action could not reach the action
server was stored, the lock released, and only then rolled back. The client's re-send of the same `message_id`,
waiting for that lock, found the stored user event first and was answered 200 with "the replies that followed it"
(the question the message had just answered); the roll-back then deleted that user event.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import SimpleNamespace
from typing import Any, List, Tuple

import sqlalchemy as sa
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import UserMessage
from rasa.core.lock_store import InMemoryLockStore
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.core.tracker_store import FailSafeTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
from rasa.utils.endpoints import EndpointConfig

from bot.chat.rest import ClinicRestInput
from bot.settings import ROOT
from bot.store.tracker_store import DatabaseTrackerStore

SENDER = "c0nversation-under-test"
QUESTION = "How old are you?"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _ActionServer(BaseHTTPRequestHandler):
    """An action server that answers /health and runs every action with no events (a real HTTP server); while
    `dying` it drops the connection of an action call unanswered, as a process killed in the middle of it."""

    dying = False

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self._reply({"status": "ok"})

    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if type(self).dying:
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._reply({"events": [], "responses": []})

    def _reply(self, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


class _World:
    def __init__(self, tmp_path: Path) -> None:
        self.domain = Domain.load(str(ROOT / "domain.yml"))
        self.url = f"sqlite:///{tmp_path / 'events.db'}"
        self.store = DatabaseTrackerStore(domain=self.domain, host=self.url)
        self.port = _free_port()
        self.endpoint = EndpointConfig(url=f"http://127.0.0.1:{self.port}/webhook")
        self.agent = SimpleNamespace(
            tracker_store=FailSafeTrackerStore(self.store),
            lock_store=InMemoryLockStore(),
            action_endpoint=self.endpoint,
        )
        self.server: Any = None
        self.before_save = None  # an async hook: runs inside the turn, just before Rasa's save
        self.channel = ClinicRestInput(chat_key="k" * 32)

    def start_action_server(self) -> None:
        self.handler = type("Handler", (_ActionServer,), {"dying": False})
        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), self.handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    async def _rasa_turn(self, message: UserMessage) -> None:
        """Rasa's turn for an answer to a form question (agent.handle_message, processor.handle_message)."""
        async with self.agent.lock_store.lock(message.sender_id):
            tracker = await self.agent.tracker_store.get_or_create_tracker(message.sender_id)
            tracker.update(
                UserUttered(message.text, {"name": "inform", "confidence": 1.0}, message_id=message.message_id)
            )
            action = RemoteAction("validate_consultation_form", self.endpoint)
            try:
                events = await action.run(
                    message.output_channel, TemplatedNaturalLanguageGenerator({}), tracker, self.domain
                )
            except Exception:  # processor._run_action: logged, "the actions events are lost", the turn goes on
                logging.getLogger("rasa.core.processor").exception(
                    "Encountered an exception while running action 'validate_consultation_form'."
                )
                events = []
            tracker.update(ActionExecuted("validate_consultation_form"))
            for event in events:
                tracker.update(event)
            tracker.update(BotUttered(QUESTION))  # the question asked again: its answer was not validated
            await message.output_channel.send_text_message(message.sender_id, QUESTION)
            tracker.update(ActionExecuted("action_listen"))
            if self.before_save is not None:
                await self.before_save()
            await self.agent.tracker_store.save(tracker)

    async def send(self, message_id: str, text: str = "34") -> Tuple[int, Any]:
        request = SimpleNamespace(args={}, json={})
        answer = await self.channel._take(request, self.agent, SENDER, text, message_id, self._rasa_turn)
        return answer.status, json.loads(answer.body)

    def stored(self, message_id: str) -> int:
        engine = sa.create_engine(self.url, future=True)
        try:
            with engine.connect() as connection:
                rows = (
                    connection.execute(
                        sa.text("SELECT data FROM events WHERE sender_id = :s AND type_name = 'user'"), {"s": SENDER}
                    )
                    .scalars()
                    .all()
                )
        finally:
            engine.dispose()
        return sum(1 for data in rows if json.loads(data).get("message_id") == message_id)


def _acknowledged_are_stored_once(world: _World, answers: List[Tuple[str, int, Any]]) -> None:
    for message_id, status, body in answers:
        if status == 200:
            assert world.stored(message_id) == 1, (
                f"{message_id} was answered 200 ({body}) but is stored {world.stored(message_id)} times"
            )


def test_a_resend_waiting_behind_a_failed_turn_is_not_answered_from_it(tmp_path):
    """The failed turn's re-send queues for the lock while the turn runs; it must not see the turn's events."""
    world = _World(tmp_path)

    async def scenario() -> List[Tuple[str, int, Any]]:
        world.start_action_server()
        assert (await world.send("m-1", "yes"))[0] == 200  # the conversation exists, the action server is up
        world.handler.dying = True  # killed during the next turn's action call
        resend: List[Any] = []

        async def client_sends_again() -> None:
            # the supervisor has the action server back; the client sends the same message again (same id)
            world.handler.dying = False
            resend.append(asyncio.ensure_future(world.send("m-2")))
            while len(world.agent.lock_store.get_lock(SENDER).tickets) < 2:  # this turn's and the re-send's
                await asyncio.sleep(0.01)

        world.before_save = client_sends_again
        first = await world.send("m-2")
        world.before_save = None
        second = await resend[0]
        return [("m-1", 200, None), ("m-2", *first), ("m-2", *second)]

    try:
        answers = asyncio.run(scenario())
    finally:
        world.stop()
    _acknowledged_are_stored_once(world, answers)
    statuses = [status for _, status, _ in answers[1:]]
    assert 200 in statuses, answers  # the re-send was taken (by its own turn, the action server being back)
    assert world.stored("m-2") == 1


def test_a_turn_whose_user_event_was_not_written_is_not_acknowledged(tmp_path):
    """Rasa's SQLTrackerStore.save writes the tracker's events after as many as the session already has stored: a row
    written for the conversation between the turn's read and its save makes it skip the turn's user event."""
    world = _World(tmp_path)

    async def scenario() -> List[Tuple[str, int, Any]]:
        world.start_action_server()
        assert (await world.send("m-1", "yes"))[0] == 200

        async def another_writer() -> None:
            engine = sa.create_engine(world.url, future=True)
            try:
                with engine.begin() as connection:
                    connection.execute(
                        sa.text(
                            "INSERT INTO events (sender_id, type_name, timestamp, action_name, data)"
                            " VALUES (:s, 'action', :t, 'action_listen', :d)"
                        ),
                        {
                            "s": SENDER,
                            "t": 1.0e10,
                            "d": json.dumps({"event": "action", "name": "action_listen", "timestamp": 1.0e10}),
                        },
                    )
            finally:
                engine.dispose()

        world.before_save = another_writer
        first = await world.send("m-2")
        world.before_save = None
        again = await world.send("m-2")  # the client's re-send after a 503
        return [("m-1", 200, None), ("m-2", *first), ("m-2", *again)]

    try:
        answers = asyncio.run(scenario())
    finally:
        world.stop()
    assert answers[1][1] == 503, answers  # not stored, so not acknowledged: the client sends it again
    _acknowledged_are_stored_once(world, answers)
