"""Rasa's REST channel, at the same address (`/webhooks/rest/webhook`), with every reply shaped by
bot/dialogue/replies.py: never empty, never the same message twice, at most four messages.

Conversations belong to whoever the server issued them to (bot/chat/ownership.py): a message must carry the
conversation id the server issued (`sender`) and its secret (`secret`), else 403 with a JSON message the widget
understands (it starts a new conversation). This is enforced here, inside Rasa, so a caller on loopback cannot
bypass it by skipping the web app's proxy either. `POST /webhooks/rest/session` issues a new id and its secret (the
web app's `POST /chat/session` does the same with the same key).

It also logs a failed turn by conversation id only (Rasa's own channel logs the client's text); never the secret.

While the action server is down (the supervisor restarts it: bot/supervisor.py) a turn cannot run: Rasa would record
the client's message, drop the failed actions' events, carry on without them and answer with nothing (shaped into
"Sorry, I didn't quite get that"), and a client who sends the message again would then be recorded twice. So here:

- before a turn, the action server's /health is asked (loopback, well under a millisecond): when the connection is
  refused (a slow answer under load counts as up: busy is not down), the message is not given to Rasa at all and the
  reply is 503 `{"error": "unavailable", "message": "One moment, please..."}` (the widget keeps the text in the
  box and says when the assistant is back);
- a turn during which an action could not reach the action server (it died mid-turn) is never written: the tracker
  store asks this channel, just before Rasa's one save of the turn and still inside the conversation's lock
  (bot/store/tracker_store.py TurnGuard), and writes nothing; the reply is the same 503. (It used to be written and
  then deleted after the lock was released: a re-send of the same message_id waiting for the lock was answered 200
  from the turn's events, "the replies that followed it", just before the roll-back deleted them: an acknowledged
  message lost. tests/e2e/test_no_lost_resend.py plays that order.) A tracker store without the guard gets the old
  roll-back;
- a 200 means the message is stored: after the turn its user event must be in the events table exactly once, else
  the reply is the same 503 (Rasa's SQLTrackerStore.save falls back to memory when the database fails, and skips the
  head of the turn when the table holds more of the session than the tracker it read); a second copy is deleted;
- a message may carry a client `message_id` (the widget sends one, and the same one when it sends that text again):
  it becomes the user event's `message_id`, and a message whose id is already among the conversation's last user
  events is not processed again: the replies that followed it are sent back instead (a reply lost on the way).
  With the cluster's lock store (bot/store/lock_store.py, reentrant) the conversation's lock is held from that
  look-up to the turn's end, so the same message reaching two Rasa replicas at once is still taken once.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
import uuid
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Dict, List, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.chat import ownership
from bot.dialogue.replies import shape
from bot.store.tracker_store import DatabaseTrackerStore, TurnGuard, current_turn

logger = logging.getLogger(__name__)

UNAVAILABLE = {
    "error": "unavailable",
    "message": "One moment, please: the assistant is restarting. Your message hasn't been sent yet; please send it "
    "again in a few seconds.",
    "retry_after": 3,
}
MESSAGE_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
RECENT_USER_EVENTS = 20  # how far back a repeated message_id is looked for
HEALTH_TIMEOUT_SECONDS = 1.0

# The failures Rasa logs while one turn runs (set per request: a context variable follows the request's task).
_turn_failures: contextvars.ContextVar[Optional[List[str]]] = contextvars.ContextVar(
    "clinic_turn_failures", default=None
)
_FAILURE_MARKERS = (
    "Encountered an exception while running action",
    "Failed to execute custom action",
    "Failed to run custom action",
)
# (rasa.core.actions.action logs "Couldn't connect to the server" when the action server is not there at all)
_UNREACHABLE_MARKER = "Couldn't connect"


class _ActionFailureWatch(logging.Filter):
    """Notes, for the turn being run, each failure Rasa logs about a custom action (it then carries on without it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        failures = _turn_failures.get()
        if failures is not None:
            try:
                text = record.getMessage()
            except Exception:  # a malformed record: never break logging
                text = str(record.msg)
            if any(marker in text for marker in _FAILURE_MARKERS):
                failures.append(text)
        return True


_WATCH = _ActionFailureWatch()
for _name in ("rasa.core.processor", "rasa.core.actions.action"):
    if _WATCH not in logging.getLogger(_name).filters:
        logging.getLogger(_name).addFilter(_WATCH)


def _sql_store(agent: Any) -> Any:
    """The SQL tracker store under Rasa's fail-safe wrapper, or None."""
    from rasa.core.tracker_store import SQLTrackerStore

    store = getattr(agent, "tracker_store", None)
    for _ in range(3):
        if isinstance(store, SQLTrackerStore):
            return store
        store = getattr(store, "_tracker_store", None)
    return None


def _bot_message(text: Optional[str], data: Optional[Dict[str, Any]], recipient_id: str) -> Dict[str, Any]:
    """A stored bot event as the REST channel sends it (CollectingOutputChannel's shape)."""
    message: Dict[str, Any] = {"recipient_id": recipient_id}
    if text:
        message["text"] = text
    for key in ("buttons", "image", "custom", "attachment"):
        if (data or {}).get(key):
            message[key] = data[key]  # type: ignore[index]
    return message


def _user_rows(session: Any, model: Any, sender_id: str, message_id: str) -> List[int]:
    """The events-table ids of the user events `message_id` among the conversation's last user events, latest
    first."""
    rows = (
        session.query(model.id, model.data)
        .filter(model.sender_id == sender_id, model.type_name == "user")
        .order_by(model.id.desc())
        .limit(RECENT_USER_EVENTS)
        .all()
    )
    found = []
    for row_id, data in rows:
        try:
            if json.loads(data or "{}").get("message_id") == message_id:
                found.append(int(row_id))
        except (ValueError, AttributeError):
            continue
    return found


def _user_row(session: Any, model: Any, sender_id: str, message_id: str) -> Optional[int]:
    """The events-table id of the user event `message_id` among the conversation's last user events, or None."""
    found = _user_rows(session, model, sender_id, message_id)
    return found[0] if found else None


class ClinicRestInput(RestInput):
    def __init__(self, chat_key: Optional[str] = None) -> None:
        super().__init__()
        if chat_key is None:
            from bot import settings as settings_module

            chat_key = settings_module.get().chat_key
        self.chat_key = chat_key

    @classmethod
    def from_credentials(cls, credentials: Any) -> ClinicRestInput:
        return cls()

    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/session", methods=["POST"])
        async def session(request: Request) -> HTTPResponse:
            issued = ownership.issue(self.chat_key)
            return response.json(
                {"sender": issued.conversation_id, "secret": issued.secret}, headers={"Cache-Control": "no-store"}
            )

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            try:
                body = request.json if isinstance(request.json, dict) else {}
            except Exception:  # not JSON at all
                body = {}
            sender_id = body.get("sender")
            text = body.get("message")
            if not isinstance(sender_id, str) or not sender_id or not isinstance(text, str):
                return response.json({"error": 'send {"sender": ID, "secret": SECRET, "message": TEXT}'}, status=400)
            if not ownership.verify(self.chat_key, sender_id, body.get("secret")):
                logger.info(
                    "chat message refused: not an issued conversation or wrong secret conversation_id=%r", sender_id
                )
                return response.json(ownership.REFUSED, status=403)
            agent = getattr(request.app.ctx, "agent", None)
            client_id = body.get("message_id")
            client_id = client_id if isinstance(client_id, str) and MESSAGE_ID.fullmatch(client_id) else None
            if client_id and agent is not None and getattr(agent.lock_store, "reentrant", False):
                # A lock store that lets this request take the conversation's lock again inside (the cluster's
                # PostgreSQL lock, bot/store/lock_store.py) holds it from the repeated-id check to the turn's end:
                # the same message arriving at two replicas at once is taken once, answered twice.
                async with agent.lock_store.lock(sender_id):
                    return await self._take(request, agent, sender_id, text, client_id, on_new_message)
            return await self._take(request, agent, sender_id, text, client_id, on_new_message)

        return webhook

    async def _take(
        self,
        request: Request,
        agent: Any,
        sender_id: str,
        text: str,
        client_id: Optional[str],
        on_new_message: Callable[[UserMessage], Awaitable[Any]],
    ) -> HTTPResponse:
        """One message: its earlier replies when its id was answered already, else a turn (or 503)."""
        if client_id and agent is not None:
            answered = await self._answered_before(agent, sender_id, client_id)
            if answered is not None:
                logger.info("chat message already answered, its replies sent again conversation_id=%r", sender_id)
                return response.json(shape(answered, sender_id))
        if agent is not None and not await self._actions_up(agent):
            logger.warning("chat message not taken: the action server does not answer conversation_id=%r", sender_id)
            return self._unavailable()
        turn_id = client_id or uuid.uuid4().hex
        collector = CollectingOutputChannel()
        failures: List[str] = []

        async def void() -> bool:
            """Asked by the tracker store just before it writes the turn (inside Rasa's lock): the turn is void when
            an action could not reach the action server."""
            return (
                bool(failures)
                and agent is not None
                and (any(_UNREACHABLE_MARKER in failure for failure in failures) or not await self._actions_up(agent))
            )

        guard = TurnGuard(sender_id, void)
        watching = _turn_failures.set(failures)
        guarding = current_turn.set(guard)
        cancelled = False
        try:
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender_id,
                    input_channel=self.name(),
                    message_id=turn_id,
                    metadata=self.get_metadata(request),
                )
            )
        except CancelledError:
            cancelled = True
            logger.error("chat turn timed out conversation_id=%r", sender_id)
        except Exception:
            logger.exception("chat turn failed conversation_id=%r", sender_id)
        finally:
            _turn_failures.reset(watching)
            current_turn.reset(guarding)
        if guard.voided:
            return self._unavailable()
        if (
            not guard.consulted
            and failures
            and agent is not None
            and not isinstance(_sql_store(agent), DatabaseTrackerStore)
            and (any(_UNREACHABLE_MARKER in failure for failure in failures) or not await self._actions_up(agent))
        ):
            # a tracker store other than ours (no TurnGuard): the turn was written, take it back (ours never
            # deletes a turn after it: when its save was not reached, nothing of the turn was written)
            removed = await self._roll_back(agent, sender_id, turn_id)
            logger.warning(
                "chat turn rolled back (the action server went away during it; %d events removed) conversation_id=%r",
                removed,
                sender_id,
            )
            return self._unavailable()
        if agent is not None and not await self._stored_once(agent, sender_id, turn_id, guard):
            return self._unavailable()
        if cancelled:
            logger.info("chat turn stored, its client gone: a re-send gets its replies conversation_id=%r", sender_id)
        return response.json(shape(collector.messages, sender_id))

    @staticmethod
    async def _stored_once(agent: Any, sender_id: str, turn_id: str, guard: TurnGuard) -> bool:
        """Whether the turn's user event is in the events table exactly once (a 200 says the message was taken).

        Not stored (Rasa's save failed and it fell back to memory, or skipped it): False, the client sends it again.
        Stored twice: the rows this turn wrote are deleted (the earlier copy stands, and answers the re-send)."""
        store = _sql_store(agent)
        if store is None:
            return True
        model = store.SQLEvent
        try:
            with store.session_scope() as session:
                rows = _user_rows(session, model, sender_id, turn_id)
                if len(rows) == 1:
                    return True
                if len(rows) > 1 and guard.saved and guard.before_id is not None:
                    removed = (
                        session.query(model)
                        .filter(model.sender_id == sender_id, model.id > guard.before_id)
                        .delete(synchronize_session=False)
                    )
                    session.commit()
                    logger.error(
                        "chat turn stored a message already stored; its %d events removed conversation_id=%r",
                        removed,
                        sender_id,
                    )
                    return False
        except Exception:
            logger.exception("chat turn not verified (the events table unreadable) conversation_id=%r", sender_id)
            return False
        logger.error(
            "chat turn's message is not in the events table (%d copies); answered 503 so it is sent "
            "again conversation_id=%r",
            len(rows),
            sender_id,
        )
        return False

    @staticmethod
    def _unavailable() -> HTTPResponse:
        return response.json(
            UNAVAILABLE,
            status=503,
            headers={"Retry-After": str(UNAVAILABLE["retry_after"]), "Cache-Control": "no-store"},
        )

    @staticmethod
    async def _actions_up(agent: Any) -> bool:
        """The action server answers its /health (True when no action server is configured)."""
        import aiohttp

        endpoint = getattr(agent, "action_endpoint", None)
        url = getattr(endpoint, "url", None)
        if not url:
            return True
        health = url.rsplit("/webhook", 1)[0].rstrip("/") + "/health"
        try:
            timeout = aiohttp.ClientTimeout(total=HEALTH_TIMEOUT_SECONDS)
            async with aiohttp.ClientSession(timeout=timeout) as session, session.get(health) as answer:
                return answer.status < 500
        except asyncio.TimeoutError:
            # busy is not down: under load the action server may take longer than this to answer /health, and the
            # turn must go on (a turn that then fails is rolled back all the same)
            return True
        except Exception:  # refused, reset: not there
            return False

    @staticmethod
    async def _answered_before(agent: Any, sender_id: str, message_id: str) -> Optional[List[Dict[str, Any]]]:
        """The replies that followed the user message `message_id`, if it is among the last user events."""
        from rasa.shared.core.events import BotUttered, UserUttered

        store = _sql_store(agent)
        if store is not None:  # a look at the events table, not a whole tracker rebuilt on every message
            model = store.SQLEvent
            async with agent.lock_store.lock(sender_id):  # after a turn with this message still running, if any
                with store.session_scope() as session:
                    first = _user_row(session, model, sender_id, message_id)
                    if first is None:
                        return None
                    later = (
                        session.query(model.type_name, model.data)
                        .filter(model.sender_id == sender_id, model.id > first, model.type_name.in_(("user", "bot")))
                        .order_by(model.id)
                        .all()
                    )
            replies = []
            for type_name, data in later:
                if type_name == "user":
                    break
                event = json.loads(data or "{}")
                replies.append(_bot_message(event.get("text"), event.get("data"), sender_id))
            return replies

        async with agent.lock_store.lock(sender_id):
            tracker = await agent.tracker_store.retrieve(sender_id)
        if tracker is None:
            return None
        events = list(tracker.events)
        users = 0
        for index in range(len(events) - 1, -1, -1):
            event = events[index]
            if not isinstance(event, UserUttered):
                continue
            if event.message_id == message_id:
                replies = []
                for later in events[index + 1 :]:
                    if isinstance(later, UserUttered):
                        break
                    if isinstance(later, BotUttered):
                        replies.append(_bot_message(later.text, later.data, sender_id))
                return replies
            users += 1
            if users >= RECENT_USER_EVENTS:
                break
        return None

    @staticmethod
    async def _roll_back(agent: Any, sender_id: str, turn_id: str) -> int:
        """Delete the events stored from the turn's user message on; how many were deleted."""
        store = _sql_store(agent)
        if store is None:
            return 0
        model = store.SQLEvent
        async with agent.lock_store.lock(sender_id):
            with store.session_scope() as session:
                first = _user_row(session, model, sender_id, turn_id)
                if first is None:
                    return 0
                removed = (
                    session.query(model)
                    .filter(model.sender_id == sender_id, model.id >= first)
                    .delete(synchronize_session=False)
                )
                session.commit()
                return int(removed or 0)
