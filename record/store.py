"""The service record in SQL: `ServiceRecord` (append, read) and its implementation over `backends.sql`.

Appending is idempotent by event id (INSERT … ON CONFLICT DO NOTHING), so a batch retried after a failure whose
outcome was unknown (the commit may have landed) never stores a fact twice. Rows are never updated or deleted.
`EventQuery` says which events to read; `conditions(query)` gives the same filter as SQL conditions, for the reports
that aggregate over `service_events` themselves. Works on SQLite and PostgreSQL. Must never import web code.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import ColumnElement, and_, or_, select

from backends.sql import Database, upsert
from record.exceptions import InvalidEventQuery
from record.models import DIMENSIONS, ID_COLUMNS, ServiceEvent, ServiceEventKind
from record.tables import service_events

DEFAULT_LIMIT = 1000
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class EventQuery:
    """Which events to read; every field narrows, None means any. Times are epoch seconds: `since` ≤ at < `until`.

    `after` is a cursor, the (at, id) of the last event of the previous page: reading on from it never skips or
    repeats an event, even when many share one instant."""

    since: float | None = None
    until: float | None = None
    kinds: Collection[ServiceEventKind | str] | None = None
    conversation_id: str | None = None
    customer_id: str | None = None
    ticket: str | None = None
    agent: str | None = None
    actor: str | None = None
    channel: str | None = None
    language: str | None = None
    category: str | None = None
    priority: str | None = None
    team: str | None = None
    queue: str | None = None
    after: tuple[float, str] | None = None


def conditions(query: EventQuery) -> list[ColumnElement[bool]]:
    """The query as SQL conditions on `service_events`. Raises InvalidEventQuery for an unknown kind or a reversed
    range."""
    c = service_events.c
    where: list[ColumnElement[bool]] = []
    if query.since is not None and query.until is not None and query.until < query.since:
        raise InvalidEventQuery(f"the range ends ({query.until}) before it starts ({query.since})")
    if query.since is not None:
        where.append(c.at >= query.since)
    if query.until is not None:
        where.append(c.at < query.until)
    if query.kinds is not None:
        if isinstance(query.kinds, str):
            raise InvalidEventQuery("kinds must be a collection of kinds, not one string")
        try:
            kinds = sorted({ServiceEventKind(k).value for k in query.kinds})
        except ValueError as exc:
            raise InvalidEventQuery(str(exc)) from exc
        where.append(c.kind.in_(kinds))
    for name in (*ID_COLUMNS, "actor", *DIMENSIONS):
        value = getattr(query, name)
        if value is not None:
            where.append(c[name] == value)
    if query.after is not None:
        at, event_id = query.after
        where.append(or_(c.at > at, and_(c.at == at, c.id > event_id)))
    return where


class ServiceRecord(Protocol):
    """Where facts are kept for good."""

    async def append(self, events: Sequence[ServiceEvent]) -> None:
        """Stores the events in one transaction, in order; an id already stored is skipped. Raises whatever the
        database raises: the writer retries."""

    async def read(self, query: EventQuery | None = None, *, limit: int = DEFAULT_LIMIT) -> list[ServiceEvent]:
        """The matching events oldest first (by time, then id), at most `limit` (1 to MAX_LIMIT)."""


class SQLServiceRecord:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def append(self, events: Sequence[ServiceEvent]) -> None:
        if not events:
            return
        # One statement run per row (executemany): compiled once, where a multi-row VALUES is compiled anew for
        # every batch size and cost ten times as much per event on SQLite.
        statement = upsert(self._db, service_events).on_conflict_do_nothing(index_elements=["id"])
        async with self._db.transaction() as tx:
            await tx.execute(statement, [event.to_row() for event in events])

    async def read(self, query: EventQuery | None = None, *, limit: int = DEFAULT_LIMIT) -> list[ServiceEvent]:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidEventQuery(f"limit must be 1..{MAX_LIMIT}")
        c = service_events.c
        statement = select(service_events).where(*conditions(query or EventQuery())).order_by(c.at, c.id).limit(limit)
        return [ServiceEvent.from_row(row) for row in await self._db.fetch(statement)]


__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "EventQuery", "SQLServiceRecord", "ServiceRecord", "conditions"]
