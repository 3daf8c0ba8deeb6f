"""The buffered writer on both SQL backends: events reach SQL in the order they were emitted; while the database
fails they wait and are retried in order, and none is lost or stored twice; a full buffer drops the newest events and
says so; closing writes what is left. `emit` itself never awaits and never raises."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select, text

from backends.sql import Database
from record import CUSTOMER, EventQuery, RecordWriter, ServiceEvent, ServiceEventKind, SQLServiceRecord
from record.tables import service_events

FAST = {"linger_s": 0.0, "retry_first_s": 0.01, "retry_max_s": 0.05}


def event(n: int) -> ServiceEvent:
    return ServiceEvent(
        kind=ServiceEventKind.CUSTOMER_MESSAGE, at=1_000.0 + n, actor=CUSTOMER, conversation_id=f"c{n}", data={"n": n}
    )


class Outage:
    """Takes the record's table away and gives it back, so every write fails the way a lost database does."""

    def __init__(self, db: Database) -> None:
        self._db = db

    async def begin(self) -> None:
        await self._db.execute(text("ALTER TABLE service_events RENAME TO service_events_away"))

    async def end(self) -> None:
        await self._db.execute(text("ALTER TABLE service_events_away RENAME TO service_events"))


class Watched:
    """The SQL record, noting each batch it is handed and, once, failing *after* the commit (an ambiguous failure:
    the caller cannot tell whether the rows landed)."""

    def __init__(self, inner: SQLServiceRecord, fail_after_commit: int = 0) -> None:
        self._inner = inner
        self.batches: list[list[int]] = []
        self._fail_after_commit = fail_after_commit

    async def append(self, events: Sequence[ServiceEvent]) -> None:
        await self._inner.append(events)
        self.batches.append([int(e.data["n"]) for e in events])
        if self._fail_after_commit:
            self._fail_after_commit -= 1
            raise ConnectionResetError("connection lost while committing")

    async def read(self, query: EventQuery | None = None, *, limit: int = 1000) -> list[ServiceEvent]:
        return await self._inner.read(query, limit=limit)


@pytest.fixture
def store(database: Database) -> SQLServiceRecord:
    return SQLServiceRecord(database)


@pytest.fixture
async def writers() -> AsyncIterator[list[RecordWriter]]:
    started: list[RecordWriter] = []
    yield started
    for writer in started:
        await writer.close(timeout_s=1.0)


def started(writers: list[RecordWriter], writer: RecordWriter) -> RecordWriter:
    writer.start()
    writers.append(writer)
    return writer


async def stored(database: Database) -> list[int]:
    rows = await database.fetch(select(service_events.c.data).order_by(service_events.c.at, service_events.c.id))
    return [int(json.loads(r["data"])["n"]) for r in rows]


async def test_events_are_written_in_batches_in_the_order_they_were_emitted(
    store: SQLServiceRecord, database: Database, writers: list[RecordWriter]
) -> None:
    watched = Watched(store)
    writer = started(writers, RecordWriter(watched, batch_events=7, **FAST))
    for n in range(100):
        writer.emit(event(n))
        if n % 13 == 0:
            await asyncio.sleep(0)  # let the writer run between emits now and then
    await writer.flush()
    assert [n for batch in watched.batches for n in batch] == list(range(100))
    assert max(len(b) for b in watched.batches) == 7
    assert await stored(database) == list(range(100))
    assert writer.pending == 0


async def test_while_the_database_fails_events_wait_and_are_retried_in_order_with_none_lost(
    store: SQLServiceRecord, database: Database, writers: list[RecordWriter], caplog: pytest.LogCaptureFixture
) -> None:
    writer = started(writers, RecordWriter(store, batch_events=4, **FAST))
    outage = Outage(database)
    writer.emit(*(event(n) for n in range(3)))
    await writer.flush()
    await outage.begin()
    with caplog.at_level(logging.WARNING, logger="record.writer"):
        writer.emit(*(event(n) for n in range(3, 10)))
        for _ in range(500):  # it keeps trying, backing off
            if writer.failures >= 3:
                break
            await asyncio.sleep(0.01)
        writer.emit(*(event(n) for n in range(10, 15)))
        assert writer.pending == 12
        await outage.end()
        await writer.flush()
    assert await stored(database) == list(range(15))
    assert writer.failures == 0 and writer.dropped == 0
    assert any("writing 4 events failed" in r.getMessage() for r in caplog.records)
    assert any("takes events again" in r.getMessage() for r in caplog.records)


