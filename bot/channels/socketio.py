"""Rasa's Socket.IO channel protocol, spoken by the front door, so sites running the rasa-webchat widget gain handoff.

Same events and payloads as Rasa 3.6's `rasa/core/channels/socketio.py` (session persistence on): the client emits
`session_request {"session_id": id|null}` and gets `session_confirm <id>`; it emits
`user_uttered {"message", "session_id", "client_message_id"?}` (the id is ours: a client that re-emits a message
with it after a reconnect has it stored once) and receives `bot_uttered {"text"}` / `{"text", "quick_replies"}` /
`{"attachment"}` (rasa-webchat renders the text as Markdown: see `bot.channels.formats.webchat_markdown`). Each
session id maps to a front-door customer identity on channel "socketio" (its hash, never the id itself, is stored),
and its messages go through the one pipeline.

Delivery is exactly-once through the bus only: each socket subscribes to `conv:{id}` and forwards what is recorded
there (bot replies, agent messages, system notices, and `notice` events that carry text); replies returned by
`pipeline.receive` are not emitted again, and no `ChannelAdapter` is registered. This module must never decide
who answers (the pipeline and handoff do) nor store anything itself.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, TypeGuard

import socketio
from aiohttp import web

from backends.tasks import cancel_and_wait
from bot.channels.base import InboundMessage
from bot.channels.formats import webchat_markdown
from bot.keys import BUS, OPEN_CHATS, PIPELINE, SETTINGS
from bot.pipeline import PAYLOAD_LOOKBACK_MESSAGES, conversation_topic
from bot.rate_limits import spend
from bot.widget import OriginPolicy
from conversations.text import CLIENT_MESSAGE_ID_RULE, InvalidText, checked_text, valid_client_message_id
from web.exceptions import BadRequest
from web.http import parse_json
from web.tokens import token_hash

log = logging.getLogger(__name__)

CHANNEL = "socketio"
SOCKETIO_PATH = "socket.io"  # mounted at /socket.io/, Rasa's and rasa-webchat's default
USER_MESSAGE_EVENT = "user_uttered"
BOT_MESSAGE_EVENT = "bot_uttered"
SESSION_REQUEST_EVENT = "session_request"
SESSION_CONFIRM_EVENT = "session_confirm"
# A session id is a bearer secret (whoever knows it reads the conversation): shorter ones get a fresh id instead.
SESSION_ID_MIN_CHARS = 16
SESSION_ID_MAX_CHARS = 128
FORWARDED_SENDERS = frozenset({"bot", "agent", "system"})


def paragraphs(text: str) -> list[str]:
    """`text` as Rasa's SocketIOOutput sends it, one message per paragraph, each made safe for rasa-webchat's
    Markdown on its own (a paragraph alone may parse differently from the whole: a code fence split in two)."""
    return [webchat_markdown(part) for part in text.strip().split("\n\n")]


def bot_utterances(message: dict[str, Any]) -> list[dict[str, Any]]:
    """A transcript message (`Message.to_dict()`) as the `bot_uttered` payloads Rasa's SocketIOOutput would emit."""
    text = message.get("text") or ""
    buttons = message.get("buttons") or []
    image = (message.get("custom") or {}).get("image")
    if buttons:
        parts: list[dict[str, Any]] = [{"text": part, "quick_replies": []} for part in paragraphs(text)]
        parts[-1]["quick_replies"] = [
            {"content_type": "text", "title": b["title"], "payload": b["payload"]} for b in buttons
        ]
        return parts
    if text:
        return [{"text": part} for part in paragraphs(text)]
    if isinstance(image, str) and image:
        return [{"attachment": {"type": "image", "payload": {"src": image}}}]
    return []


def valid_session_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and SESSION_ID_MIN_CHARS <= len(value) <= SESSION_ID_MAX_CHARS and value.isprintable()


@dataclass(eq=False)
class _Session:
    """One connected socket: its Rasa session id, the conversation it follows and the task forwarding from it."""

    session_id: str
    conversation_id: str = ""
    forwarder: asyncio.Task[None] | None = None
    turn_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def sender_id(self) -> str:
        return token_hash(self.session_id)


