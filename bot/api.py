"""The versioned chat API for customers (JSON over HTTP, plus a WebSocket for live chat) and the health check.

Handlers are thin: parse and check the request, call the pipeline, map errors. A conversation is reachable only with
its customer token (a bearer secret whose hash is stored), so customers see only their own conversation.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from typing import Any

from aiohttp import WSMsgType, web

from backends.tasks import cancel_and_wait
from bot.channels.base import InboundMessage
from bot.channels.formats import answer_html
from bot.keys import BUS, CONVERSATIONS, OPEN_CHATS, PIPELINE, SETTINGS
from bot.pipeline import CUSTOMER_VISIBLE, conversation_topic
from bot.rate_limits import within_limit
from conversations.exceptions import UnknownConversation
from conversations.models import Conversation, Message, Sender
from conversations.text import CLIENT_MESSAGE_ID_PATTERN
from web.exceptions import BadRequest, NotAuthorised, NotFound
from web.http import INT64, client_message_id_field, int_param, parse_json_object, read_json_object, text_field
from web.openapi import BOOLEAN, PUBLIC, Access, Security, documented, integer, obj, string
from web.rate_limits import client_address
from web.tokens import token_hash

log = logging.getLogger(__name__)

routes = web.RouteTableDef()

# Live events a customer's socket forwards besides messages. Handoff's own events (agent_joined, bot_back, …) reach
# customers as transcript messages and coalesced `notice` events written by the bridge, so they are not repeated.
CUSTOMER_EVENTS = frozenset({"typing", "notice", "state"})
WS_HELLO_TIMEOUT_S = 10.0
WS_HEARTBEAT_S = 25.0
LANGUAGES = ("en", "zh")
# The conversation's customer token, returned when it starts, proves the caller is that conversation's customer.
CUSTOMER = Access("the conversation's customer", (Security("customerToken", {"type": "http", "scheme": "bearer"}),))
MESSAGES = obj(messages={"type": "array", "items": {"type": "object"}}, required=["messages"])


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise NotAuthorised("send 'Authorization: Bearer <customer_token>'")
    return token.strip()


async def authorised_conversation(request: web.Request, token: str) -> Conversation:
    try:
        conversation = await request.app[CONVERSATIONS].get_conversation(request.match_info["conversation_id"])
    except UnknownConversation as exc:
        raise NotFound("unknown conversation") from exc
    if not conversation.token_hash or not hmac.compare_digest(conversation.token_hash, token_hash(token)):
        raise NotAuthorised("wrong token for this conversation")
    return conversation


def public_message(message: dict[str, Any]) -> dict[str, Any]:
    """A transcript message (`Message.to_dict()`) as customers' clients receive it: without the machine `custom`
    data, and for the bot's messages (FAQ answers are Markdown) with `html`, sanitised for the widget to show.
    Everyone else's text is shown as typed."""
    html = answer_html(message["text"]) if message["sender"] == Sender.BOT.value and message["text"] else None
    return message | {"custom": {}, "html": html}


def public_messages(messages: list[Message]) -> list[dict[str, Any]]:
    return [public_message(m.to_dict()) for m in messages if m.sender in CUSTOMER_VISIBLE]


@routes.post("/api/v1/conversations")
@documented(
    PUBLIC,
    "Start a conversation",
    body=obj(visitor_token=string(minLength=16, max_length=128), language=string(enum=("", *LANGUAGES))),
    status=201,
    result=obj(
        conversation_id=string(),
        customer_token=string(),
        visitor_token=string(),
        returning_customer=BOOLEAN,
        required=["conversation_id", "customer_token", "visitor_token", "returning_customer"],
    ),
)
async def start_conversation(request: web.Request) -> web.Response:
    """Starts a conversation. A returning browser sends its `visitor_token` to be recognised as the same customer."""
    limits = request.app[SETTINGS].limits
    await within_limit(
        request, limits.conversations_per_address, "conversations", client_address(request, limits.proxy_hops)
    )
    data = await read_json_object(request)
    visitor_token = data.get("visitor_token") or secrets.token_urlsafe(24)
    language = data.get("language", "")
    if not isinstance(visitor_token, str) or not 16 <= len(visitor_token) <= 128:
        raise BadRequest("'visitor_token' must be a string of 16 to 128 characters", "bad_visitor_token")
    if language not in ("", *LANGUAGES):
        raise BadRequest("'language' must be 'en' or 'zh'", "bad_language")
    customer_token = secrets.token_urlsafe(32)
    conversation, returning = await request.app[PIPELINE].open_conversation(
        "web", token_hash(visitor_token), language=language, token_hash=token_hash(customer_token)
    )
    body = {
        "conversation_id": conversation.id,
        "customer_token": customer_token,
        "visitor_token": visitor_token,
        "returning_customer": returning,
    }
    return web.json_response(body, status=201)


