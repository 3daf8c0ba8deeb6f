import asyncio
from collections.abc import AsyncIterator

import pytest

from backends.bus import EventBus, MemoryEventBus, RedisEventBus
from tests.conftest import flushed_redis

REDIS_DB = 4


@pytest.fixture(params=["memory", "redis"])
async def bus(request: pytest.FixtureRequest) -> AsyncIterator[EventBus]:
    if request.param == "memory":
        yield MemoryEventBus()
        return
    client = await flushed_redis(REDIS_DB)
    bus = RedisEventBus(client, prefix="fdtest:bus:")
    yield bus
    await bus.close()
    await client.aclose()


async def next_event(sub: object) -> tuple[str, dict[str, object]]:
    return await asyncio.wait_for(sub.get(), 2.0)  # type: ignore[attr-defined]


async def test_a_subscriber_gets_events_of_its_topics_in_order(bus: EventBus) -> None:
    async with bus.subscribe("conv:1", "handoff") as sub:
        await asyncio.sleep(0.05)  # Redis confirms SUBSCRIBE asynchronously
        await bus.publish("conv:1", {"n": 1})
        await bus.publish("conv:2", {"n": "other"})
        await bus.publish("handoff", {"n": 2})
        assert await next_event(sub) == ("conv:1", {"n": 1})
        assert await next_event(sub) == ("handoff", {"n": 2})


async def test_every_subscriber_of_a_topic_gets_each_event(bus: EventBus) -> None:
    async with bus.subscribe("t") as first, bus.subscribe("t") as second:
        await asyncio.sleep(0.05)
        await bus.publish("t", {"x": "中文"})
        assert (await next_event(first))[1] == {"x": "中文"}
        assert (await next_event(second))[1] == {"x": "中文"}


async def test_after_unsubscribing_nothing_more_arrives(bus: EventBus) -> None:
    async with bus.subscribe("t") as sub:
        await asyncio.sleep(0.05)
    await bus.publish("t", {"late": True})
    await asyncio.sleep(0.05)
    assert sub.queue.empty()


async def test_redis_bus_carries_events_between_two_processes_connections() -> None:
    client_a, client_b = await flushed_redis(REDIS_DB), await flushed_redis(REDIS_DB)
    sender, receiver = RedisEventBus(client_a, prefix="fdtest:x:"), RedisEventBus(client_b, prefix="fdtest:x:")
    try:
        async with receiver.subscribe("conv:9") as sub:
            await asyncio.sleep(0.05)
            await sender.publish("conv:9", {"from": "replica-a"})
            assert await next_event(sub) == ("conv:9", {"from": "replica-a"})
    finally:
        for bus, client in ((sender, client_a), (receiver, client_b)):
            await bus.close()
            await client.aclose()


def test_a_slow_subscriber_drops_events_instead_of_blocking_publishers() -> None:
    from backends.bus import Subscription

    sub = Subscription(("t",))
    for i in range(sub.queue.maxsize + 5):
        sub.offer("t", {"i": i})
    assert sub.dropped == 5


async def test_a_closed_redis_bus_stops_its_reader_and_refuses_new_subscribers() -> None:
    client = await flushed_redis(REDIS_DB)
    bus = RedisEventBus(client, prefix="fdtest:closed:")
    try:
        async with bus.subscribe("conv:1"):
            await bus.close()  # shutdown while a subscriber is still open: its exit must not touch Redis again
        with pytest.raises(RuntimeError):
            async with bus.subscribe("conv:2"):
                pass
    finally:
        await client.aclose()
