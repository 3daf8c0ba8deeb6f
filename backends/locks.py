"""Leader locks: at most one replica at a time runs a periodic job (the SLA scheduler's pass), whichever backend the
deployment shares.

Owns the `LeaderLock` seam and its three implementations: Redis (`SET key token NX PX ttl`, renewed while held,
compare-and-delete release; redis-py's own `Lock`), PostgreSQL (`pg_try_advisory_xact_lock`, released with its
transaction) and an in-process `asyncio.Lock` for a single process on SQLite; and `leader_lock`, which picks one
from what the app has. Taking a lock never waits: a replica that finds it held skips this round. A lock only saves
duplicate work; a job must still be safe to run twice at once (the SLA watcher's marks are insert-if-absent), since
a Redis lease can lapse under a holder that stops renewing it. Must never know what the holder does.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

import redis.asyncio as aioredis
from redis.asyncio.lock import Lock
from redis.exceptions import LockError, LockNotOwnedError, RedisError
from sqlalchemy import text

from backends.constants import LEADER_LOCK_KEY, LEADER_LOCK_TTL_MS
from backends.sql import Database
from backends.tasks import cancel_and_wait

log = logging.getLogger(__name__)

# Advisory locks are database-wide, so the key mixes in the schema: deployments (and test runs) that share one
# PostgreSQL database in different schemas never block each other. hashtextextended: PostgreSQL 11 and later.
_PG_TRY_LOCK = text("SELECT pg_try_advisory_xact_lock(hashtextextended(current_schema() || '/' || :name, 0))")


class LeaderLock(Protocol):
    """One holder at a time among everyone sharing the backend (every replica, or this process for the local one)."""

    name: str

    def hold(self) -> AbstractAsyncContextManager[bool]:
        """Tries once to take the lock, without waiting. The block runs with True when this caller holds the lock
        (until the block ends, however it ends), with False when someone else holds it: then it should skip its
        work. Raises what the backend raises when it cannot be asked (Redis or PostgreSQL down)."""
        ...


class LocalLeaderLock:
    """Holders in this process only: the single-process deployment on SQLite."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        # Nobody ever waits on this lock, so an unlocked lock is taken at once, with no await in between.
        if self._lock.locked():
            yield False
            return
        async with self._lock:
            yield True


class PostgresLeaderLock:
    """A transaction-scoped advisory lock: held on one pooled connection for the block, released by its COMMIT or
    ROLLBACK, and by PostgreSQL itself when a holder's connection dies with its process. (A session-level
    `pg_try_advisory_lock` would stay with the pooled connection whenever an unlock was skipped, a cancelled task's
    for one.)"""

    def __init__(self, db: Database, name: str) -> None:
        if db.dialect != "postgresql":
            raise ValueError(f"PostgresLeaderLock needs a PostgreSQL database, not {db.dialect}")
        self.name = name
        self._db = db

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        async with self._db.transaction() as tx:
            yield bool(await tx.fetchval(_PG_TRY_LOCK, {"name": self.name}))


class RedisLeaderLock:
    """A lease of `ttl_ms` on one Redis key: `SET NX PX` with a random token, renewed every third of the TTL while
    the block runs (a compare-and-pexpire), released by a Lua compare-and-delete, so a holder whose lease ran out can
    never extend or delete the next holder's. A holder that dies blocks the others for at most `ttl_ms`; one that
    cannot renew in time (its event loop stalled, Redis unreachable) loses the lease, logged, and another replica
    may start while it finishes."""

    def __init__(self, client: aioredis.Redis, name: str, *, ttl_ms: int = LEADER_LOCK_TTL_MS) -> None:
        if ttl_ms <= 0:
            raise ValueError("ttl_ms must be positive")
        self.name = name
        self.key = LEADER_LOCK_KEY.format(name=name)
        self._client = client
        self._ttl_ms = ttl_ms

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[bool]:
        # One redis-py Lock (one token) per attempt; thread_local off, since tasks, not threads, share the object.
        lock = self._client.lock(self.key, timeout=self._ttl_ms / 1000, blocking=False, thread_local=False)
        if not await lock.acquire():
            yield False
            return
        renewing = asyncio.create_task(self._renew(lock), name=f"leader-lock-{self.name}")
        try:
            yield True
        finally:
            await cancel_and_wait(renewing)
            try:
                await lock.release()
            except LockError:
                log.warning("leader lock %s was lost before its holder finished (lease %d ms)", self.name, self._ttl_ms)

    async def _renew(self, lock: Lock) -> None:
        while True:
            await asyncio.sleep(self._ttl_ms / 3 / 1000)
            try:
                await lock.reacquire()
            except LockNotOwnedError:
                log.warning("leader lock %s expired while held; another replica may take it", self.name)
                return
            except (RedisError, OSError):
                log.warning("leader lock %s: renewing failed; retrying", self.name, exc_info=True)


def leader_lock(
    name: str, *, db: Database, redis: aioredis.Redis | None = None, ttl_ms: int = LEADER_LOCK_TTL_MS
) -> LeaderLock:
    """The lock every replica of this deployment shares: Redis when it is configured, else PostgreSQL when the
    database is PostgreSQL, else an in-process lock (SQLite means a single process). `ttl_ms` is the Redis lease:
    how long a holder that died keeps the others out (a live holder renews it)."""
    if redis is not None:
        return RedisLeaderLock(redis, name, ttl_ms=ttl_ms)
    if db.dialect == "postgresql":
        return PostgresLeaderLock(db, name)
    return LocalLeaderLock(name)
