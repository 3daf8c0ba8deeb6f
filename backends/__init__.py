"""Generic storage and messaging seams: an SQL database (SQLite or PostgreSQL) and an event bus (memory or Redis);
and the base of every package's environment settings."""

from backends.bus import EventBus, MemoryEventBus, RedisEventBus, Subscription
from backends.exceptions import BackendError, InvalidSettings, UnsupportedDatabaseURL
from backends.settings import EnvSettings
from backends.sql import SQL, Database, PostgresDatabase, SQLiteDatabase, open_database, placeholders

__all__ = [
    "SQL",
    "BackendError",
    "Database",
    "EnvSettings",
    "EventBus",
    "InvalidSettings",
    "MemoryEventBus",
    "PostgresDatabase",
    "RedisEventBus",
    "SQLiteDatabase",
    "Subscription",
    "UnsupportedDatabaseURL",
    "open_database",
    "placeholders",
]
