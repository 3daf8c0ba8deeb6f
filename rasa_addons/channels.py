"""`NluRestInput`: Rasa's REST channel, same URL and request, whose reply also says what the message was classified
as, so the front door records each turn's intent without any action call (bot/pipeline.py: `turn_facts`).

Its webhook parses the message first, hands that parse to Rasa's processor (which then does not parse again), and
appends one reply `{"custom": {"nlu": {"intent", "confidence"}}}` after the bot's. The front door reads it as a fact
of the turn, not as a message. The parse also gets the `language` entity where Rasa's handling of a button payload
("/intent{...}") replaced the pipeline's entities (rasa_addons.components). Streaming (`?stream=true`) is Rasa's own.
"""

from __future__ import annotations

import inspect
import logging
from asyncio import CancelledError
from collections.abc import Awaitable, Callable
from typing import Any

import rasa.utils.endpoints
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse, ResponseStream

from rasa_addons.language import LANGUAGE_ENTITY, language_entity

log = logging.getLogger(__name__)


def nlu_reply(sender_id: str | None, parse_data: dict[str, Any]) -> dict[str, Any]:
    intent = parse_data.get("intent") or {}
    nlu = {"intent": intent.get("name"), "confidence": intent.get("confidence")}
    return {"recipient_id": sender_id, "custom": {"nlu": nlu}}


async def parse(agent: Agent | None, message: UserMessage) -> dict[str, Any] | None:
    """Rasa's parse of `message` with its `language` entity; None without a loaded model (Rasa then answers as
    usual) or when parsing failed (logged; Rasa's processor then parses, and reports the error, itself)."""
    if agent is None or agent.processor is None:
        return None
    try:
        parse_data: dict[str, Any] = await agent.processor.parse_message(message)
    except Exception:
        log.exception("parsing the message before the turn failed")
        return None
    entities = parse_data.setdefault("entities", [])
    if not any(e.get("entity") == LANGUAGE_ENTITY for e in entities):
        entity = language_entity(message.text or "", message.metadata, NluRestInput.__name__)
        if entity is not None:
            entities.append(entity)
    return parse_data


class NluRestInput(RestInput):  # type: ignore[misc]  # Rasa ships no type hints here
    @classmethod
    def name(cls) -> str:
        return "rest"  # Rasa's REST channel's name, so its URL: /webhooks/rest/webhook

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        module = inspect.getmodule(self)
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", module.__name__ if module else None)

        @webhook.route("/", methods=["GET"])  # type: ignore[untyped-decorator]
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])  # type: ignore[untyped-decorator]
        async def receive(request: Request) -> ResponseStream | HTTPResponse:
            sender_id = await self._extract_sender(request)
            text = self._extract_message(request)
            input_channel = self._extract_input_channel(request)
            metadata = self.get_metadata(request)
            if rasa.utils.endpoints.bool_arg(request, "stream", default=False):
                return response.stream(  # type: ignore[attr-defined,no-any-return]  # Sanic 21, Rasa's
                    self.stream_response(on_new_message, text, sender_id, input_channel, metadata),
                    content_type="text/event-stream",
                )
            collector = CollectingOutputChannel()
            message = UserMessage(text, collector, sender_id, input_channel=input_channel, metadata=metadata)
            message.parse_data = await parse(request.app.ctx.agent, message)
            try:
                await on_new_message(message)
            except CancelledError:
                log.error("the turn of %s timed out", sender_id)
                return response.json(collector.messages)
            except Exception:
                log.exception("the turn of %s failed", sender_id)
                return response.json(collector.messages)
            replies = list(collector.messages)
            if message.parse_data is not None:
                replies.append(nlu_reply(sender_id, message.parse_data))
            return response.json(replies)

        return webhook
