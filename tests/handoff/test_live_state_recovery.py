"""The live state rebuilt from the service record (`handoff.recovery`) over [memory, redis]: after the store lost
everything, the open handoffs come back as the record tells them (queued, assigned, wrap-up), closed ones do not,
the owning agent is back and away, and a second rebuild changes nothing. Plus the `is_seeded` contract and the fold
of the record's facts."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from backends.bus import MemoryEventBus
from backends.sql import Database
from handoff import (
    AgentProfile,
    HandoffService,
    HandoffStore,
    MemoryHandoffStore,
    OwnershipState,
    Presence,
    RedisHandoffStore,
)
from handoff.recovery import fold, rebuild, recorded_owner
from handoff.routing import RoutingSettings
from record import MemoryRecorder, ServiceEvent, ServiceEventKind, SQLServiceRecord
from tests.conftest import open_test_database, redis_database
from tests.handoff.conftest import HANDOFF_REDIS_DB, FakeClock, agent

Lose = Callable[[], Awaitable[HandoffStore]]


@pytest.fixture(params=["memory", "redis"])
async def stores(request: pytest.FixtureRequest) -> AsyncIterator[tuple[HandoffStore, Lose]]:
    """A store, and how it loses everything: a fresh process (memory) or Redis come back empty."""
    if request.param == "memory":

        async def fresh() -> HandoffStore:
            return MemoryHandoffStore()

        yield MemoryHandoffStore(), fresh
        return
    async with redis_database(HANDOFF_REDIS_DB) as client:

        async def flushed() -> HandoffStore:
            await client.flushdb()
            return store

        store = RedisHandoffStore(client)
        yield store, flushed


@pytest.fixture
async def sqlite(tmp_path: Path) -> AsyncIterator[Database]:
    db, _ = await open_test_database("sqlite", tmp_path)
    yield db
    await db.close()


async def profile_of(agent_id: str) -> AgentProfile:
    return agent(agent_id, "zh:general", capacity=2)


async def test_open_handoffs_come_back_from_the_record_and_closed_ones_do_not(
    stores: tuple[HandoffStore, Lose], sqlite: Database
) -> None:
    store, lose = stores
    clock, recorder = FakeClock(), MemoryRecorder()
    service = HandoffService(store, MemoryEventBus(), RoutingSettings(), clock=clock, recorder=recorder)
    await service.register_agent(agent("ann", "zh:general", capacity=2))
    await service.set_presence("ann", Presence.ONLINE)
    for cid in ("served", "closing", "waiting", "left", "done"):
        clock.advance(10)
        await service.request_handoff(cid, f"cus_{cid}", "zh", priority="high" if cid == "waiting" else "normal")
    await service.close("closing", "ann")
    await service.abandon("left")
    await service.finish_wrap_up("closing", "ann")  # back with the bot: Ann's free slot takes "waiting" (high)
    await service.close("served", "ann")
    # served: in wrap-up with Ann; waiting: assigned to her; done: queued (she is full); closing, left: the bot's.
    before = {cid: await store.get(cid) for cid in ("served", "waiting", "done")}
    record = SQLServiceRecord(sqlite)
    await record.append(recorder.events)

    lost = await lose()
    assert await lost.get("waiting") is None and await lost.is_seeded() is False
    clock.advance(60)
    rebuilt = await rebuild(lost, record, RoutingSettings(), profile_of, clock())

    assert [o.conversation_id for o in rebuilt] == ["served", "waiting", "done"]  # oldest request first
    after = {cid: await lost.get(cid) for cid in ("served", "waiting", "done", "closing", "left")}
    assert after["closing"] is None and after["left"] is None
    served, waiting, done = after["served"], after["waiting"], after["done"]
    assert served is not None and served.state is OwnershipState.WRAP_UP and served.agent_id == "ann"
    assert waiting is not None and waiting.state is OwnershipState.ASSIGNED and waiting.agent_id == "ann"
    assert done is not None and done.state is OwnershipState.QUEUED
    assert [e.conversation_id for e in await lost.head(done.skill, 10)] == ["done"]
    for cid, now in (("served", served), ("waiting", waiting), ("done", done)):
        was = before[cid]
        assert was is not None
        assert (now.skill, now.priority, now.customer_id) == (was.skill, was.priority, was.customer_id)
        assert now.first_response_due == pytest.approx(was.first_response_due)
    ann = await lost.get_agent("ann")
    assert ann is not None and ann.presence is Presence.AWAY and ann.chats == ("served", "waiting")
    assert await rebuild(lost, record, RoutingSettings(), profile_of, clock()) == []


async def test_concurrent_rebuilds_put_each_conversation_back_once(
    stores: tuple[HandoffStore, Lose], sqlite: Database
) -> None:
    store, lose = stores
    clock, recorder = FakeClock(), MemoryRecorder()
    service = HandoffService(store, MemoryEventBus(), RoutingSettings(), clock=clock, recorder=recorder)
    for i in range(10):
        await service.request_handoff(f"c{i}", f"cus{i}", "zh")
    record = SQLServiceRecord(sqlite)
    await record.append(recorder.events)
    lost = await lose()
    runs = await asyncio.gather(*(rebuild(lost, record, RoutingSettings(), profile_of, clock()) for _ in range(5)))
    assert sorted(o.conversation_id for run in runs for o in run) == [f"c{i}" for i in range(10)]
    assert (await lost.lengths())[(await lost.get("c0")).skill] == 10  # type: ignore[union-attr]


async def test_a_store_is_seeded_once_marked_until_it_loses_its_state(stores: tuple[HandoffStore, Lose]) -> None:
    store, lose = stores
    assert await store.is_seeded() is False
    await store.mark_seeded()
    assert await store.is_seeded() is True
    assert await (await lose()).is_seeded() is False


def event(kind: ServiceEventKind, at: float, cid: str = "c", **fields: object) -> ServiceEvent:
    return ServiceEvent(kind=kind, at=at, actor="system", conversation_id=cid, **fields)


def test_the_fold_follows_each_conversation_to_its_last_owner() -> None:
    K = ServiceEventKind
    owners = fold(
        [
            event(K.QUEUED, 1, queue="en:billing", priority="high", data={"enqueued_at": 1, "tier": "gold"}),
            event(K.ASSIGNED, 2, agent="ann", queue="en:billing"),
            event(K.QUEUED, 3, queue="en:general", data={"cause": "transfer", "enqueued_at": 1}),  # to a queue
            event(K.ASSIGNED, 4, agent="bob", queue="en:general"),
            event(K.QUEUED, 1, cid="gone", queue="en:general"),
            event(K.ABANDONED, 2, cid="gone"),
            event(K.QUEUED, 1, cid="back", queue="en:general"),
            event(K.ASSIGNED, 2, cid="back", agent="ann"),
            event(K.WRAP_UP, 3, cid="back", agent="ann"),
            event(K.BACK_TO_BOT, 4, cid="back", agent="ann"),
        ]
    )
    assert list(owners) == ["c"]
    owner = owners["c"]
    assert (owner.state, owner.agent_id, owner.skill, owner.priority, owner.tier, owner.enqueued_at) == (
        OwnershipState.ASSIGNED,
        "bob",
        "en:general",
        "high",
        "gold",
        1,
    )


async def test_the_owner_of_one_conversation_is_read_from_the_record(sqlite: Database) -> None:
    record = SQLServiceRecord(sqlite)
    K = ServiceEventKind
    await record.append([event(K.QUEUED, 1, queue="zh:general"), event(K.ASSIGNED, 2, agent="ann")])
    owner = await recorded_owner(record, "c")
    assert owner is not None and owner.state is OwnershipState.ASSIGNED and owner.agent_id == "ann"
    assert await recorded_owner(record, "never") is None