class SocketIOChannel:
    """The Socket.IO server's event handlers; the pipeline, bus and settings are read from the app when used."""

    def __init__(self, app: web.Application, sio: socketio.AsyncServer) -> None:
        self._app = app
        self.sio = sio
        self._sessions: dict[str, _Session] = {}
        sio.on("connect", self._connect)
        sio.on("disconnect", self._disconnect)
        sio.on(SESSION_REQUEST_EVENT, self._session_request)
        sio.on(USER_MESSAGE_EVENT, self._user_uttered)

    @property
    def connected(self) -> int:
        return len(self._sessions)

    async def _connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> bool:
        log.debug("socket.io client %s connected", sid)
        return True

    async def _disconnect(self, sid: str, reason: Any = None) -> None:
        session = self._sessions.pop(sid, None)
        if session is not None:
            await _stop(session)

    async def _session_request(self, sid: str, data: Any = None) -> None:
        requested = data.get("session_id") if isinstance(data, dict) else None
        session_id = requested if valid_session_id(requested) else uuid.uuid4().hex
        session = await self._bind(sid, session_id)
        if requested == session_id:
            # A returning session: follow its open conversation at once, so agent messages reach it.
            await self._follow_existing(sid, session)
        await self.sio.emit(SESSION_CONFIRM_EVENT, session_id, to=sid)

    async def _user_uttered(self, sid: str, data: Any = None) -> None:
        if not isinstance(data, dict):
            return
        text = data.get("message")
        if text is None:
            return  # rasa-webchat sends its `initPayload` on every connect, and null when none is configured
        try:
            text = checked_text(text, max_chars=self._app[SETTINGS].max_message_chars)
        except InvalidText as exc:
            log.info("ignored an unusable socket.io message from %s: %s", sid, exc.problem)
            return
        session = self._sessions.get(sid)
        requested = data.get("session_id")
        if valid_session_id(requested) and (session is None or session.session_id != requested):
            session = await self._bind(sid, requested)
        elif session is None:
            session = await self._bind(sid, sid)  # Rasa without session persistence: the socket is the session
        message_id = data.get("client_message_id")
        if message_id is not None and not valid_client_message_id(message_id):
            log.info("ignored an unusable client_message_id from %s (%s)", sid, CLIENT_MESSAGE_ID_RULE)
            message_id = None
        async with session.turn_lock:  # one turn at a time per socket keeps replies in the order asked
            await self._turn(sid, session, text, message_id)

    async def _turn(self, sid: str, session: _Session, text: str, message_id: str | None = None) -> None:
        pipeline = self._app[PIPELINE]
        if text.startswith("/") and session.conversation_id is None:
            # rasa-webchat's `initPayload` (e.g. /get_started), sent on every page load: not the customer's words.
            log.info("ignored a payload before any conversation on socket %s", sid)
            return
        conversation = await pipeline.conversation_for(InboundMessage(CHANNEL, session.sender_id, text))
        if conversation.id != session.conversation_id:
            await self._follow(sid, session, conversation.id)
        # rasa-webchat has no error event to show a 429 with: a message past the limit is dropped, and logged.
        if await spend(self._app, self._app[SETTINGS].limits.messages_per_conversation, "messages", conversation.id):
            return
        text, payload = await self._button_title(conversation.id, text)
        if payload is None and text.startswith("/"):
            log.info("ignored a payload no button offered in %s (an initPayload on reload?)", conversation.id)
            return
        inbound = InboundMessage(
            CHANNEL, session.sender_id, text, conversation_id=conversation.id, payload=payload, message_id=message_id
        )
        # The replies come back through the bus subscription, like agent messages do.
        await pipeline.receive(inbound)

    async def _button_title(self, conversation_id: str, text: str) -> tuple[str, str | None]:
        """rasa-webchat sends a quick reply's payload as the message: record the button's title, pass the payload."""
        if not text.startswith("/"):
            return text, None
        recent = await self._app[PIPELINE].store.recent(conversation_id, PAYLOAD_LOOKBACK_MESSAGES)
        for message in reversed(recent):
            for button in message.buttons:
                if button.payload == text:
                    return button.title or text, text
        return text, None  # never offered

    async def _bind(self, sid: str, session_id: str) -> _Session:
        old = self._sessions.get(sid)
        if old is not None:
            await _stop(old)
            await self.sio.leave_room(sid, old.session_id)
        session = _Session(session_id)
        self._sessions[sid] = session
        # python-socketio >= 5.10 made enter_room a coroutine; Rasa 3.6 forgets to await it.
        await self.sio.enter_room(sid, session_id)
        return session

    async def _follow_existing(self, sid: str, session: _Session) -> None:
        store = self._app[PIPELINE].store
        customer, _ = await store.customer_for_identity(CHANNEL, session.sender_id)
        existing = await store.open_conversation_for(customer.id, CHANNEL)
        if existing is not None:
            await self._follow(sid, session, existing.id)

    async def _follow(self, sid: str, session: _Session, conversation_id: str) -> None:
        """Forwards the conversation's bus events to this socket; returns once the subscription is live."""
        await _stop(session)
        session.conversation_id = conversation_id
        subscribed = asyncio.Event()
        session.forwarder = asyncio.create_task(self._forward(sid, conversation_id, subscribed))
        waiter = asyncio.create_task(subscribed.wait())
        await asyncio.wait({waiter, session.forwarder}, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()

    async def _forward(self, sid: str, conversation_id: str, subscribed: asyncio.Event) -> None:
        try:
            await self._forward_events(sid, conversation_id, subscribed)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("forwarding %s to socket.io client %s failed", conversation_id, sid)

    async def _forward_events(self, sid: str, conversation_id: str, subscribed: asyncio.Event) -> None:
        last_seq = 0
        async with (
            self._app[OPEN_CHATS].opened(conversation_id),
            self._app[BUS].subscribe(conversation_topic(conversation_id)) as subscription,
        ):
            subscribed.set()
            async for _topic, event in subscription:
                payloads: list[dict[str, Any]] = []
                if event.get("type") == "message":
                    message = event.get("message") or {}
                    if message.get("sender") not in FORWARDED_SENDERS or int(message.get("seq", 0)) <= last_seq:
                        continue
                    last_seq = int(message["seq"])
                    payloads = bot_utterances(message)
                elif event.get("type") == "notice" and isinstance(event.get("text"), str) and event["text"]:
                    payloads = [{"text": part} for part in paragraphs(event["text"])]
                for payload in payloads:
                    await self.sio.emit(BOT_MESSAGE_EVENT, payload, to=sid)

    async def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            await _stop(session)


async def _stop(session: _Session) -> None:
    task, session.forwarder = session.forwarder, None
    if task is not None:
        await cancel_and_wait(task)


SOCKETIO = web.AppKey("socketio", SocketIOChannel)


class _CheckedJson:
    """The JSON of Socket.IO packets, read by the front door's one rule for untrusted JSON (`web.http.parse_json`:
    depth, storable text, 64-bit integers)."""

    dumps = staticmethod(json.dumps)

    @staticmethod
    def loads(raw: str | bytes) -> Any:
        return parse_json(raw, "packet")


class _CheckedPacket(socketio.packet.Packet):  # type: ignore[misc]
    """The server's `serializer`: on this class only, since socketio's own `json=` option sets it on every Packet."""

    json = _CheckedJson


class _Server(socketio.AsyncServer):  # type: ignore[misc]
    """A packet that is not JSON we accept is refused with a log line, as the HTTP and WebSocket APIs refuse such a
    body; python-socketio would log it as an error with a traceback (the connection survives either way)."""

    async def _handle_eio_message(self, eio_sid: str, data: Any) -> None:
        try:
            await super()._handle_eio_message(eio_sid, data)
        except BadRequest as exc:
            log.info("refused a socket.io packet from %s: %s %s", eio_sid, exc.code, exc)


def setup_socketio(app: web.Application, *, path: str = SOCKETIO_PATH) -> None:
    """Attaches a python-socketio AsyncServer at `/{path}/`; allowed origins follow the chat API's CORS setting."""
    settings = app[SETTINGS]
    sio = _Server(
        async_mode="aiohttp",
        serializer=_CheckedPacket,
        cors_allowed_origins=OriginPolicy.from_settings(settings).socketio_cors(),
        max_http_buffer_size=settings.max_body_bytes,
        logger=False,
        engineio_logger=False,
    )
    sio.attach(app, socketio_path=path)
    channel = SocketIOChannel(app, sio)
    app[SOCKETIO] = channel

    async def socketio_context(app: web.Application) -> AsyncIterator[None]:
        yield
        # Before the bus closes (this context exits first): stop forwarding, then the server's background tasks.
        await channel.close()
        await sio.shutdown()

    app.cleanup_ctx.append(socketio_context)


__all__ = ["CHANNEL", "SOCKETIO", "SocketIOChannel", "bot_utterances", "setup_socketio"]
