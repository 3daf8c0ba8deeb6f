"""Generic storage and messaging seams: an SQL database (SQLite or PostgreSQL), an event bus (memory or Redis), a
leader lock (in-process, PostgreSQL or Redis) with the periodic job it guards and rate limits (in-process or Redis);
and the base of every package's environment settings."""

from backends.bus import EventBus, MemoryEventBus, RedisEventBus, Subscription
from backends.exceptions import BackendError, InvalidSettings, UnsupportedDatabaseURL
from backends.locks import LeaderLock, LocalLeaderLock, PostgresLeaderLock, RedisLeaderLock, leader_lock
from backends.periodic import PeriodicJob
from backends.rate_limits import RateLimiter, rate_limit
from backends.schema import metadata
from backends.settings import EnvSettings
from backends.sql import SQL, Database, PostgresDatabase, SQLDatabase, SQLiteDatabase, open_database, upsert

__all__ = [
    "SQL",
    "BackendError",
    "Database",
    "EnvSettings",
    "EventBus",
    "InvalidSettings",
    "LeaderLock",
    "LocalLeaderLock",
    "MemoryEventBus",
    "PeriodicJob",
    "PostgresDatabase",
    "PostgresLeaderLock",
    "RateLimiter",
    "RedisEventBus",
    "RedisLeaderLock",
    "SQLDatabase",
    "SQLiteDatabase",
    "Subscription",
    "UnsupportedDatabaseURL",
    "leader_lock",
    "metadata",
    "open_database",
    "rate_limit",
    "upsert",
]
