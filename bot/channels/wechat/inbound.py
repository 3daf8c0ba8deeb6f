"""One WeChat push from arrival to answer: verify, decrypt, parse, dedupe, run the pipeline against the passive
reply deadline, and deliver late replies through the customer-service API.

Owns: the `InboundPipeline` seam, the per-message turn (who answers a retried push), late delivery tasks, and (with
`learn_union_id`) asking WeChat for a customer's UnionID after their turn, handed to the `UnionIdHook`.
Must never: answer one message twice, hold a push past the deadline, or let a pipeline or API failure escape
as anything other than a logged `success`.

Retries: WeChat re-sends a push it got no answer to (same MsgId). Only one push per message runs the pipeline;
a retry waits for that turn. If the turn finishes within the first push's deadline, the reply goes to the most
recent connection for the message (WeChat has given up on the older ones) and the others get `success`; a retry
arriving later is answered from the stored reply. If the deadline passes first, every push gets `success` and the
replies go out through the CS API once ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from backends.tasks import cancel_and_wait
from bot.channels.base import InboundMessage
from bot.channels.wechat.api import CustomerServiceClient
from bot.channels.wechat.constants import (
    DEDUP_CLAIM_TIMEOUT_S,
    NO_REPLY,
    SHUTDOWN_GRACE_S,
    TURN_MEMORY_S,
    UNION_ID_MEMORY_ENTRIES,
    UNION_ID_RECHECK_S,
)
from bot.channels.wechat.crypto import MessageCrypto, verify_signature
from bot.channels.wechat.dedup import MessageDeduplicator
from bot.channels.wechat.exceptions import InvalidSignature, MalformedMessage, WeChatError
from bot.channels.wechat.messages import (
    MAX_TEXT_BYTES,
    ImageMessage,
    MenuClickEvent,
    OtherMessage,
    SubscribeEvent,
    TextMessage,
    UnsubscribeEvent,
    VoiceMessage,
    WeChatMessage,
    encrypted_reply_xml,
    message_texts,
    parse_fields,
    parse_message,
    text_reply_xml,
)
from bot.channels.wechat.settings import EncodingMode, WeChatSettings
from conversations.models import Message

CHANNEL = "wechat"
log = logging.getLogger(__name__)

UnsubscribeHook = Callable[[str], Awaitable[None]]
"""Called with the OpenID of a customer who unfollowed the account (mark them; never message them)."""

UnionIdHook = Callable[[str, str], Awaitable[None]]
"""Called with (OpenID, UnionID) when WeChat says which UnionID a customer has (link it to their record)."""


class InboundPipeline(Protocol):
    """The conversation pipeline as this channel sees it: one customer turn in, the bot's replies out."""

    async def receive(self, inbound: InboundMessage) -> list[Message]: ...


class TurnState(StrEnum):
    PENDING = "pending"
    PASSIVE = "passive"  # replies ready in time: answered in the HTTP response
    DEFERRED = "deferred"  # deadline passed: replies go through the CS API
    FAILED = "failed"  # pipeline raised: nothing to say
    ELSEWHERE = "elsewhere"  # another replica claimed the message


@dataclass
class _Turn:
    message: WeChatMessage
    started_at: float
    state: TurnState = TurnState.PENDING
    texts: list[str] = field(default_factory=list)
    settled: asyncio.Event = field(default_factory=asyncio.Event)
    connections: int = 0

    def connect(self) -> int:
        self.connections += 1
        return self.connections

    def settle(self, state: TurnState, texts: list[str] | None = None) -> None:
        if self.state is TurnState.PENDING:
            self.state, self.texts = state, texts or []
            self.settled.set()


@dataclass(frozen=True)
class _Push:
    message: WeChatMessage
    encrypted: bool


