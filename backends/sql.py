"""One narrow SQL interface over SQLite (the embedded default) and PostgreSQL (for many replicas), on SQLAlchemy Core.

Stores pass SQLAlchemy Core statements over their own `Table`s (or `text()` with named parameters); there is no
placeholder rewriting. SQLite runs on aiosqlite with WAL, foreign keys and a busy timeout, every statement serialised
by one lock (SQLite allows one writer); PostgreSQL runs on asyncpg with the configured schema as its search_path.
Schema changes are Alembic revisions (`migrations/`), run under `migration_connection()`'s database-wide lock. This
module must never know any store's tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any, Protocol

import aiosqlite
import asyncpg
from sqlalchemy import Table, event, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool
from sqlalchemy.sql.expression import Executable

from backends.exceptions import UnsupportedDatabaseURL

log = logging.getLogger(__name__)

Row = Mapping[str, Any]
# A sequence of mappings runs the statement once per mapping, as one batch (the driver's executemany).
Params = Mapping[str, Any] | Sequence[Mapping[str, Any]] | None

# Any constant works as long as nothing else in the database takes the same advisory lock.
MIGRATION_LOCK_KEY = 7411
SQLITE_BUSY_TIMEOUT_MS = 5000
# How long a replica waits for another one's schema upgrade of a shared SQLite file before giving up (seconds).
MIGRATION_WAIT_S = 300.0

_SQLITE_PRAGMAS = (
    # The busy timeout first: switching to WAL takes a lock, and without it a process sharing the file with one
    # that is upgrading it fails at once with "database is locked".
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
)
# The execution option that picks how an SQLite transaction begins (see `_sqlite_engine`).
_SQLITE_BEGIN = "fd_sqlite_begin"


class SQL(Protocol):
    """What a store may do with a connection or a transaction."""

    dialect: str

    async def execute(self, statement: Executable, params: Params = None) -> int:
        """Runs a statement; returns the number of rows it changed (-1 when the driver does not say: asyncpg, for a
        batch)."""

    async def fetch(self, statement: Executable, params: Params = None) -> list[Row]: ...

    async def fetchrow(self, statement: Executable, params: Params = None) -> Row | None: ...

    async def fetchval(self, statement: Executable, params: Params = None) -> Any: ...


class Database(SQL, Protocol):
    engine: AsyncEngine

    def transaction(self) -> AbstractAsyncContextManager[SQL]:
        """An `SQL` whose statements commit together, or roll back together when the block raises."""

    def migration_connection(self) -> AbstractAsyncContextManager[AsyncConnection]:
        """A connection in one transaction holding the database-wide migration lock, for Alembic."""

    async def close(self) -> None: ...


class _Session:
    def __init__(self, conn: AsyncConnection, dialect: str) -> None:
        self._conn = conn
        self.dialect = dialect

    async def execute(self, statement: Executable, params: Params = None) -> int:
        result = await self._conn.execute(statement, params)
        return int(result.rowcount)

    async def fetch(self, statement: Executable, params: Params = None) -> list[Row]:
        result = await self._conn.execute(statement, params)
        return [dict(row) for row in result.mappings()]

    async def fetchrow(self, statement: Executable, params: Params = None) -> Row | None:
        result = await self._conn.execute(statement, params)
        row = result.mappings().first()
        return dict(row) if row is not None else None

    async def fetchval(self, statement: Executable, params: Params = None) -> Any:
        result = await self._conn.execute(statement, params)
        return result.scalar()


class SQLDatabase:
    """An `AsyncEngine` behind the `Database` interface; `SQLiteDatabase` and `PostgresDatabase` open one."""

    def __init__(self, engine: AsyncEngine, *, serialise: bool) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._autocommit = (
            engine.execution_options(isolation_level="AUTOCOMMIT")
            if self.dialect == "postgresql"
            # The sqlite3 module runs in autocommit mode here (see `_sqlite_engine`); only skip the explicit BEGIN.
            else engine.execution_options(**{_SQLITE_BEGIN: ""})
        )
        # SQLite: one statement or transaction at a time, so no coroutine's statement lands inside another's
        # transaction and writers never wait on each other's locks.
        self._lock = asyncio.Lock() if serialise else None

    def _serialised(self) -> AbstractAsyncContextManager[Any]:
        return self._lock if self._lock is not None else contextlib.nullcontext()

    @asynccontextmanager
    async def _connection(self, engine: AsyncEngine, *, begin: bool) -> AsyncIterator[AsyncConnection]:
        async with self._serialised():
            conn = await engine.connect()
            try:
                if begin:
                    async with conn.begin():
                        yield conn
                else:
                    yield conn
            finally:
                await _close_even_if_cancelled(conn)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[SQL]:
        async with self._connection(self.engine, begin=True) as conn:
            yield _Session(conn, self.dialect)

    @asynccontextmanager
    async def _single(self) -> AsyncIterator[SQL]:
        """One statement on its own, committed by the database as it runs (no BEGIN/COMMIT round trips)."""
        async with self._connection(self._autocommit, begin=False) as conn:
            yield _Session(conn, self.dialect)

    async def execute(self, statement: Executable, params: Params = None) -> int:
        async with self._single() as session:
            return await session.execute(statement, params)

    async def fetch(self, statement: Executable, params: Params = None) -> list[Row]:
        async with self._single() as session:
            return await session.fetch(statement, params)

    async def fetchrow(self, statement: Executable, params: Params = None) -> Row | None:
        async with self._single() as session:
            return await session.fetchrow(statement, params)

    async def fetchval(self, statement: Executable, params: Params = None) -> Any:
        async with self._single() as session:
            return await session.fetchval(statement, params)

    @asynccontextmanager
    async def migration_connection(self) -> AsyncIterator[AsyncConnection]:
        # SQLite: BEGIN IMMEDIATE holds the file's write lock until commit, which excludes other processes too.
        # PostgreSQL: replicas starting together queue on the advisory lock, and each sees the others' commits.
        async with contextlib.AsyncExitStack() as stack:
            conn = await self._begin_migration(stack)
            if self.dialect == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            yield conn

    async def _begin_migration(self, stack: contextlib.AsyncExitStack) -> AsyncConnection:
        """A migration transaction, waiting up to MIGRATION_WAIT_S for another process's upgrade of the same SQLite
        file: that one holds the write lock for its whole upgrade, which on a loaded machine outlasts the busy
        timeout meant for single statements."""
        deadline = asyncio.get_running_loop().time() + MIGRATION_WAIT_S
        while True:
            try:
                return await stack.enter_async_context(self._connection(self.engine, begin=True))
            except OperationalError as exc:
                locked = self.dialect == "sqlite" and "database is locked" in str(exc)
                if not locked or asyncio.get_running_loop().time() > deadline:
                    raise
                log.info("waiting for another process's upgrade of the SQLite file")
                await asyncio.sleep(0.2)

    async def close(self) -> None:
        # Waits for the statement in flight on SQLite; the pool then closes every connection it holds.
        async with self._serialised():
            await self.engine.dispose()


async def _close_even_if_cancelled(conn: AsyncConnection) -> None:
    """Hands the connection back (rolling back anything left open) before the lock lets the next coroutine in, even
    when the task is being cancelled: otherwise the next user could meet a rollback still in flight."""
    closing = asyncio.ensure_future(conn.close())
    cancelled = False
    while not closing.done():
        try:
            await asyncio.shield(closing)
        except asyncio.CancelledError:
            cancelled = True
    closing.result()
    if cancelled:
        raise asyncio.CancelledError


def _sqlite_engine(path: str, daemon: bool) -> AsyncEngine:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)

    async def daemon_connection() -> aiosqlite.Connection:
        connection = aiosqlite.connect(path, check_same_thread=False)
        # aiosqlite's worker thread is not a daemon, so an unclosed throwaway database would keep the process (and
        # pytest) from exiting.
        connection._thread.daemon = True
        return await connection

    engine = create_async_engine(
        URL.create("sqlite+aiosqlite", database=None if path == ":memory:" else path),
        # One connection, like the lock: `dispose()` closes it even if a cancelled task never handed it back.
        poolclass=StaticPool,
        **({"async_creator": daemon_connection} if daemon else {}),
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transactions away from the sqlite3 module (it begins them lazily and not before DDL); `_begin` below
        # emits BEGIN itself, as SQLAlchemy's aiosqlite documentation recommends.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(conn: Any) -> None:
        # A transaction that may read before it writes takes the write lock up front, so two processes sharing the
        # file never deadlock upgrading their read locks; a lone statement needs no transaction at all.
        begin = conn.get_execution_options().get(_SQLITE_BEGIN, "BEGIN IMMEDIATE")
        if begin:
            conn.exec_driver_sql(begin)

    return engine


class SQLiteDatabase(SQLDatabase):
    """One file (or memory) on one connection, every statement and transaction serialised by a lock."""

    @classmethod
    async def open(cls, path: str, *, daemon: bool = False) -> SQLiteDatabase:
        """`daemon`: for a throwaway database nobody closes, whose driver thread must not keep the process alive."""
        return cls(_sqlite_engine(path, daemon), serialise=True)


class PostgresDatabase(SQLDatabase):
    """A connection pool; `schema` isolates deployments (and test runs) sharing one PostgreSQL database."""

    @classmethod
    async def open(cls, url: str, schema: str = "public", pool_size: int = 10) -> PostgresDatabase:
        if schema != "public":
            await _create_schema(url, schema)
        engine = create_async_engine(
            _asyncpg_url(make_url(url)),
            pool_size=pool_size,
            max_overflow=0,
            connect_args={"server_settings": {"search_path": schema}},
        )
        return cls(engine, serialise=False)


def _asyncpg_url(url: URL) -> URL:
    return url.set(drivername="postgresql+asyncpg")


async def _create_schema(url: str, schema: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            # Replicas starting together would otherwise race on the schema's catalogue row.
            await conn.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK_KEY)
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    finally:
        await conn.close()


async def open_database(url: str, schema: str = "public") -> Database:
    """`sqlite:///relative/path.db`, `sqlite:////abs/path.db`, `sqlite://:memory:` or `postgresql://…`.

    The tables are Alembic's to create: run `migrations.upgrade(db)` (the app does at start) before using stores.
    """
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        path = path.removeprefix("/") if not path.startswith("//") else path[1:]
        return await SQLiteDatabase.open(path or ":memory:")
    if url.startswith(("postgresql://", "postgres://")):
        return await PostgresDatabase.open(url, schema=schema)
    raise UnsupportedDatabaseURL(url)


def upsert(db: SQL, table: Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that can take `.on_conflict_do_update(...)` / `.on_conflict_do_nothing(...)` on either backend."""
    if db.dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
