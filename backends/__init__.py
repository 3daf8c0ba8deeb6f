"""Generic storage and messaging seams: an SQL database (SQLite or PostgreSQL) and an event bus (memory or Redis)."""

from backends.bus import EventBus, MemoryEventBus, RedisEventBus, Subscription
from backends.exceptions import BackendError, UnsupportedDatabaseURL
from backends.schema import metadata
from backends.sql import SQL, Database, PostgresDatabase, SQLDatabase, SQLiteDatabase, open_database, upsert

__all__ = [
    "SQL",
    "BackendError",
    "Database",
    "EventBus",
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