@routes.post("/api/v1/conversations/{conversation_id}/messages")
@documented(
    CUSTOMER,
    "Send a message; answers the replies",
    body=obj(
        text=string(),
        payload=string(max_length=512),
        client_message_id=string(pattern=f"^{CLIENT_MESSAGE_ID_PATTERN}$"),
    ),
    result=MESSAGES,
)
async def send_message(request: web.Request) -> web.Response:
    """`text`, or the `payload` of a button the bot offered (then `text` may be left out). A retry with the same
    `client_message_id` stores nothing again and answers with the first send's replies."""
    token = bearer_token(request)
    data = await read_json_object(request)
    conversation = await authorised_conversation(request, token)
    await within_limit(request, request.app[SETTINGS].limits.messages_per_conversation, "messages", conversation.id)
    text = text_field(data, "text", request.app[SETTINGS].max_message_chars, required=not data.get("payload"))
    payload = data.get("payload")
    if payload is not None and (not isinstance(payload, str) or len(payload) > 512):
        raise BadRequest("'payload' must be a string of at most 512 characters", "bad_payload")
    inbound = InboundMessage(
        channel=conversation.channel,
        sender_id=conversation.external_id,
        conversation_id=conversation.id,
        text=text or (payload or ""),
        payload=payload,
        message_id=client_message_id_field(data),
    )
    replies = await request.app[PIPELINE].receive(inbound)
    return web.json_response({"messages": public_messages(replies)})


@routes.post("/api/v1/conversations/{conversation_id}/close")
@documented(CUSTOMER, "End the chat", result=obj(left_queue=BOOLEAN, required=["left_queue"]))
async def close_conversation(request: web.Request) -> web.Response:
    """The customer ends the chat (the widget's "start a new conversation"). A conversation waiting for a human
    leaves the queue as abandoned; the conversation is marked closed. Idempotent."""
    conversation = await authorised_conversation(request, bearer_token(request))
    left_queue = await request.app[PIPELINE].customer_left(conversation.id)
    await request.app[CONVERSATIONS].close_conversation(conversation.id)
    return web.json_response({"left_queue": left_queue})


@routes.get("/api/v1/conversations/{conversation_id}/messages")
@documented(CUSTOMER, "Read the history", query={"after": integer(minimum=0, maximum=INT64[1])}, result=MESSAGES)
async def read_history(request: web.Request) -> web.Response:
    """The visible messages after sequence number `after` (0: all)."""
    conversation = await authorised_conversation(request, bearer_token(request))
    after = int_param(request.query.get("after"), "after", 0, 0, INT64[1])
    messages = await request.app[CONVERSATIONS].history(conversation.id, after_seq=after)
    return web.json_response({"messages": public_messages(messages)})


