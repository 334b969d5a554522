"""Rasa's REST channel, at the same address (`/webhooks/rest/webhook`), with every reply shaped by
bot/dialogue/replies.py: never empty, never the same message twice, at most four messages.

It also logs a failed turn by conversation id only (Rasa's own channel logs the client's text).
"""
from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Union

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from bot.dialogue.replies import shape

logger = logging.getLogger(__name__)


class ClinicRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> Union[ResponseStream, HTTPResponse]:
            body = request.json if isinstance(request.json, dict) else {}
            sender_id = body.get("sender")
            text = body.get("message")
            if not isinstance(sender_id, str) or not sender_id or not isinstance(text, str):
                return response.json({"error": "send {\"sender\": ID, \"message\": TEXT}"}, status=400)
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
