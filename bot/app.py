"""The front door's `web.Application`: `create_app(settings)` wires every resource through `cleanup_ctx`.

Order matters: storage and the bus come first, then the Rasa client, then the pipeline that uses them all. Each
context opens its resource, yields while the app runs, and closes it, so tests and `frontdoor serve` share one path.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from backends.bus import EventBus, MemoryEventBus, RedisEventBus
from backends.sql import open_database
from bot import api, health, pages, staff_pages
from bot.actions_endpoint import setup_actions
from bot.auth import StaffDirectory
from bot.catalogues import setup_catalogues
from bot.channels.base import InboundMessage
from bot.channels.socketio import setup_socketio
from bot.channels.wechat import WECHAT_CHANNEL, WeChatSettings, setup_wechat
from bot.console import setup_console
from bot.handoff_bridge import handoff_context
from bot.keys import BUS, CONVERSATIONS, DATABASE, GATE, HTTP, PIPELINE, RASA, REDIS, SETTINGS, STAFF
from bot.pipeline import ConversationPipeline
from bot.rasa_client import RasaClient
from bot.settings import Settings
from bot.tickets_api import setup_tickets
from bot.widget import setup_widget
from conversations.models import Message
from conversations.store import ConversationStore
from kb.editor import setup_kb

log = logging.getLogger(__name__)


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    app[DATABASE] = db
    app[CONVERSATIONS] = ConversationStore(db)
    app[STAFF] = StaffDirectory(db)
    await app[CONVERSATIONS].migrate()
    await app[STAFF].migrate()
    yield
    await db.close()


async def _bus(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # A blocking pool: under a burst, callers wait for a connection instead of failing (redis-py 8 raises otherwise).
    client = (
        aioredis.Redis(connection_pool=aioredis.BlockingConnectionPool.from_url(settings.redis_url, max_connections=64))
        if settings.redis_url
        else None
    )
    bus: EventBus = RedisEventBus(client) if client is not None else MemoryEventBus()
    app[BUS] = bus
    if client is not None:
        app[REDIS] = client
    yield
    await bus.close()
    if client is not None:
        await client.aclose()


async def _rasa(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=60))
    app[HTTP] = session
    app[RASA] = RasaClient(session, settings.rasa_url, settings.rasa_timeout_s)
    yield
    await session.close()


async def _pipeline(app: web.Application) -> AsyncIterator[None]:
    app[PIPELINE] = ConversationPipeline(app[CONVERSATIONS], app[RASA], app[BUS], app[GATE])
    yield


class _AppPipeline:
    """The pipeline as channels see it before startup: it exists only once the app's contexts have run."""

    def __init__(self, app: web.Application) -> None:
        self._app = app

    async def receive(self, inbound: InboundMessage) -> list[Message]:
        return await self._app[PIPELINE].receive(inbound)


def _mount_wechat(app: web.Application, settings: Settings, wechat: WeChatSettings) -> None:
    async def unsubscribed(openid: str) -> None:
        customer, _ = await app[CONVERSATIONS].customer_for_identity("wechat", openid)
        await app[CONVERSATIONS].mark_unsubscribed(customer.id)

    async def register_channel(app: web.Application) -> AsyncIterator[None]:
        app[PIPELINE].register_channel(app[WECHAT_CHANNEL])
        yield

    setup_wechat(
        app, wechat, _AppPipeline(app), redis=REDIS if settings.redis_url else None, on_unsubscribe=unsubscribed
    )
    app.cleanup_ctx.append(register_channel)


def create_app(settings: Settings) -> web.Application:
    app = web.Application(client_max_size=settings.max_body_bytes, middlewares=[api.error_middleware])
    app[SETTINGS] = settings
    app.cleanup_ctx.extend([_storage, _bus, _rasa, handoff_context, _pipeline])
    app.add_routes(api.routes)
    app.add_routes(health.routes)
    app.add_routes(pages.routes)
    app.add_routes(staff_pages.routes)
    if settings.wechat is not None:
        _mount_wechat(app, settings, settings.wechat)
    setup_widget(app)
    setup_catalogues(app)
    setup_socketio(app)
    setup_console(app)
    setup_kb(app)
    setup_actions(app)
    setup_tickets(app)
    return app
