"""One narrow SQL interface over SQLite (the embedded default) and PostgreSQL (for many replicas).

Stores write portable SQL with PostgreSQL-style `$1` placeholders; the SQLite backend rewrites them to `?1`, which
SQLite understands natively. Portable types only: TEXT, BIGINT, INTEGER (0/1 for booleans), DOUBLE PRECISION
(epoch seconds for times), TEXT holding JSON. This module must never know any store's tables.
"""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import asyncpg

from backends.exceptions import UnsupportedDatabaseURL

Row = Mapping[str, Any]

_PLACEHOLDER = re.compile(r"\$(\d+)")


class SQL(Protocol):
    """What a store may do with a connection or a transaction."""

    dialect: str

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...


class Database(SQL, Protocol):
    def transaction(self) -> Any:
        """An async context manager yielding an `SQL` whose statements commit or roll back together."""

    async def migrate(self, statements: Iterable[str]) -> None: ...

    async def close(self) -> None: ...


class _SQLiteSession:
    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(_PLACEHOLDER.sub(r"?\1", sql), args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._conn.execute(_PLACEHOLDER.sub(r"?\1", sql), args) as cursor:
            return [dict(row) for row in await cursor.fetchall()]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._conn.execute(_PLACEHOLDER.sub(r"?\1", sql), args) as cursor:
            row = await cursor.fetchone()
        return dict(row) if row is not None else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return next(iter(row.values())) if row else None


class SQLiteDatabase:
    """One connection, serialised by a lock: SQLite allows one writer, and WAL keeps readers cheap.

    Statements outside `transaction()` commit on their own; a transaction holds the lock from BEGIN to COMMIT so
    no other coroutine's statement lands inside it.
    """

    dialect = "sqlite"

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._session = _SQLiteSession(conn)
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, path: str) -> SQLiteDatabase:
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        conn = await aiosqlite.connect(path, isolation_level=None)
        conn.row_factory = sqlite3.Row
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        await conn.execute("PRAGMA foreign_keys=ON")
        await conn.execute("PRAGMA busy_timeout=5000")
        return cls(conn)

    async def execute(self, sql: str, *args: Any) -> None:
        async with self._lock:
            await self._session.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        async with self._lock:
            return await self._session.fetch(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        async with self._lock:
            return await self._session.fetchrow(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        async with self._lock:
            return await self._session.fetchval(sql, *args)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQL]:
        async with self._lock:
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._session
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise
            await self._conn.execute("COMMIT")

    async def migrate(self, statements: Iterable[str]) -> None:
        async with self.transaction() as tx:
            for statement in statements:
                await tx.execute(statement)

    async def close(self) -> None:
        await self._conn.close()


class _PostgresSession:
    dialect = "postgresql"

    def __init__(self, conn: asyncpg.Connection[Any] | asyncpg.Pool[Any]) -> None:
        self._conn = conn

    async def execute(self, sql: str, *args: Any) -> None:
        await self._conn.execute(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        return [dict(row) for row in await self._conn.fetch(sql, *args)]

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row = await self._conn.fetchrow(sql, *args)
        return dict(row) if row is not None else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._conn.fetchval(sql, *args)


class PostgresDatabase(_PostgresSession):
    """A connection pool; `schema` isolates deployments (and test runs) sharing one PostgreSQL database."""

    def __init__(self, pool: asyncpg.Pool[Any]) -> None:
        super().__init__(pool)
        self._pool = pool

    @classmethod
    async def open(cls, url: str, schema: str = "public", min_size: int = 1, max_size: int = 10) -> PostgresDatabase:
        if schema != "public":
            conn = await asyncpg.connect(url)
            try:
                await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            finally:
                await conn.close()
        pool = await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, server_settings={"search_path": schema}
        )
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQL]:
        async with self._pool.acquire() as conn, conn.transaction():
            yield _PostgresSession(conn)

    async def migrate(self, statements: Iterable[str]) -> None:
        async with self._pool.acquire() as conn, conn.transaction():
            # Replicas starting together must not race on CREATE TABLE IF NOT EXISTS.
            await conn.execute("SELECT pg_advisory_xact_lock(7411)")
            for statement in statements:
                await conn.execute(statement)

    async def close(self) -> None:
        await self._pool.close()


async def open_database(url: str, schema: str = "public") -> Database:
    """`sqlite:///relative/path.db`, `sqlite:////abs/path.db`, `sqlite://:memory:` or `postgresql://…`."""
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        path = path.removeprefix("/") if not path.startswith("//") else path[1:]
        return await SQLiteDatabase.open(path or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresDatabase.open(url, schema=schema)
    raise UnsupportedDatabaseURL(url)


def placeholders(count: int, start: int = 1) -> str:
    """`$1, $2, …` for an IN list or a VALUES row."""
    return ", ".join(f"${i}" for i in range(start, start + count))
