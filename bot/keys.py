"""Typed keys of everything the front door keeps in its `web.Application` (no module globals anywhere)."""

from __future__ import annotations

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from backends.bus import EventBus
from backends.periodic import PeriodicJob
from backends.rate_limits import RateLimiter
from backends.sql import Database
from bot.deliveries import CustomerMessenger
from bot.pipeline import ConversationPipeline, OwnershipGate
from bot.presence import OpenChats
from bot.rasa_client import RasaClient
from bot.settings import Settings
from conversations.customers import CustomerRecords
from conversations.store import ConversationStore
from conversations.surveys import SurveyStore
from intake.deliveries import DeliveryLog
from intake.follow_ups import FollowUpScheduler
from intake.orders import OrderSystem
from intake.settings import IntakeSettings
from intake.tickets import TicketStore
from kb.service import KBSettings, KnowledgeBaseService
from record import RecordWriter, SQLServiceRecord

SETTINGS = web.AppKey("settings", Settings)
# Intake's settings on the one business calendar (FD_CALENDAR_*), built once from SETTINGS when the app is set up.
INTAKE = web.AppKey("intake", IntakeSettings)
DATABASE = web.AppKey("database", Database)
BUS = web.AppKey("bus", EventBus)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
CONVERSATIONS = web.AppKey("conversations", ConversationStore)
PIPELINE = web.AppKey("pipeline", ConversationPipeline)
GATE = web.AppKey("gate", OwnershipGate)
# The conversations with a customer's socket open on this replica, and the one loop that reports them present.
OPEN_CHATS = web.AppKey("open_chats", OpenChats)
REDIS = web.AppKey("redis", aioredis.Redis)  # set only when FD_REDIS_URL is configured
# The rate limits (FD_LIMITS_*): staff login failures, new conversations, customer messages; in Redis when configured.
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
KB = web.AppKey("kb", KnowledgeBaseService)
KB_SETTINGS = web.AppKey("kb_settings", KBSettings)  # optional: set before start-up to override the environment
# Intake's ticket store: the actions write tickets into it, the staff ticket pages work them.
TICKETS = web.AppKey("tickets", TicketStore)
# The customer record across channels (customer 360): identities, proofs, merges, what agents edit.
CUSTOMERS = web.AppKey("customers", CustomerRecords)
# The shop's order system (FD_INTAKE_ORDER_API_URL, or the demo orders); set only when one is configured.
ORDERS = web.AppKey("orders", OrderSystem)
# The analytics projector's loop on this replica (bot.analytics_projector); absent when FD_ANALYTICS_PROJECT_S is 0.
ANALYTICS_PROJECTOR = web.AppKey("analytics_projector", PeriodicJob)
# The KPI targets' breach check on this replica (bot.analytics_alerts); absent when FD_ANALYTICS_TARGET_CHECK_S is 0.
ANALYTICS_ALERTS = web.AppKey("analytics_alerts", PeriodicJob)
# The SLA watcher's loop on this replica (bot.sla_scheduler); absent when FD_INTAKE_SLA_CHECK_S is 0.
SLA_SCHEDULER = web.AppKey("sla_scheduler", PeriodicJob)
# The satisfaction surveys: after a live chat and the follow-up after a resolved ticket.
SURVEYS = web.AppKey("surveys", SurveyStore)
# Every attempt to reach a ticket's customer (`intake_deliveries`), and what makes them.
DELIVERIES = web.AppKey("deliveries", DeliveryLog)
MESSENGER = web.AppKey("messenger", CustomerMessenger)
# The follow-up after resolution: its due-time table and the pass that asks and reminds.
FOLLOW_UPS = web.AppKey("follow_ups", FollowUpScheduler)
# The service record: the writer every emitter sends its facts to (absent when FD_RECORD_ENABLED=0), and the SQL
# record reports read.
RECORD = web.AppKey("record", RecordWriter)
SERVICE_RECORD = web.AppKey("service_record", SQLServiceRecord)
