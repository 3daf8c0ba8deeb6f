"""The aiohttp side of the WeChat connector and its `ChannelAdapter`.

Owns: the GET (URL verification) and POST (push) handlers, the `cleanup_ctx` that owns the HTTP session, token
store, deduplicator and late-delivery tasks, the typed `web.AppKey`s, and `WeChatChannel.deliver` for messages
created outside a request (agent replies), with `send_template` for notices outside the 48-hour window.
Must never: answer a bad push with a 500, read more than `max_body_bytes` of a body, or keep state in globals.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Sequence

import aiohttp
from aiohttp import web
from redis.asyncio import Redis

from bot.channels.base import TemplateNotice
from bot.channels.wechat.api import (
    AccessTokenHolder,
    AccessTokenStore,
    CustomerServiceClient,
    MemoryAccessTokenStore,
    RedisAccessTokenStore,
)
from bot.channels.wechat.constants import NO_REPLY
from bot.channels.wechat.dedup import MemoryDeduplicator, MessageDeduplicator, RedisDeduplicator
from bot.channels.wechat.exceptions import BodyTooLarge, InboundRejected, WeChatError
from bot.channels.wechat.inbound import InboundPipeline, UnionIdHook, UnsubscribeHook, WeChatInbound
from bot.channels.wechat.messages import message_texts
from bot.channels.wechat.settings import WeChatSettings
from conversations.models import Conversation, Message

log = logging.getLogger(__name__)

READ_CHUNK_BYTES = 16 * 1024


class WeChatChannel:
    """Delivers messages to a WeChat customer through the CS API (`conversation.external_id` is the OpenID), and
    notices outside the CS window as the account's template message (`TemplateChannel`), when one is configured.

    Raises `OutsideServiceWindow` when the customer last wrote more than 48 hours ago, `QuotaExceeded` when
    WeChat's per-customer limit is used up, and other `WeChatError`s; the caller decides what to tell the agent.
    """

    def __init__(self, client: CustomerServiceClient, settings: WeChatSettings | None = None) -> None:
        self._client = client
        self._settings = settings

    @property
    def name(self) -> str:
        return "wechat"

    @property
    def templates_enabled(self) -> bool:
        return self._settings is not None and bool(self._settings.template_id)

    async def deliver(self, conversation: Conversation, messages: Sequence[Message]) -> None:
        openid = self._openid(conversation)
        for text in message_texts(messages):  # a long agent reply goes in pieces WeChat accepts, in order
            await self._client.send_text(openid, text)

    async def send_template(self, conversation: Conversation, notice: TemplateNotice) -> None:
        """The notice as the configured template message. Raises WeChatError (also when none is configured)."""
        if self._settings is None or not self._settings.template_id:
            raise WeChatError("no template message is configured (FD_WECHAT_TEMPLATE_ID)")
        values = {"title": notice.title, "reference": notice.reference, "status": notice.status, "text": notice.text}
        data = {key: values[name] for name, key in self._settings.template_fields.items()}
        await self._client.send_template(
            self._openid(conversation), self._settings.template_id, data, self._settings.template_url
        )

    @staticmethod
    def _openid(conversation: Conversation) -> str:
        if not conversation.external_id:
            raise WeChatError(f"conversation {conversation.id} has no WeChat OpenID")
        return conversation.external_id


WECHAT_INBOUND = web.AppKey("wechat_inbound", WeChatInbound)
WECHAT_CHANNEL = web.AppKey("wechat_channel", WeChatChannel)
WECHAT_CS_CLIENT = web.AppKey("wechat_cs_client", CustomerServiceClient)


async def verify_url(request: web.Request) -> web.Response:
    try:
        echostr = request.config_dict[WECHAT_INBOUND].verify_url(request.query)
    except InboundRejected as exc:
        log.warning("wechat URL verification rejected from %s: %s", request.remote, exc)
        return web.Response(status=exc.status, text=type(exc).__name__)
    return web.Response(text=echostr)


async def receive_push(request: web.Request) -> web.Response:
    inbound = request.config_dict[WECHAT_INBOUND]
    try:
        # Unsigned requests are turned away before their body is read.
        inbound.check_signature(request.query)
        body = await _read_limited(request, inbound.max_body_bytes)
        answer = await inbound.handle_push(request.query, body)
    except InboundRejected as exc:
        log.warning("wechat push rejected from %s: %s: %s", request.remote, type(exc).__name__, exc)
        return web.Response(status=exc.status, text=type(exc).__name__)
    except Exception:
        # A 5xx makes WeChat retry and then tell the customer the account is unavailable; "success" does not.
        log.exception("wechat push failed unexpectedly")
        return web.Response(text=NO_REPLY)
    if answer == NO_REPLY:
        return web.Response(text=answer)
    return web.Response(text=answer, content_type="application/xml")


async def _read_limited(request: web.Request, limit: int) -> bytes:
    if request.content_length is not None and request.content_length > limit:
        raise BodyTooLarge(f"body of {request.content_length} bytes exceeds {limit}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_chunked(READ_CHUNK_BYTES):
        size += len(chunk)
        if size > limit:
            raise BodyTooLarge(f"body exceeds {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def wechat_routes(path: str = "/wechat") -> list[web.RouteDef]:
    """GET verification and POST pushes at `path`. Needs the context `setup_wechat` installs."""
    return [web.get(path, verify_url, allow_head=False), web.post(path, receive_push)]


def setup_wechat(
    app: web.Application,
    settings: WeChatSettings,
    pipeline: InboundPipeline,
    *,
    path: str = "/wechat",
    redis: Redis | web.AppKey[Redis] | None = None,
    on_unsubscribe: UnsubscribeHook | None = None,
    on_union_id: UnionIdHook | None = None,
) -> None:
    """Mounts the WeChat connector on `app`.

    With `redis` (a client, or the AppKey under which an earlier cleanup_ctx stores one) the access token and
    message claims are shared by all replicas; without it they live in this process. After startup,
    `app[WECHAT_CHANNEL]` is the `ChannelAdapter` for agent replies. With `settings.learn_union_id`, `on_union_id`
    hears each customer's UnionID after their turn.
    """

    async def wechat_context(app: web.Application) -> AsyncIterator[None]:
        client_redis = app[redis] if isinstance(redis, web.AppKey) else redis
        token_store: AccessTokenStore
        deduplicator: MessageDeduplicator
        if client_redis is None:
            token_store, deduplicator = MemoryAccessTokenStore(), MemoryDeduplicator(settings.app_id)
        else:
            token_store = RedisAccessTokenStore(client_redis, settings.app_id)
            deduplicator = RedisDeduplicator(client_redis, settings.app_id)
        async with aiohttp.ClientSession() as session:
            client = CustomerServiceClient(session, settings, AccessTokenHolder(session, settings, token_store))
            inbound = WeChatInbound(settings, pipeline, deduplicator, client, on_unsubscribe, on_union_id=on_union_id)
            app[WECHAT_INBOUND] = inbound
            app[WECHAT_CS_CLIENT] = client
            app[WECHAT_CHANNEL] = WeChatChannel(client, settings)
            try:
                yield
            finally:
                await inbound.aclose()

    app.cleanup_ctx.append(wechat_context)
    app.router.add_routes(wechat_routes(path))
