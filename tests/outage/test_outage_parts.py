"""The parts that ride out a Redis outage, each against a real redis-server the test kills and starts: the event bus
(local delivery meanwhile, subscriptions made meanwhile join once it is back), the kept handoffs in SQL, and the
reconcile job, which one replica at a time runs (the leader lock) and which queues each kept handoff once."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError

from backends.bus import MemoryEventBus, RedisEventBus, Subscription
from backends.locks import RedisLeaderLock
from backends.periodic import PeriodicJob
from backends.sql import Database
from bot.live_state import LIVE_STATE_LOCK, LiveStateReconciler
from handoff import HandoffService, OwnershipState, RedisHandoffStore, RoutingSettings
from handoff.pending import PendingHandoff, PendingHandoffs
from handoff.profiles import AgentProfileStore
from record import SQLServiceRecord
from tests.conftest import open_test_database
from tests.outage.conftest import RedisServer

WAIT_S = 10.0


def client_of(server: RedisServer) -> aioredis.Redis:
    """A client as the app makes it: one retry on a fresh connection after a restart (bot/app.py: _bus)."""
    return aioredis.Redis.from_url(server.url, retry=Retry(NoBackoff(), 1), retry_on_error=[RedisConnectionError])


async def received(sub: Subscription) -> dict[str, object]:
    _, event = await asyncio.wait_for(sub.get(), WAIT_S)
    return event


async def test_the_bus_delivers_locally_during_an_outage_and_joins_late_subscriptions_after(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    clients = [client_of(redis_server), client_of(redis_server)]
    here, there = RedisEventBus(clients[0]), RedisEventBus(clients[1])
    try:
        async with here.subscribe("conv:1") as before:
            await there.publish("conv:1", {"n": 1})
            assert await received(before) == {"n": 1}
            await redis_server.stop()
            with caplog.at_level(logging.WARNING):
                await here.publish("conv:1", {"n": 2})  # no error: this process's listener hears it
                assert await received(before) == {"n": 2}
                async with here.subscribe("conv:2") as during:
                    await here.publish("conv:2", {"n": 3})
                    assert await received(during) == {"n": 3}
                    assert "Redis is unreachable" in caplog.text
                    await redis_server.start()
                    # Once back, another replica's events reach both subscriptions again.
                    deadline = asyncio.get_running_loop().time() + WAIT_S
                    while True:
                        await there.publish("conv:2", {"n": 4})
                        try:
                            assert await asyncio.wait_for(during.get(), 0.2) == ("conv:2", {"n": 4})
                            break
                        except TimeoutError:
                            assert asyncio.get_running_loop().time() < deadline, "conv:2 never joined Redis"
                    await there.publish("conv:1", {"n": 5})
                    assert await received(before) == {"n": 5}
            assert "Redis is back" in caplog.text
    finally:
        await here.close()
        await there.close()
        for client in clients:
            await client.aclose()


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    db, _ = await open_test_database("sqlite", tmp_path)
    yield db
    await db.close()


def kept(cid: str, at: float) -> PendingHandoff:
    return PendingHandoff(
        conversation_id=cid,
        customer_id=f"cus_{cid}",
        language="en",
        requested_at=at,
        category="billing",
        priority="high",
        scores={"intent_confidence": 0.9},
        context={"channel": "web", "ticket": ""},
        tier="gold",
    )


async def test_a_kept_handoff_is_stored_once_and_read_back_whole(database: Database) -> None:
    pending = PendingHandoffs(database)
    assert await pending.add(kept("b", 20.0)) is True
    assert await pending.add(kept("a", 10.0)) is True
    assert await pending.add(kept("a", 30.0)) is False  # asked again while it waits: the first request stays
    assert await pending.oldest() == [kept("a", 10.0), kept("b", 20.0)]
    assert await pending.waiting("a") and not await pending.waiting("c")
    assert await pending.remove("a") is True and await pending.remove("a") is False
    assert [p.conversation_id for p in await pending.oldest()] == ["b"]


async def test_one_replica_at_a_time_queues_each_kept_handoff_once(redis_server: RedisServer, sqlite: Database) -> None:
    clients = [client_of(redis_server) for _ in range(3)]
    pending = PendingHandoffs(sqlite)
    for i in range(6):
        await pending.add(kept(f"c{i}", 100.0 + i))
    jobs = []
    for client in clients[:2]:  # two replicas over one Redis and one database
        service = HandoffService(RedisHandoffStore(client), MemoryEventBus(), RoutingSettings())
        reconciler = LiveStateReconciler(service, pending, SQLServiceRecord(sqlite), AgentProfileStore(sqlite))
        lock = RedisLeaderLock(clients[2], LIVE_STATE_LOCK)
        jobs.append(PeriodicJob(LIVE_STATE_LOCK, reconciler.run_pass, interval_s=3600, lock=lock))
    try:
        results = await asyncio.gather(*(job.run_once() for job in jobs * 3))
        queued = [cid for result in results if result for cid in result]
        assert sorted(queued) == [f"c{i}" for i in range(6)]  # each once, whoever held the lock
        assert sum(job.skipped for job in jobs) + sum(job.passes for job in jobs) == 6
        store = RedisHandoffStore(clients[2])
        states = {(await store.get(f"c{i}")).state for i in range(6)}  # type: ignore[union-attr]
        assert states == {OwnershipState.QUEUED} and await pending.oldest() == []
    finally:
        for client in clients:
            await client.aclose()
