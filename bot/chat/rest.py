"""Rasa's REST channel, at the same address (`/webhooks/rest/webhook`), with every reply shaped by
bot/dialogue/replies.py: never empty, never the same message twice, at most four messages.

Conversations belong to whoever the server issued them to (bot/chat/ownership.py): a message must carry the
conversation id the server issued (`sender`) and its secret (`secret`), else 403 with a JSON message the widget
understands (it starts a new conversation). This is enforced here, inside Rasa, so a caller on loopback cannot
bypass it by skipping the web app's proxy either. `POST /webhooks/rest/session` issues a new id and its secret (the
web app's `POST /chat/session` does the same with the same key).

It also logs a failed turn by conversation id only (Rasa's own channel logs the client's text); never the secret.
"""
from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Optional, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.chat import ownership
from bot.dialogue.replies import shape

logger = logging.getLogger(__name__)


class ClinicRestInput(RestInput):
    def __init__(self, chat_key: Optional[str] = None) -> None:
        super().__init__()
        if chat_key is None:
            from bot import settings as settings_module

            chat_key = settings_module.get().chat_key
        self.chat_key = chat_key

    @classmethod
    def from_credentials(cls, credentials: Any) -> "ClinicRestInput":
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
            return response.json({"sender": issued.conversation_id, "secret": issued.secret},
                                 headers={"Cache-Control": "no-store"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            try:
                body = request.json if isinstance(request.json, dict) else {}
            except Exception:  # not JSON at all
                body = {}
            sender_id = body.get("sender")
            text = body.get("message")
            if not isinstance(sender_id, str) or not sender_id or not isinstance(text, str):
                return response.json({"error": "send {\"sender\": ID, \"secret\": SECRET, \"message\": TEXT}"},
                                     status=400)
            if not ownership.verify(self.chat_key, sender_id, body.get("secret")):
                logger.info("chat message refused: not an issued conversation or wrong secret conversation_id=%r",
                            sender_id)
                return response.json(ownership.REFUSED, status=403)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(
                    UserMessage(text, collector, sender_id, input_channel=self.name(),
                                metadata=self.get_metadata(request))
                )
            except CancelledError:
                logger.error("chat turn timed out conversation_id=%r", sender_id)
            except Exception:
                logger.exception("chat turn failed conversation_id=%r", sender_id)
            return response.json(shape(collector.messages, sender_id))

        return webhook