async def test_a_batch_retried_after_an_ambiguous_failure_is_stored_once(
    store: SQLServiceRecord, database: Database, writers: list[RecordWriter]
) -> None:
    watched = Watched(store, fail_after_commit=1)
    writer = started(writers, RecordWriter(watched, batch_events=5, **FAST))
    writer.emit(*(event(n) for n in range(8)))
    await writer.flush()
    assert watched.batches[:2] == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4]]  # the same batch again, first
    assert await stored(database) == list(range(8))
    assert await database.fetchval(select(func.count()).select_from(service_events)) == 8


async def test_a_full_buffer_drops_the_newest_events_and_logs_it(
    store: SQLServiceRecord, database: Database, writers: list[RecordWriter], caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(database)
    await outage.begin()
    writer = started(writers, RecordWriter(store, buffer_events=5, batch_events=2, **FAST))
    with caplog.at_level(logging.ERROR, logger="record.writer"):
        writer.emit(*(event(n) for n in range(8)))
        assert (writer.pending, writer.dropped) == (5, 3)
        full = [r.getMessage() for r in caplog.records if "buffer is full" in r.getMessage()]
        assert len(full) == 1 and "5 events, FD_RECORD_BUFFER_EVENTS" in full[0]  # once, not once per event
        await outage.end()
        await writer.flush()
        writer.emit(event(8))  # room again: taken
        await writer.flush()
    assert await stored(database) == [0, 1, 2, 3, 4, 8]  # the oldest kept, in order; 5, 6 and 7 dropped
    assert any("3 events were dropped while the buffer was full" in r.getMessage() for r in caplog.records)


async def test_closing_writes_what_is_still_buffered(store: SQLServiceRecord, database: Database) -> None:
    writer = RecordWriter(store, linger_s=60.0)  # left alone, it would wait a minute for a fuller batch
    writer.start()
    writer.emit(*(event(n) for n in range(20)))
    await asyncio.sleep(0.01)
    await asyncio.wait_for(writer.close(), 5.0)
    assert await stored(database) == list(range(20))
    writer.emit(event(20))  # after closing: refused, never raised
    assert writer.dropped == 1


async def test_closing_while_the_database_is_down_gives_up_at_the_deadline_and_says_what_is_lost(
    store: SQLServiceRecord, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    outage = Outage(database)
    await outage.begin()
    writer = RecordWriter(store, retry_first_s=30.0)  # a long backoff: closing cuts it short
    writer.start()
    writer.emit(*(event(n) for n in range(4)))
    with caplog.at_level(logging.ERROR, logger="record.writer"):
        async with asyncio.timeout(5.0):
            await writer.close(timeout_s=0.5)
    assert any("4 events could not be written before shutdown" in r.getMessage() for r in caplog.records)
    await outage.end()


async def test_an_event_that_cannot_be_stored_is_dropped_at_emit_and_never_blocks_the_others(
    store: SQLServiceRecord, database: Database, writers: list[RecordWriter], caplog: pytest.LogCaptureFixture
) -> None:
    writer = started(writers, RecordWriter(store, **FAST))
    bad = ServiceEvent(
        kind=ServiceEventKind.BOT_TURN, at=1.0, actor="bot", data={1: "a", "b": 2}
    )  # keys JSON cannot sort
    with caplog.at_level(logging.ERROR, logger="record.writer"):
        writer.emit(event(0), bad, event(1))  # returns, raises nothing
    await writer.flush()
    assert await stored(database) == [0, 1]
    assert writer.dropped == 1
    assert any("cannot be stored" in r.getMessage() for r in caplog.records)


def test_emit_needs_no_running_writer_and_no_event_loop(store: SQLServiceRecord) -> None:
    writer = RecordWriter(store)
    writer.emit(event(0))  # a plain function call: buffered until the writer runs
    assert writer.pending == 1
