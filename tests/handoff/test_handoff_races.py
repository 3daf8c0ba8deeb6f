"""Every transition under contention: 50 concurrent callers, exactly one winner, on both backends.

For Redis the callers also come from separate client connections (stand-ins for separate front-door processes).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from handoff import HandoffStore, MemoryHandoffStore, OwnershipState, Presence, RedisHandoffStore, Transition
from tests.handoff.conftest import T0, agent, new_redis_client

S = OwnershipState
CONTENDERS = 50


@pytest.fixture(params=["memory", "redis-one-client", "redis-many-clients"])
async def stores(request: pytest.FixtureRequest, redis_client: aioredis.Redis) -> AsyncIterator[list[HandoffStore]]:
    """CONTENDERS store handles over one shared state; how many connections sit behind them varies."""
    if request.param == "memory":
        shared = MemoryHandoffStore()
        yield [shared] * CONTENDERS
        return
    if request.param == "redis-one-client":
        yield [RedisHandoffStore(redis_client)] * CONTENDERS
        return
    clients = [new_redis_client() for _ in range(10)]
    try:
        yield [RedisHandoffStore(clients[i % len(clients)]) for i in range(CONTENDERS)]
    finally:
        for client in clients:
            await client.aclose()


async def queue_with_agents(store: HandoffStore, agents: int, capacity: int = 2) -> None:
    for i in range(agents):
        await store.upsert_agent(agent(f"a{i}", capacity=capacity), T0)
        await store.set_presence(f"a{i}", Presence.ONLINE, T0)
    await store.apply(Transition("c1", S.QUEUED, frozenset({S.BOT}), T0, skill="zh:general"))


async def test_fifty_agents_claiming_one_conversation_yield_one_owner(stores: list[HandoffStore]) -> None:
    await queue_with_agents(stores[0], CONTENDERS)
    results = await asyncio.gather(
        *(
            s.apply(Transition("c1", S.ASSIGNED, frozenset({S.QUEUED}), T0 + 1, agent=f"a{i}"))
            for i, s in enumerate(stores)
        )
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    record = await stores[0].get("c1")
    assert record is not None and record.agent_id == winners[0].agent_id and record.version == 2
    loads = [a.load for a in await stores[0].list_agents()]
    assert sorted(loads) == [0] * (CONTENDERS - 1) + [1]
    assert await stores[0].head("zh:general") == []


async def test_fifty_auto_assignments_of_one_conversation_yield_one_owner(stores: list[HandoffStore]) -> None:
    await queue_with_agents(stores[0], 5)
    results = await asyncio.gather(
        *(s.apply(Transition("c1", S.ASSIGNED, frozenset({S.QUEUED}), T0 + 1, agent="*")) for s in stores)
    )
    assert sum(r is not None for r in results) == 1
    assert sum(a.load for a in await stores[0].list_agents()) == 1


async def test_fifty_requests_to_queue_one_conversation_queue_it_once(stores: list[HandoffStore]) -> None:
    results = await asyncio.gather(
        *(
            s.apply(Transition("c9", S.QUEUED, frozenset({S.BOT}), T0 + i, skill="zh:general"))
            for i, s in enumerate(stores)
        )
    )
    assert sum(r is not None for r in results) == 1
    assert (await stores[0].lengths())["zh:general"] == 1


async def test_one_agent_never_exceeds_capacity_under_fifty_concurrent_assignments(
    stores: list[HandoffStore],
) -> None:
    await stores[0].upsert_agent(agent("ann", capacity=3), T0)
    await stores[0].set_presence("ann", Presence.ONLINE, T0)
    for i in range(CONTENDERS):
        await stores[0].apply(Transition(f"c{i}", S.QUEUED, frozenset({S.BOT}), T0 + i, skill="zh:general"))
    results = await asyncio.gather(
        *(
            s.apply(Transition(f"c{i}", S.ASSIGNED, frozenset({S.QUEUED}), T0 + 99, agent="*"))
            for i, s in enumerate(stores)
        )
    )
    assert sum(r is not None for r in results) == 3
    ann = await stores[0].get_agent("ann")
    assert ann is not None and ann.load == 3
    assert (await stores[0].lengths())["zh:general"] == CONTENDERS - 3


async def test_abandon_racing_claims_leaves_exactly_one_outcome(stores: list[HandoffStore]) -> None:
    await queue_with_agents(stores[0], CONTENDERS - 1)
    moves = [
        s.apply(Transition("c1", S.ASSIGNED, frozenset({S.QUEUED}), T0 + 1, agent=f"a{i}"))
        for i, s in enumerate(stores[:-1])
    ]
    moves.append(stores[-1].apply(Transition("c1", S.ABANDONED, frozenset({S.QUEUED}), T0 + 1)))
    results = await asyncio.gather(*moves)
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    expected_load = 1 if winners[0].state is S.ASSIGNED else 0
    assert sum(a.load for a in await stores[0].list_agents()) == expected_load


async def test_sweeper_and_reply_racing_never_both_win(stores: list[HandoffStore]) -> None:
    await queue_with_agents(stores[0], 1)
    assigned = await stores[0].apply(Transition("c1", S.ASSIGNED, frozenset({S.QUEUED}), T0 + 1, agent="a0"))
    assert assigned is not None
    requeue = [
        s.apply(
            Transition(
                "c1",
                S.QUEUED,
                frozenset({S.ASSIGNED}),
                T0 + 500,
                expect_agent="a0",
                expect_version=assigned.version,
                keep_enqueued_at=True,
            )
        )
        for s in stores[: CONTENDERS // 2]
    ]
    replies = [s.mark_agent_reply("c1", "a0", T0 + 500) for s in stores[CONTENDERS // 2 :]]
    results = await asyncio.gather(*requeue, *replies)
    requeued = [r for r in results[: len(requeue)] if r is not None]
    replied = [r for r in results[len(requeue) :] if r is not None]
    # Replies do not exclude each other (each stamps the time), but a requeue and a reply never both land.
    assert len(requeued) <= 1
    assert not (requeued and replied)
    assert requeued or replied


async def test_fifty_transfers_of_one_conversation_move_it_once(stores: list[HandoffStore]) -> None:
    await queue_with_agents(stores[0], CONTENDERS + 1)
    await stores[0].apply(Transition("c1", S.ASSIGNED, frozenset({S.QUEUED}), T0 + 1, agent=f"a{CONTENDERS}"))
    results = await asyncio.gather(
        *(
            s.apply(
                Transition(
                    "c1", S.ASSIGNED, frozenset({S.ASSIGNED}), T0 + 2, expect_agent=f"a{CONTENDERS}", agent=f"a{i}"
                )
            )
            for i, s in enumerate(stores)
        )
    )
    assert sum(r is not None for r in results) == 1
    assert sum(a.load for a in await stores[0].list_agents()) == 1


async def test_fifty_agents_pulling_ten_cases_each_get_a_different_one(stores: list[HandoffStore]) -> None:
    for i in range(CONTENDERS):
        await stores[0].upsert_agent(agent(f"a{i}"), T0)
        await stores[0].set_presence(f"a{i}", Presence.ONLINE, T0)
    for i in range(10):
        await stores[0].apply(Transition(f"c{i}", S.QUEUED, frozenset({S.BOT}), T0 + i, skill="zh:general"))
    results = await asyncio.gather(*(s.pull(f"a{i}", T0 + 99) for i, s in enumerate(stores)))
    pulled = [r.conversation_id for r in results if r is not None]
    assert sorted(pulled) == sorted(f"c{i}" for i in range(10))
    assert sum(a.load for a in await stores[0].list_agents()) == 10


async def test_fifty_sweepers_past_the_grace_period_set_an_agent_offline_once(stores: list[HandoffStore]) -> None:
    await queue_with_agents(stores[0], 1)
    await stores[0].console_opened("a0", "tab", T0, T0 + 30)
    await stores[0].console_closed("a0", "tab", T0 + 1)
    results = await asyncio.gather(*(s.expire_presence(T0 + 1, T0 + 40) for s in stores))
    assert sorted(agent_id for result in results for agent_id in result) == ["a0"]


async def test_fifty_sweepers_close_an_expired_socket_once(stores: list[HandoffStore]) -> None:
    await queue_with_agents(stores[0], 1)
    await stores[0].console_opened("a0", "tab", T0, T0 + 30)
    results = await asyncio.gather(*(s.expire_consoles(T0 + 30 + i) for i, s in enumerate(stores)))
    assert sorted(agent_id for result in results for agent_id in result) == ["a0"]
    a0 = await stores[0].get_agent("a0")
    assert a0 is not None and a0.disconnected_at is not None
