"""Generic storage and messaging seams: an SQL database (SQLite or PostgreSQL) and an event bus (memory or Redis)."""

from backends.bus import EventBus, MemoryEventBus, RedisEventBus, Subscription
from backends.exceptions import BackendError, UnsupportedDatabaseURL
from backends.sql import SQL, Database, PostgresDatabase, SQLiteDatabase, open_database, placeholders

__all__ = [
    "SQL",
    "BackendError",
    "Database",
    "EventBus",
    "MemoryEventBus",
    "PostgresDatabase",
    "RedisEventBus",
    "SQLiteDatabase",
    "Subscription",
    "UnsupportedDatabaseURL",
    "open_database",
    "placeholders",
]
