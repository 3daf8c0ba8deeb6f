"""Keeps the analytics facts current from the service record: `Projector.run_pass` (incremental) and `rebuild`.

A pass finds every conversation and ticket with an event at or after its cursor minus `lag_s` (events a replica's
writer buffered while the database was away arrive late, with their own older times), reads all their events, folds
them (`analytics.facts`) and replaces their fact rows in one transaction per batch; then the cursor moves to the
newest event time it saw. Recomputing whole rows from all of an entity's events makes a pass idempotent — running it
twice, or over an overlapping window, gives the same rows — and `rebuild` is the same fold over everything, from
empty. Reads and writes are set-based: one indexed query per batch of ids, one batched insert per table, and one
UPDATE for the containment flags of the batch's customers; then the rollups (daily and marginal) and duration
histograms of the days it touched are recomputed from the facts (`analytics.rollups`, `analytics.durations`). Must
never write the record nor read live state.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import AsyncIterator, Sequence
from itertools import groupby

from sqlalchemy import ColumnElement, Table, Update, case, delete, exists, func, insert, select

from analytics import durations
from analytics.facts import Clocks, Fact, conversation_facts, ticket_facts
from analytics.rollups import refresh
from analytics.tables import (
    FACT_TABLES,
    MARGINALS,
    ROLLUPS,
    analytics_agent_work,
    analytics_conversations,
    analytics_handoffs,
    analytics_kb,
    analytics_state,
    analytics_surveys,
    analytics_tickets,
)
from backends.sql import SQL, Database, upsert
from record.tables import service_events

log = logging.getLogger(__name__)

BATCH = 500
CURSOR = "cursor"
# A customer's new conversation within this long of the last one's opening means the bot did not contain it.
RETURN_WINDOW_S = 86400.0

_CONVERSATION_TABLES = (
    analytics_conversations,
    analytics_handoffs,
    analytics_agent_work,
    analytics_surveys,
    analytics_kb,
)


class Projector:
    """Folds `service_events` into the facts tables on `db`, with `clocks`' day buckets and business time."""

    def __init__(self, db: Database, clocks: Clocks, *, lag_s: float, batch: int = BATCH) -> None:
        self._db = db
        self._clocks = clocks
        self._lag_s = lag_s
        self._batch = batch

    async def run_pass(self, now: float | None = None) -> list[str]:
        """One incremental pass; returns the conversation ids and "ticket:<number>" keys it recomputed. `now` is
        unused (the cursor, not the clock, says what is new) and accepted for `PeriodicJob`."""
        cursor = await self._db.fetchval(select(analytics_state.c.value).where(analytics_state.c.name == CURSOR))
        return await self._project(None if cursor is None else float(cursor) - self._lag_s)

    async def rebuild(self) -> list[str]:
        """Empties every fact table and folds the whole record again."""
        async with self._db.transaction() as tx:
            for table in (*FACT_TABLES, *ROLLUPS.values(), *MARGINALS.values(), analytics_state):
                await tx.execute(delete(table))
        return await self._project(None)

    async def _project(self, since: float | None) -> list[str]:
        high = await self._db.fetchval(select(func.max(service_events.c.at)))
        done: list[str] = []
        days: set[str] = set()
        async for batch in self._touched(service_events.c.conversation_id, since):
            days |= await self._conversations(batch)
            done.extend(batch)
        async for batch in self._touched(service_events.c.ticket, since):
            days |= await self._tickets(batch)
            done.extend(f"ticket:{t}" for t in batch)
        async with self._db.transaction() as tx:
            if since is None or days:
                # A rebuild (or a first pass) recomputes every day's rollup; a pass, the days whose facts it touched.
                await refresh(tx, None if since is None else days)
                await durations.refresh(tx, None if since is None else days)
            if high is not None:
                await _set_state(tx, CURSOR, float(high))
        if done:
            log.info("analytics projected", extra={"entities": len(done), "since": since})
        return done

    async def _touched(self, column: ColumnElement[str], since: float | None) -> AsyncIterator[list[str]]:
        """Batches of the ids in `column` with an event at or after `since` (every id when None, page by page)."""
        c = service_events.c
        if since is not None:
            rows = await self._db.fetch(select(column).where(c.at >= since, column.is_not(None)).distinct())
            ids = sorted(str(next(iter(r.values()))) for r in rows)
            for start in range(0, len(ids), self._batch):
                yield ids[start : start + self._batch]
            return
        after = ""
        while True:
            page = select(column.label("id")).where(column > after).group_by(column).order_by(column)
            ids = [str(r["id"]) for r in await self._db.fetch(page.limit(self._batch))]
            if not ids:
                return
            yield ids
            after = ids[-1]

    async def _events(self, column: ColumnElement[str], ids: Sequence[str]) -> dict[str, list[Fact]]:
        c = service_events.c
        rows = await self._db.fetch(select(service_events).where(column.in_(ids)).order_by(column, c.at, c.id))
        key = str(column.key)
        return {
            k: [f for r in group if (f := Fact.from_row(r)) is not None] for k, group in groupby(rows, lambda r: r[key])
        }

    async def _conversations(self, ids: Sequence[str]) -> set[str]:
        """Replaces the batch's conversation facts; returns the days whose rollups changed (before and after)."""
        events = await self._events(service_events.c.conversation_id, ids)
        days = await _days(
            self._db, (analytics_conversations, analytics_handoffs, analytics_surveys, analytics_kb), ids
        )
        rows: dict[Table, list[dict[str, object]]] = defaultdict(list)
        customers: set[str] = set()
        for conversation_id in ids:
            facts = conversation_facts(conversation_id, events.get(conversation_id, []), self._clocks)
            if facts.conversation is not None:
                rows[analytics_conversations].append(facts.conversation)
                if facts.conversation["customer_id"]:
                    customers.add(facts.conversation["customer_id"])
            rows[analytics_handoffs].extend(facts.handoffs)
            rows[analytics_agent_work].extend(facts.agent_work)
            rows[analytics_surveys].extend(facts.surveys)
            rows[analytics_kb].extend(facts.kb)
        days |= {str(row["day"]) for table_rows in rows.values() for row in table_rows}
        async with self._db.transaction() as tx:
            for table in _CONVERSATION_TABLES:
                await tx.execute(delete(table).where(table.c.conversation_id.in_(ids)))
                if rows[table]:
                    await tx.execute(insert(table), rows[table])
            if customers:
                await tx.execute(_containment(sorted(customers)))
                # Their earlier conversations' containment may have changed with this batch.
                c = analytics_conversations.c
                changed = select(c.day).where(c.customer_id.in_(sorted(customers))).distinct()
                days |= {str(r["day"]) for r in await tx.fetch(changed)}
        return days

    async def _tickets(self, numbers: Sequence[str]) -> set[str]:
        """Replaces the batch's ticket facts; returns the days whose rollups changed."""
        events = await self._events(service_events.c.ticket, numbers)
        days = await _days(self._db, (analytics_tickets,), numbers, key="ticket")
        rows = [r for n in numbers if (r := ticket_facts(n, events.get(n, []), self._clocks)) is not None]
        async with self._db.transaction() as tx:
            await tx.execute(delete(analytics_tickets).where(analytics_tickets.c.ticket.in_(numbers)))
            if rows:
                await tx.execute(insert(analytics_tickets), rows)
        return days | {str(r["day"]) for r in rows}