@routes.get("/api/v1/conversations/{conversation_id}/ws")
@documented(PUBLIC, "Live chat (WebSocket)", websocket=True)
async def live_chat(request: web.Request) -> web.WebSocketResponse:
    """Live chat. The first frame must be `{"type": "hello", "token": …, "after": <last seq seen>}`.

    The token travels in a frame, not the URL, so it never lands in access logs. After hello the server sends the
    missed history, then every new visible message and typing/notice event; the client sends
    `{"type": "message", "text": …, "payload"?: …, "client_message_id"?: …}` and `{"type": "typing"}`. A message
    re-sent with its `client_message_id` (after a reconnect) is stored once; the socket then hears nothing new.
    """
    ws = web.WebSocketResponse(heartbeat=WS_HEARTBEAT_S, max_msg_size=request.app[SETTINGS].max_body_bytes)
    await ws.prepare(request)
    try:
        frame = await asyncio.wait_for(ws.receive(), WS_HELLO_TIMEOUT_S)
        if frame.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return ws
        if frame.type is not WSMsgType.TEXT:
            raise BadRequest("first frame must be a JSON text hello", "bad_hello")
        # The one parser for untrusted JSON: a hello nested thousands deep or holding a lone surrogate is a 400-like
        # error frame, never an exception in a connection already upgraded.
        hello = parse_json_object(frame.data, "hello")
        if hello.get("type") != "hello" or not isinstance(hello.get("token"), str):
            raise BadRequest("first frame must be a hello with the customer token", "bad_hello")
        conversation = await authorised_conversation(request, hello["token"])
        after = hello.get("after", 0)
        after = after if isinstance(after, int) else 0
    except (TimeoutError, BadRequest) as exc:
        code = exc.code if isinstance(exc, BadRequest) else "bad_hello"
        log.info("customer socket of %s refused: %s %s", request.match_info["conversation_id"][:64], code, exc)
        await ws.send_json({"type": "error", "error": {"code": code, "message": str(exc) or "hello expected"}})
        await ws.close()
        return ws
    app = request.app
    async with app[BUS].subscribe(conversation_topic(conversation.id)) as subscription:
        backlog = await app[CONVERSATIONS].history(conversation.id, after_seq=after)
        await ws.send_json({"type": "ready", "conversation_id": conversation.id, "messages": public_messages(backlog)})
        last_seq = backlog[-1].seq if backlog else after
        forward = asyncio.create_task(_forward_events(ws, subscription, last_seq))
        try:
            async with app[OPEN_CHATS].opened(conversation.id):
                await _read_customer_frames(request, ws, conversation)
        finally:
            await cancel_and_wait(forward)
    return ws


async def _forward_events(ws: web.WebSocketResponse, subscription: Any, last_seq: int) -> None:
    async for _topic, event in subscription:
        if event.get("type") == "message":
            message = event["message"]
            if message["sender"] not in {s.value for s in CUSTOMER_VISIBLE} or message["seq"] <= last_seq:
                continue
            last_seq = message["seq"]
            await ws.send_json({"type": "message", "message": public_message(message)})
        elif event.get("type") in CUSTOMER_EVENTS:
            if event.get("who") == "customer":
                continue
            await ws.send_json(event)


async def _read_customer_frames(request: web.Request, ws: web.WebSocketResponse, conversation: Conversation) -> None:
    settings = request.app[SETTINGS]
    pipeline = request.app[PIPELINE]
    async for frame in ws:
        if frame.type is not WSMsgType.TEXT:
            if frame.type is WSMsgType.BINARY:
                await ws.send_json({"type": "error", "error": {"code": "binary", "message": "send JSON text frames"}})
            continue
        try:
            data = parse_json_object(frame.data, "frame")
            if data.get("type") == "typing":
                await pipeline.publish_typing(conversation.id, "customer", bool(data.get("on", True)))
                continue
            if data.get("type") != "message":
                raise BadRequest("unknown frame type", "bad_frame")
            await within_limit(request, settings.limits.messages_per_conversation, "messages", conversation.id)
            text = text_field(data, "text", settings.max_message_chars, required=not data.get("payload"))
            payload = data.get("payload") if isinstance(data.get("payload"), str) else None
            inbound = InboundMessage(
                channel=conversation.channel,
                sender_id=conversation.external_id,
                conversation_id=conversation.id,
                text=text or (payload or ""),
                payload=payload,
                message_id=client_message_id_field(data),
            )
            # Replies reach this socket through the bus, like agent messages do.
            await pipeline.receive(inbound)
        except ValueError:
            await ws.send_json({"type": "error", "error": {"code": "bad_json", "message": "frame is not JSON"}})
        except BadRequest as exc:
            log.info("customer socket of %s: frame refused: %s %s", conversation.id, exc.code, exc)
            await ws.send_json({"type": "error", "error": {"code": exc.code, "message": str(exc)}})


__all__ = ["routes"]
