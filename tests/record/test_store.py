"""The service record's contract on both SQL backends: appends are idempotent by id, reads filter by time, kind, ids
and dimensions, come back oldest first, and page with a cursor that never skips or repeats."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from backends.sql import Database
from record import (
    BOT,
    CUSTOMER,
    EventQuery,
    InvalidEventQuery,
    ServiceEvent,
    ServiceEventKind,
    SQLServiceRecord,
    agent_actor,
    new_event_id,
)
from record.tables import service_events


@pytest.fixture
def store(database: Database) -> SQLServiceRecord:
    return SQLServiceRecord(database)


def opened(at: float, conversation_id: str, **more: object) -> ServiceEvent:
    return ServiceEvent(
        kind=ServiceEventKind.CONVERSATION_OPENED,
        at=at,
        actor=CUSTOMER,
        conversation_id=conversation_id,
        customer_id=f"cus_{conversation_id}",
        **more,  # type: ignore[arg-type]
    )


async def test_an_event_reads_back_as_it_was_written(store: SQLServiceRecord) -> None:
    event = ServiceEvent(
        kind=ServiceEventKind.BOT_TURN,
        at=1_000.25,
        actor=BOT,
        conversation_id="conv_1",
        customer_id="cus_1",
        channel="wechat",
        language="zh",
        category="delivery",
        data={"intent": "ask_question", "intent_confidence": 0.91, "kb_decision": "answer", "query": "退货怎么办"},
    )
    await store.append([event])
    (back,) = await store.read()
    assert back == event
    assert back.data["query"] == "退货怎么办"


async def test_writing_the_same_events_again_stores_each_once(store: SQLServiceRecord, database: Database) -> None:
    events = [opened(1000.0 + i, f"c{i}") for i in range(5)]
    await store.append(events[:3])
    await store.append(events)  # a retry after an ambiguous failure: the first three are there already
    assert await database.fetchval(select(func.count()).select_from(service_events)) == 5
    assert [e.id for e in await store.read()] == [e.id for e in events]


async def test_unknown_ids_are_null_so_distinct_counts_never_count_an_empty_one(
    store: SQLServiceRecord, database: Database
) -> None:
    await store.append([opened(1.0, "c1"), opened(2.0, "c1"), opened(3.0, ""), opened(4.0, "c2")])
    count = select(func.count(service_events.c.conversation_id.distinct()))
    assert await database.fetchval(count) == 2
    assert (await store.read(EventQuery(since=3.0, until=3.5)))[0].conversation_id is None


async def test_a_time_range_includes_its_start_and_excludes_its_end(store: SQLServiceRecord) -> None:
    await store.append([opened(float(t), f"c{t}") for t in range(10, 20)])
    read = await store.read(EventQuery(since=12.0, until=15.0))
    assert [e.at for e in read] == [12.0, 13.0, 14.0]


async def test_reads_filter_by_kind_ids_actor_and_dimensions(store: SQLServiceRecord) -> None:
    reply = ServiceEvent(
        kind=ServiceEventKind.AGENT_REPLY,
        at=5.0,
        actor=agent_actor("ann"),
        conversation_id="c1",
        agent="ann",
        queue="zh:billing",
        priority="urgent",
        data={"first": True},
    )
    ticket = ServiceEvent(
        kind=ServiceEventKind.TICKET_CREATED,
        at=6.0,
        actor=BOT,
        ticket="FD-000001",
        conversation_id="c2",
        team="support",
        category="billing",
        priority="normal",
    )
    await store.append([opened(1.0, "c1", channel="web", language="en"), opened(2.0, "c2", channel="wechat"), reply])
    await store.append([ticket])
    assert await store.read(EventQuery(kinds=[ServiceEventKind.AGENT_REPLY])) == [reply]
    assert await store.read(EventQuery(kinds=["ticket_created", "agent_reply"])) == [reply, ticket]
    assert [e.at for e in await store.read(EventQuery(conversation_id="c1"))] == [1.0, 5.0]
    assert await store.read(EventQuery(ticket="FD-000001")) == [ticket]
    assert await store.read(EventQuery(agent="ann")) == [reply]
    assert await store.read(EventQuery(actor="agent:ann")) == [reply]
    assert [e.at for e in await store.read(EventQuery(channel="wechat"))] == [2.0]
    assert await store.read(EventQuery(queue="zh:billing", priority="urgent")) == [reply]
    assert await store.read(EventQuery(team="support", category="billing")) == [ticket]
    assert [e.conversation_id for e in await store.read(EventQuery(customer_id="cus_c2"))] == ["c2"]
    assert await store.read(EventQuery(language="zh")) == []


async def test_events_sharing_an_instant_read_in_id_order_and_page_without_gaps(store: SQLServiceRecord) -> None:
    # Ids are UUIDv7, made in order: events of one instant read back in the order they were made.
    events = [opened(7.0, f"c{i}") for i in range(25)] + [opened(8.0, "late")]
    await store.append(list(reversed(events)))  # stored in any order
    pages: list[ServiceEvent] = []
    cursor: tuple[float, str] | None = None
    while page := await store.read(EventQuery(after=cursor), limit=10):
        pages += page
        cursor = (page[-1].at, page[-1].id)
    assert [e.id for e in pages] == [e.id for e in events]


def test_event_ids_are_uuid7_and_increase_within_a_process() -> None:
    ids = [new_event_id() for _ in range(10_000)]  # far more than one millisecond's worth of counter values
    assert ids == sorted(ids) and len(set(ids)) == len(ids)
    assert {uuid.UUID(i).version for i in ids} == {7}


@pytest.mark.parametrize(
    "query",
    [
        EventQuery(since=10.0, until=5.0),
        EventQuery(kinds=["no_such_kind"]),
        EventQuery(kinds="bot_turn"),
    ],
    ids=["reversed range", "unknown kind", "one string"],
)
async def test_a_query_that_cannot_be_answered_is_refused(store: SQLServiceRecord, query: EventQuery) -> None:
    with pytest.raises(InvalidEventQuery):
        await store.read(query)


@pytest.mark.parametrize("limit", [0, 10_001])
async def test_a_limit_out_of_bounds_is_refused(store: SQLServiceRecord, limit: int) -> None:
    with pytest.raises(InvalidEventQuery):
        await store.read(limit=limit)


async def test_a_large_batch_goes_in_one_transaction(store: SQLServiceRecord, database: Database) -> None:
    events = [opened(float(i), f"c{i}") for i in range(2500)]
    await store.append(events)
    assert await database.fetchval(select(func.count()).select_from(service_events)) == 2500


def test_text_holding_nul_is_stored_without_it() -> None:
    event = ServiceEvent(kind=ServiceEventKind.CONVERSATION_OPENED, at=1.0, actor=CUSTOMER, channel="we\x00b")
    assert event.channel == "web"