class WeChatInbound:
    """Handles GET verification and POST pushes for one account."""

    def __init__(
        self,
        settings: WeChatSettings,
        pipeline: InboundPipeline,
        deduplicator: MessageDeduplicator,
        cs_client: CustomerServiceClient,
        on_unsubscribe: UnsubscribeHook | None = None,
        clock: Callable[[], float] = time.time,
        on_union_id: UnionIdHook | None = None,
    ) -> None:
        self._settings = settings
        self._pipeline = pipeline
        self._dedup = deduplicator
        self._cs = cs_client
        self._on_unsubscribe = on_unsubscribe
        self._on_union_id = on_union_id if settings.learn_union_id else None
        self._union_asked: dict[str, float] = {}  # OpenID -> when this process last asked WeChat
        self._clock = clock
        self._crypto = (
            MessageCrypto(settings.token, settings.encoding_aes_key, settings.app_id)
            if settings.encoding_mode is not EncodingMode.PLAINTEXT
            else None
        )
        self._turns: dict[str, _Turn] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def max_body_bytes(self) -> int:
        return self._settings.max_body_bytes

    def verify_url(self, query: Mapping[str, str]) -> str:
        """The `echostr` to echo back when WeChat checks the callback URL."""
        self.check_signature(query)
        return query.get("echostr", "")

    async def handle_push(self, query: Mapping[str, str], body: bytes) -> str:
        """The response body for one POST: a (possibly encrypted) passive reply, or `success`."""
        started_at = asyncio.get_running_loop().time()
        push = self._open(query, body)
        message = push.message
        if isinstance(message, UnsubscribeEvent):
            await self._unsubscribe(message)
            return NO_REPLY
        key = message.dedup_key
        self._forget_old_turns(started_at)
        turn = self._turns.get(key)
        if turn is not None:
            return await self._answer_retry(turn, push, query)
        # Registered before the first await, so a concurrent retry on this replica always finds it.
        turn = self._turns[key] = _Turn(message=message, started_at=started_at)
        connection = turn.connect()
        try:
            if not await self._claim(key):
                log.info("wechat push %s already claimed by another replica", key)
                turn.settle(TurnState.ELSEWHERE)
                return NO_REPLY
            await self._run_turn(turn)
        finally:
            # Whatever went wrong, retries waiting on this turn must not wait for ever.
            turn.settle(TurnState.FAILED)
        self._learn_union_id(message.from_user)
        return self._answer(turn, connection, push, query)

    async def aclose(self) -> None:
        """Lets late deliveries finish (briefly), then cancels them. Call before the HTTP session closes."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_S)
            with contextlib.suppress(Exception):  # each delivery logs its own failure
                await cancel_and_wait(*pending)

    def check_signature(self, query: Mapping[str, str]) -> None:
        """Raises InvalidSignature unless the query is signed with the account token."""
        try:
            signature, timestamp, nonce = query["signature"], query["timestamp"], query["nonce"]
        except KeyError as exc:
            raise InvalidSignature("signature, timestamp or nonce missing") from exc
        verify_signature(self._settings.token, signature, timestamp, nonce)

    def _open(self, query: Mapping[str, str], body: bytes) -> _Push:
        self.check_signature(query)
        fields = parse_fields(body)
        encrypt = fields.get("Encrypt")
        if self._crypto is not None and encrypt:
            msg_signature = query.get("msg_signature")
            if not msg_signature:
                raise InvalidSignature("msg_signature missing")
            plain = self._crypto.verify_and_decrypt(msg_signature, query["timestamp"], query["nonce"], encrypt)
            return _Push(parse_message(parse_fields(plain)), encrypted=True)
        if self._settings.encoding_mode is EncodingMode.SAFE:
            raise MalformedMessage("safe mode requires an Encrypt element")
        return _Push(parse_message(fields), encrypted=False)

    async def _claim(self, key: str) -> bool:
        try:
            return await asyncio.wait_for(self._dedup.claim(key), timeout=DEDUP_CLAIM_TIMEOUT_S)
        except Exception:
            # Answering twice beats not answering: with the claim store down, every push is treated as new.
            log.exception("wechat dedup store failed; handling %s without a claim", key)
            return True

    async def _unsubscribe(self, message: UnsubscribeEvent) -> None:
        if self._on_unsubscribe is None or not await self._claim(message.dedup_key):
            return
        try:
            await self._on_unsubscribe(message.from_user)
        except Exception:
            log.exception("wechat unsubscribe hook failed for a customer")

    def _learn_union_id(self, openid: str) -> None:
        """In the background, at most once per `UNION_ID_RECHECK_S` per OpenID here: ask WeChat for the UnionID."""
        now = self._clock()
        if self._on_union_id is None or now - self._union_asked.get(openid, -UNION_ID_RECHECK_S) < UNION_ID_RECHECK_S:
            return
        if len(self._union_asked) >= UNION_ID_MEMORY_ENTRIES:
            for old in sorted(self._union_asked, key=self._union_asked.__getitem__)[: UNION_ID_MEMORY_ENTRIES // 2]:
                del self._union_asked[old]
        self._union_asked[openid] = now
        task = asyncio.create_task(self._ask_union_id(openid, self._on_union_id))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _ask_union_id(self, openid: str, hook: UnionIdHook) -> None:
        try:
            union = await self._cs.union_id(openid)
        except WeChatError as exc:
            log.warning("wechat user info failed: %s", exc)
            return
        if union is None:
            return
        try:
            await hook(openid, union)
        except Exception:
            log.exception("wechat UnionID hook failed for a customer")

    async def _run_turn(self, turn: _Turn) -> None:
        work = asyncio.create_task(self._produce(turn.message))
        remaining_s = turn.started_at + self._settings.reply_deadline_s - asyncio.get_running_loop().time()
        try:
            texts = await asyncio.wait_for(asyncio.shield(work), timeout=max(0.0, remaining_s))
        except TimeoutError:
            self._defer(turn, work)
        except asyncio.CancelledError:
            # The HTTP request went away; the customer still gets the answer, later.
            self._defer(turn, work)
            raise
        except Exception:
            log.exception("wechat pipeline failed for %s", turn.message.dedup_key)
            turn.settle(TurnState.FAILED)
        else:
            if len("\n\n".join(texts).encode("utf-8")) <= MAX_TEXT_BYTES:
                turn.settle(TurnState.PASSIVE, texts)
            else:  # more than one reply may carry: all of it through the CS API, in order
                self._defer(turn, work)

    def _defer(self, turn: _Turn, work: asyncio.Task[list[str]]) -> None:
        turn.settle(TurnState.DEFERRED)
        task = asyncio.create_task(self._deliver_late(turn.message.from_user, work))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver_late(self, openid: str, work: asyncio.Task[list[str]]) -> None:
        try:
            texts = await work
        except Exception:
            log.exception("wechat pipeline failed after the passive deadline")
            return
        for text in texts:
            try:
                await self._cs.send_text(openid, text)
            except WeChatError as exc:
                log.warning("wechat late reply not delivered: %s", exc)
                return
            except Exception:
                log.exception("wechat late reply not delivered")
                return

    async def _answer_retry(self, turn: _Turn, push: _Push, query: Mapping[str, str]) -> str:
        connection = turn.connect()
        if turn.state is TurnState.PENDING:
            log.info("wechat retry of %s waits for the first push's turn", turn.message.dedup_key)
            try:
                await asyncio.wait_for(turn.settled.wait(), timeout=self._settings.reply_deadline_s)
            except TimeoutError:
                return NO_REPLY
        return self._answer(turn, connection, push, query)

    def _answer(self, turn: _Turn, connection: int, push: _Push, query: Mapping[str, str]) -> str:
        # Only the newest connection answers: WeChat has stopped listening on older ones, and a reply on two
        # live connections would show the customer the same answer twice.
        if turn.state is not TurnState.PASSIVE or not turn.texts or connection != turn.connections:
            return NO_REPLY
        return self._render("\n\n".join(turn.texts), push)

    def _render(self, content: str, push: _Push) -> str:
        message = push.message
        reply = text_reply_xml(message.from_user, message.to_user, content, int(self._clock()))
        if not push.encrypted or self._crypto is None:
            return reply
        timestamp, nonce = str(int(self._clock())), str(secrets.randbelow(10**10))
        encrypt = self._crypto.encrypt(reply.encode("utf-8"))
        return encrypted_reply_xml(encrypt, self._crypto.sign(timestamp, nonce, encrypt), timestamp, nonce)

    def _forget_old_turns(self, now: float) -> None:
        # Turns are stored in arrival order, so the oldest are at the front.
        while self._turns:
            key, turn = next(iter(self._turns.items()))
            if now - turn.started_at < TURN_MEMORY_S or turn.state is TurnState.PENDING:
                break
            del self._turns[key]

    async def _produce(self, message: WeChatMessage) -> list[str]:
        """The texts answering `message`, one per visible reply."""
        settings = self._settings
        if isinstance(message, VoiceMessage) and message.recognition is None:
            return [settings.voice_fallback_text]
        if isinstance(message, OtherMessage):
            return [settings.unsupported_text] if message.msg_type != "event" else []
        inbound = self._inbound(message)
        if inbound is None:
            return []
        replies = await self._pipeline.receive(inbound)
        texts = message_texts(replies)
        if not texts and isinstance(message, SubscribeEvent):
            return [settings.welcome_text]
        if not texts and isinstance(message, ImageMessage):
            return [settings.image_ack_text]
        return texts

    def _inbound(self, message: WeChatMessage) -> InboundMessage | None:
        details: dict[str, Any] = {"account": message.to_user, "create_time": message.create_time}
        text, kind, payload = "", message.msg_type, None
        attachments: tuple[dict[str, Any], ...] = ()
        if isinstance(message, TextMessage):
            text = message.content
        elif isinstance(message, VoiceMessage):
            text, details["media_id"] = message.recognition or "", message.media_id
        elif isinstance(message, ImageMessage):
            attachments = ({"type": "image", "url": message.pic_url, "media_id": message.media_id},)
        elif isinstance(message, SubscribeEvent):  # a follow, or a follower scanning a parametric QR code
            kind, payload, details["scene"] = message.event, self._settings.subscribe_payload or None, message.scene
        elif isinstance(message, MenuClickEvent):
            mapped = self._settings.menu_payloads.get(message.event_key)
            if mapped is None:
                log.warning("wechat menu key %r has no mapping; ignored", message.event_key)
                return None
            # A mapping is either an intent payload ("/ask_question") or text the customer might have typed.
            kind, text, details["event_key"] = "menu", mapped, message.event_key
            payload = mapped if mapped.startswith("/") else None
        else:
            return None
        return InboundMessage(
            channel=CHANNEL,
            sender_id=message.from_user,
            text=text,
            payload=payload,
            # The account's own configuration chose these payloads, not the customer: no button had to offer them.
            trusted_payload=payload is not None,
            kind=kind,
            message_id=message.msg_id or message.dedup_key,
            attachments=attachments,
            metadata={"wechat": details},
            idle_close_s=self._settings.idle_close_s,
        )