async def _days(db: SQL, tables: Sequence[Table], ids: Sequence[str], key: str = "conversation_id") -> set[str]:
    """The days the facts of `ids` stand on now, in `tables`."""
    days: set[str] = set()
    for table in tables:
        statement = select(table.c.day).where(table.c[key].in_(ids)).distinct()
        days |= {str(r["day"]) for r in await db.fetch(statement)}
    return days


def _containment(customers: Sequence[str]) -> Update:
    """The UPDATE that sets `returned_24h` and `contained` on every conversation of `customers`: returned when the
    same customer opened another conversation within 24 h after this one opened; contained when neither handed off
    nor returned."""
    this = analytics_conversations
    later = analytics_conversations.alias("later")
    returned = exists().where(
        later.c.customer_id == this.c.customer_id,
        later.c.opened_at > this.c.opened_at,
        later.c.opened_at <= this.c.opened_at + RETURN_WINDOW_S,
    )
    return (
        this.update()
        .where(this.c.customer_id.in_(customers))
        .values(
            returned_24h=case((returned, 1), else_=0),
            contained=case((this.c.handed_off == 0, case((returned, 0), else_=1)), else_=0),
        )
    )


async def _set_state(tx: SQL, name: str, value: float) -> None:
    statement = upsert(tx, analytics_state).values(name=name, value=value)
    await tx.execute(statement.on_conflict_do_update(index_elements=["name"], set_={"value": value}))


__all__ = ["BATCH", "CURSOR", "RETURN_WINDOW_S", "Projector"]
