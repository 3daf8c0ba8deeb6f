"""Generic storage and messaging seams: an SQL database (SQLite or PostgreSQL) and an event bus (memory or Redis);
and the base of every package's environment settings."""

from backends.bus import EventBus, MemoryEventBus, RedisEventBus, Subscription
from backends.exceptions import BackendError, InvalidSettings, UnsupportedDatabaseURL
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
    "MemoryEventBus",
    "PostgresDatabase",
    "RedisEventBus",
    "SQLDatabase",
    "SQLiteDatabase",
    "Subscription",
    "UnsupportedDatabaseURL",
    "metadata",
    "open_database",
    "upsert",
]
