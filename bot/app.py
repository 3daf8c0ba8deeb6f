"""The customer-facing front door: its services (`setup_services`) and its routes (`setup_customer_routes`).

`server.app.create_app` composes these with the staff program. Order matters: storage, the service record's writer
(`_record`: everything after it emits facts into it, and it closes last but storage) and the bus come first, then
the Rasa client, the survey dialogue, the handoff runtime, the pipeline, the ticket notices (`tell_customers`, which
builds the messenger), the follow-up after resolution and the knowledge base that use them, and last the SLA
scheduler, which so stops first. Each context opens its resource, yields while the app runs, and closes it, so tests
and `frontdoor serve` share one path.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from backends.bus import EventBus, MemoryEventBus, RedisEventBus
from backends.rate_limits import RateLimiter
from backends.sql import open_database
from backends.tasks import cancel_and_wait
from bot import api, faq, health, pages
from bot.actions_endpoint import setup_actions
from bot.analytics_alerts import analytics_alerts_context
from bot.analytics_projector import analytics_projector_context
from bot.catalogues import setup_catalogues
from bot.channels.base import InboundMessage
from bot.channels.socketio import setup_socketio
from bot.channels.wechat import WECHAT_CHANNEL, WeChatSettings, setup_wechat
from bot.follow_ups import follow_up_context
from bot.handoff_bridge import handoff_context
from bot.keys import (
    BUS,
    CONVERSATIONS,
    CUSTOMERS,
    DATABASE,
    GATE,
    HTTP,
    INTAKE,
    OPEN_CHATS,
    ORDERS,
    PIPELINE,
    RASA,
    RATE_LIMITER,
    RECORD,
    REDIS,
    SERVICE_RECORD,
    SETTINGS,
    TICKETS,
)
from bot.knowledge import kb_context
from bot.live_state import live_state_context
from bot.pipeline import ConversationPipeline
from bot.presence import OpenChats
from bot.rasa_client import RasaClient
from bot.settings import Settings
from bot.sla_scheduler import sla_scheduler_context
from bot.surveys import SURVEY_DIALOGUE, survey_context
from bot.telemetry import METRICS, setup_telemetry
from bot.ticket_notices import tell_customers
from bot.widget import setup_widget
from conversations.customers import CustomerRecords
from conversations.identity import IdentityKey, IdentityKind
from conversations.models import IdentitySource, MergeReason, Message
from conversations.store import ConversationStore
from intake.orders import order_lookup
from intake.recording import TicketFacts
from intake.tickets import TicketStore
from migrations import upgrade_database
from record import SQLServiceRecord
from web.http import BODY_LIMIT

log = logging.getLogger(__name__)


async def _storage(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    db = await open_database(settings.effective_database_url, schema=settings.database_schema)
    app[DATABASE] = db
    app[CONVERSATIONS] = ConversationStore(db)
    app[TICKETS] = TicketStore.numbered_by(db, app[INTAKE])
    # A merge of two customer records moves their tickets in the same transaction.
    app[CUSTOMERS] = CustomerRecords(db, movers={"tickets": app[TICKETS]})
    # Every replica upgrades on start; the migration lock makes the ones starting together take turns.
    await upgrade_database(db)
    yield
    await db.close()


async def _record(app: web.Application) -> AsyncIterator[None]:
    """The service record's writer, right after storage: every context after this one can emit facts, and it
    closes (writing what is buffered) after they have all stopped, before the database does."""
    settings = app[SETTINGS]
    store = SQLServiceRecord(app[DATABASE])
    app[SERVICE_RECORD] = store
    if not settings.record.enabled:
        log.warning("the service record is off (FD_RECORD_ENABLED=0): no facts are kept for reports")
        yield
        return
    writer = settings.record.writer(store)
    writer.start()
    app[RECORD] = writer
    # The stores storage made before this context: conversations' opening and closing, every ticket event.
    app[CONVERSATIONS].recorder = writer
    facts = TicketFacts(writer)
    app[TICKETS].add_listener(facts)
    yield
    app[TICKETS].remove_listener(facts)
    app[CONVERSATIONS].recorder = None
    await writer.close()


async def _bus(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    # A blocking pool: under a burst, callers wait for a connection instead of failing (redis-py 8 raises otherwise).
    # After Redis restarts, every pooled connection is dead; one retry on a fresh connection makes the first command
    # on each succeed instead of failing once per connection. Only connection errors are retried: a timeout may mean
    # the command ran.
    pool = (
        aioredis.BlockingConnectionPool.from_url(
            settings.redis_url, max_connections=64, retry=Retry(NoBackoff(), 1), retry_on_error=[RedisConnectionError]
        )
        if settings.redis_url
        else None
    )
    client = aioredis.Redis(connection_pool=pool) if pool is not None else None
    bus: EventBus = RedisEventBus(client) if client is not None else MemoryEventBus()
    app[BUS] = bus
    if client is not None:
        app[REDIS] = client
    # Rate limits count on the same pool, so every replica sees every hit (in-process without Redis).
    app[RATE_LIMITER] = RateLimiter(client, settings.redis_url)
    yield
    await bus.close()
    if client is not None:
        await client.aclose()


async def _rasa(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=200, keepalive_timeout=60))
    app[HTTP] = session
    rasa = RasaClient(session, settings.rasa_urls, settings.rasa_timeout_s, max_turns=settings.rasa_max_turns)
    app[RASA] = rasa

    async def count_waiting() -> None:
        app[METRICS].rasa_turns_waiting.set(rasa.waiting)

    app[METRICS].before_scrape.append(count_waiting)
    # The order system shares the client session: the actions check order numbers, the staff pages list orders.
    orders = order_lookup(settings.intake, session)
    if orders is not None:
        app[ORDERS] = orders
    else:
        log.info("no order system configured: order numbers are accepted by their format, not looked up")
    yield
    await session.close()


async def _pipeline(app: web.Application) -> AsyncIterator[None]:
    tickets = app[TICKETS]

    async def ticket_clocks(conversation_id: str, text: str) -> object:
        # A customer writing in a ticket's chat reopens it (within 7 days), resumes it, or starts its reply clock.
        return await tickets.customer_message(conversation_id, text=text)

    recorder = app.get(RECORD)
    app[PIPELINE] = ConversationPipeline(
        app[CONVERSATIONS],
        app[RASA],
        app[BUS],
        app[GATE],
        observer=app[METRICS],
        on_customer_message=ticket_clocks,
        surveys=app[SURVEY_DIALOGUE],
        recorder=recorder,
        typing_after_s=app[SETTINGS].typing_after_s,
    )
    yield


async def _open_chats(app: web.Application) -> AsyncIterator[None]:
    """One loop for every customer socket on this replica: their chat windows are reported open each interval."""
    pipeline = app[PIPELINE]
    chats = OpenChats(pipeline, pipeline.presence_interval_s)
    app[OPEN_CHATS] = chats

    async def count_open() -> None:
        app[METRICS].open_chats.set(len(chats))

    app[METRICS].before_scrape.append(count_open)
    loop = asyncio.create_task(chats.run(), name="open-chats-presence")
    yield
    await cancel_and_wait(loop)


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

    async def union_id(openid: str, union: str) -> None:
        # WeChat vouches for it: the same UnionID on another record (another account's OpenID) is the same person.
        customer, _ = await app[CONVERSATIONS].customer_for_identity("wechat", openid)
        await app[CUSTOMERS].link_proven(
            customer.id,
            [IdentityKey(IdentityKind.WECHAT_UNION.value, union)],
            detail={"app_id": wechat.app_id},
            source=IdentitySource.WECHAT,
            reason=MergeReason.WECHAT_UNION,
        )

    async def register_channel(app: web.Application) -> AsyncIterator[None]:
        app[PIPELINE].register_channel(app[WECHAT_CHANNEL])
        yield

    setup_wechat(
        app,
        wechat,
        _AppPipeline(app),
        redis=REDIS if settings.redis_url else None,
        on_unsubscribe=unsubscribed,
        on_union_id=union_id,
    )
    app.cleanup_ctx.append(register_channel)


def setup_services(app: web.Application, settings: Settings) -> None:
    """What both programs run on: storage, the service record, bus, Rasa client, surveys, handoff runtime, pipeline,
    what reaches a ticket's customer and the follow-up after resolution, knowledge base, the SLA scheduler, the
    analytics projector and the KPI targets' check (every replica runs their loops; one at a time does a pass)."""
    app[SETTINGS] = settings
    # The one business calendar and SLA policy, built once: tickets, the actions, the console and handoff's opening
    # hours and chat deadlines all read this object.
    app[INTAKE] = settings.intake_settings()
    app[BODY_LIMIT] = settings.max_body_bytes
    app.cleanup_ctx.extend(
        [
            _storage,
            _record,
            _bus,
            _rasa,
            survey_context,
            handoff_context,
            live_state_context,
            _pipeline,
            tell_customers,
            follow_up_context,
            kb_context,
            sla_scheduler_context,
            analytics_projector_context,
            analytics_alerts_context,
        ]
    )
    app.add_routes(health.routes)
    setup_catalogues(app)
    setup_telemetry(app)


def setup_customer_routes(app: web.Application, settings: Settings) -> None:
    """The customers' side: chat API, demo page, widget, Socket.IO, WeChat, and the actions webhook Rasa calls."""
    app.add_routes(api.routes)
    app.add_routes(faq.routes)
    app.add_routes(pages.routes)
    wechat = settings.wechat.account()
    if wechat is not None:
        _mount_wechat(app, settings, wechat)
    setup_widget(app)
    # Before Socket.IO's context, so it closes after the sockets that use it.
    app.cleanup_ctx.append(_open_chats)
    setup_socketio(app)
    setup_actions(app)
