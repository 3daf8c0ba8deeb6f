"""Typed keys of everything the front door keeps in its `web.Application` (no module globals anywhere)."""

from __future__ import annotations

import aiohttp
import redis.asyncio as aioredis
from aiohttp import web

from backends.bus import EventBus
from backends.sql import Database
from bot.auth import StaffDirectory
from bot.pipeline import ConversationPipeline, OwnershipGate
from bot.rasa_client import RasaClient
from bot.settings import Settings
from conversations.store import ConversationStore

SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
BUS = web.AppKey("bus", EventBus)
HTTP = web.AppKey("http", aiohttp.ClientSession)
RASA = web.AppKey("rasa", RasaClient)
CONVERSATIONS = web.AppKey("conversations", ConversationStore)
PIPELINE = web.AppKey("pipeline", ConversationPipeline)
STAFF = web.AppKey("staff", StaffDirectory)
GATE = web.AppKey("gate", OwnershipGate)
REDIS = web.AppKey("redis", aioredis.Redis)  # set only when FD_REDIS_URL is configured
