"""Writes a demo history (`demo.history.generate`) into a database: the facts through the record's own
`SQLServiceRecord.append`; the customers, conversations and transcripts as rows of `conversations.tables`, and the
tickets with their timelines as rows of `intake.tables`, so a drill-down opens a real transcript or ticket.

The transcripts are inserted as rows rather than through `ConversationStore`: the store stamps messages with its
clock at append time and gives conversations random ids, where the demo needs its own times and "demo-" ids; the
ticket store likewise numbers tickets from its counter and stamps them now (demo tickets are "DEMO-000001", with
negative sequence numbers that real ones never take, and no SLA check pending, so they raise no alerts).
Demo rows are found by their id prefix, so `remove_demo_history` deletes them (and nothing else) before a forced
re-seed; the record is otherwise append-only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, delete, exists, insert, select

from backends.sql import Database
from conversations.tables import conversations, customers, messages
from demo.history import DEMO_PREFIX, DemoOptions, Story, generate
from intake.tables import intake_ticket_events, intake_tickets
from record import ServiceEvent, SQLServiceRecord
from record.tables import service_events

BATCH_EVENTS = 2000  # events per transaction: big enough to be quick on SQLite, small enough to stay in memory


@dataclass(frozen=True)
class SeedSummary:
    conversations: int
    events: int
    messages: int
    customers: int
    tickets: int

    def __str__(self) -> str:
        return (
            f"{self.conversations} conversations, {self.events} events, {self.messages} messages, "
            f"{self.customers} customers, {self.tickets} tickets"
        )


async def has_demo_history(db: Database, prefix: str = DEMO_PREFIX) -> bool:
    """Whether the record already holds demo facts (conversation ids with the demo prefix)."""
    found = select(service_events.c.id).where(service_events.c.conversation_id.startswith(prefix, autoescape=True))
    return bool(await db.fetchval(select(exists(found))))


async def record_is_empty(db: Database) -> bool:
    """Whether the record holds no fact at all: a new installation, where `frontdoor run` offers the demo."""
    return not await db.fetchval(select(exists(select(service_events.c.id))))


async def remove_demo_history(db: Database, prefix: str = DEMO_PREFIX) -> int:
    """Deletes the demo's facts, transcripts, conversations and customers (ids with `prefix`); returns the number
    of facts deleted. Real rows never carry the prefix (their ids are `conv_…`, `cus_…` and UUIDs)."""
    async with db.transaction() as tx:
        removed = await tx.execute(delete(service_events).where(service_events.c.conversation_id.startswith(prefix)))
        await tx.execute(delete(intake_ticket_events).where(intake_ticket_events.c.number.startswith(prefix.upper())))
        await tx.execute(delete(intake_tickets).where(intake_tickets.c.number.startswith(prefix.upper())))
        await tx.execute(delete(messages).where(messages.c.conversation_id.startswith(prefix)))
        await tx.execute(delete(conversations).where(conversations.c.id.startswith(prefix)))
        await tx.execute(delete(customers).where(customers.c.id.startswith(prefix)))
    return removed


async def write_demo_history(
    db: Database, options: DemoOptions, progress: Callable[[SeedSummary], None] | None = None
) -> SeedSummary:
    """Generates the history for `options` and writes it in batches of about BATCH_EVENTS events, each batch's
    rows in one transaction per table (customers and conversations before their messages, which reference them)."""
    record = SQLServiceRecord(db)
    counts = {"conversations": 0, "events": 0, "messages": 0, "customers": 0, "tickets": 0}
    batch: list[Story] = []
    pending = 0

    async def flush() -> None:
        await _insert(db, customers, [s.customer for s in batch if s.customer is not None])
        await _insert(db, conversations, [s.conversation for s in batch])
        await _insert(db, messages, [m for s in batch for m in s.messages])
        await _insert(db, intake_tickets, [t for s in batch for t in s.tickets])
        await _insert(db, intake_ticket_events, [e for s in batch for e in s.ticket_events])
        events = [e for s in batch for e in s.events]
        await record.append(events)
        counts["conversations"] += len(batch)
        counts["events"] += len(events)
        counts["messages"] += sum(len(s.messages) for s in batch)
        counts["customers"] += sum(s.customer is not None for s in batch)
        counts["tickets"] += len(_tickets(events))
        batch.clear()
        if progress is not None:
            progress(SeedSummary(**counts))

    for story in generate(options):
        batch.append(story)
        pending += len(story.events)
        if pending >= BATCH_EVENTS:
            await flush()
            pending = 0
    if batch:
        await flush()
    return SeedSummary(**counts)


def _tickets(events: Iterable[ServiceEvent]) -> set[str]:
    return {e.ticket for e in events if e.ticket is not None and e.kind.value == "ticket_created"}


async def _insert(db: Database, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        async with db.transaction() as tx:
            await tx.execute(insert(table), list(rows))


__all__ = [
    "BATCH_EVENTS",
    "SeedSummary",
    "has_demo_history",
    "record_is_empty",
    "remove_demo_history",
    "write_demo_history",
]
