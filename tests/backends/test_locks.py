"""Leader locks: one contract over the in-process, PostgreSQL and Redis locks (two holders, one gets it; released
when the block ends, however it ends; 50 concurrent tries, one winner), plus each backend's own promise: a Redis
lease is renewed while its holder lives, expires when it died, and a holder that lost it never touches its
successor's; PostgreSQL keys are per schema, and a cancelled holder's lock goes with its transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from backends.locks import LeaderLock, LocalLeaderLock, PostgresLeaderLock, RedisLeaderLock, leader_lock
from backends.sql import Database, open_database
from tests.conftest import POSTGRES_URL, REDIS_URL, drop_schema, flushed_redis, open_test_database

REDIS_DB = 7

# Makes the lock of one more replica (the same object for the in-process lock: its replicas are tasks).
Holders = Callable[[], LeaderLock]


@pytest.fixture(params=["local", pytest.param("postgres", marks=pytest.mark.postgres), "redis"])
async def holders(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Holders]:
    if request.param == "local":
        lock = LocalLeaderLock("sla")
        yield lambda: lock
        return
    if request.param == "redis":
        clients: list[aioredis.Redis] = []

        def redis_holder() -> LeaderLock:
            client = aioredis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
            clients.append(client)
            return RedisLeaderLock(client, "sla", ttl_ms=10_000)

        await (await flushed_redis(REDIS_DB)).aclose()
        yield redis_holder
        for client in clients:
            await client.aclose()
        return
    # PostgreSQL: each replica its own pool on one schema.
    first, schema = await open_test_database("postgres", tmp_path, upgrade=False)
    assert schema is not None
    databases: list[Database] = [first]
    pending: list[Database] = [first]

    def postgres_holder() -> LeaderLock:
        if pending:
            return PostgresLeaderLock(pending.pop(), "sla")
        raise AssertionError("open more databases in the fixture")

    for _ in range(2):
        db = await open_database(POSTGRES_URL, schema=schema)
        databases.append(db)
        pending.append(db)
    try:
        yield postgres_holder
    finally:
        for db in databases:
            await db.close()
        await drop_schema(schema)


async def test_second_holder_loses_while_the_first_holds(holders: Holders) -> None:
    first, second = holders(), holders()
    async with first.hold() as first_held, second.hold() as second_held:
        assert (first_held, second_held) == (True, False)


async def test_a_released_lock_goes_to_the_next_holder(holders: Holders) -> None:
    first, second = holders(), holders()
    async with first.hold() as held:
        assert held
    async with second.hold() as held:
        assert held
    async with first.hold() as held:
        assert held


async def test_a_block_that_raises_still_releases_the_lock(holders: Holders) -> None:
    first, second = holders(), holders()
    with pytest.raises(RuntimeError, match="pass failed"):
        async with first.hold() as held:
            assert held
            raise RuntimeError("pass failed")
    async with second.hold() as held:
        assert held


async def test_fifty_concurrent_tries_have_one_winner(holders: Holders) -> None:
    locks = [holders(), holders()]
    results: list[bool] = []
    everyone_tried = asyncio.Event()

    async def attempt(lock: LeaderLock) -> None:
        async with lock.hold() as held:
            results.append(held)
            if len(results) == 50:
                everyone_tried.set()
            if held:  # the winner keeps the lock until every other try has been answered
                await asyncio.wait_for(everyone_tried.wait(), 10)

    await asyncio.gather(*(attempt(locks[i % 2]) for i in range(50)))
    assert sorted(results) == [False] * 49 + [True]


async def test_a_live_redis_holder_keeps_its_lease_past_the_ttl() -> None:
    client_a, client_b = await flushed_redis(REDIS_DB), await flushed_redis(REDIS_DB)
    holder, other = RedisLeaderLock(client_a, "sla", ttl_ms=300), RedisLeaderLock(client_b, "sla", ttl_ms=300)
    try:
        async with holder.hold() as held:
            assert held
            await asyncio.sleep(1.0)  # three leases long: renewed all along
            async with other.hold() as other_held:
                assert not other_held
        async with other.hold() as other_held:
            assert other_held
    finally:
        await client_a.aclose()
        await client_b.aclose()


async def test_a_dead_redis_holders_lease_expires() -> None:
    client = await flushed_redis(REDIS_DB)
    lock = RedisLeaderLock(client, "sla", ttl_ms=10_000)
    try:
        # What a holder that died mid-pass leaves behind: its token, with the rest of its lease.
        assert await client.set(lock.key, "dead-replica", nx=True, px=200)
        async with lock.hold() as held:
            assert not held
        await asyncio.sleep(0.3)
        async with lock.hold() as held:
            assert held
    finally:
        await client.aclose()


async def test_a_redis_holder_that_lost_its_lease_leaves_the_successors_alone(caplog: pytest.LogCaptureFixture) -> None:
    client = await flushed_redis(REDIS_DB)
    lock = RedisLeaderLock(client, "sla", ttl_ms=150)
    try:
        with caplog.at_level(logging.WARNING, logger="backends.locks"):
            async with lock.hold() as held:
                assert held
                # Its lease lapsed (a stalled loop) and another replica took the key.
                await client.set(lock.key, "successor", px=10_000)
                await asyncio.sleep(0.2)  # a renewal comes and finds the key someone else's
        assert await client.get(lock.key) == b"successor"  # neither extended nor deleted
        assert 5_000 < await client.pttl(lock.key) <= 10_000
        messages = [r.getMessage() for r in caplog.records]
        assert any("expired while held" in m for m in messages) and any("was lost" in m for m in messages)
    finally:
        await client.aclose()


async def test_a_redis_lock_sets_its_lease_on_the_key() -> None:
    client = await flushed_redis(REDIS_DB)
    lock = RedisLeaderLock(client, "sla", ttl_ms=30_000)
    try:
        async with lock.hold() as held:
            assert held
            assert lock.key == "fd:lock:sla"
            assert 29_000 < await client.pttl(lock.key) <= 30_000
        assert await client.exists(lock.key) == 0
    finally:
        await client.aclose()


@pytest.mark.postgres
async def test_postgres_locks_of_different_schemas_do_not_block_each_other(tmp_path: Path) -> None:
    one, schema_one = await open_test_database("postgres", tmp_path, upgrade=False)
    other, schema_other = await open_test_database("postgres", tmp_path, upgrade=False)
    try:
        async with PostgresLeaderLock(one, "sla").hold() as held, PostgresLeaderLock(other, "sla").hold() as also:
            assert held and also
        async with PostgresLeaderLock(one, "sla").hold() as held, PostgresLeaderLock(one, "other").hold() as also:
            assert held and also
    finally:
        for db, schema in ((one, schema_one), (other, schema_other)):
            await db.close()
            assert schema is not None
            await drop_schema(schema)


@pytest.mark.postgres
async def test_a_postgres_lock_is_released_when_its_holder_is_cancelled(tmp_path: Path) -> None:
    db, schema = await open_test_database("postgres", tmp_path, upgrade=False)
    holding = asyncio.Event()

    async def hold_forever() -> None:
        async with PostgresLeaderLock(db, "sla").hold() as held:
            assert held
            holding.set()
            await asyncio.sleep(3600)

    try:
        task = asyncio.create_task(hold_forever())
        await asyncio.wait_for(holding.wait(), 10)
        async with PostgresLeaderLock(db, "sla").hold() as held:
            assert not held
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        async with PostgresLeaderLock(db, "sla").hold() as held:
            assert held
    finally:
        await db.close()
        assert schema is not None
        await drop_schema(schema)


async def test_the_factory_prefers_redis_then_postgres_then_the_process(tmp_path: Path) -> None:
    sqlite = await open_database(f"sqlite:///{tmp_path / 'x.db'}")
    client = aioredis.Redis.from_url(f"{REDIS_URL}/{REDIS_DB}")
    try:
        assert isinstance(leader_lock("sla", db=sqlite), LocalLeaderLock)
        assert isinstance(leader_lock("sla", db=sqlite, redis=client), RedisLeaderLock)
        with pytest.raises(ValueError, match="PostgreSQL"):
            PostgresLeaderLock(sqlite, "sla")
    finally:
        await client.aclose()
        await sqlite.close()


@pytest.mark.postgres
async def test_the_factory_takes_postgres_when_there_is_no_redis(tmp_path: Path) -> None:
    db, schema = await open_test_database("postgres", tmp_path, upgrade=False)
    try:
        assert isinstance(leader_lock("sla", db=db), PostgresLeaderLock)
    finally:
        await db.close()
        assert schema is not None
        await drop_schema(schema)
