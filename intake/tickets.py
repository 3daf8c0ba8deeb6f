"""Tickets over the SQL `Database` (SQLite or PostgreSQL): numbering, the status lifecycle, history and
status-change listeners.

Owns the `intake_*` tables. Numbers come from a counter row bumped with `UPDATE … RETURNING` inside the creating
transaction, so two replicas never hand out the same number. Every transition is a compare-and-set on the current
status: a caller that loses a race gets None. Customer-facing reads always take the customer id; staff reads say
so in their name. Must never decide priority or deadlines (the caller passes them in, from `PriorityPolicy`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from backends.sql import SQL, Database, Row
from intake.exceptions import IllegalTransition
from intake.models import (
    OPEN_STATUSES,
    Category,
    Priority,
    StatusChange,
    Ticket,
    TicketDraft,
    TicketStatus,
    Urgency,
    can_transition,
)
from intake.settings import IntakeSettings

log = logging.getLogger(__name__)

StatusListener = Callable[[StatusChange, Ticket], Awaitable[None]]

MIGRATIONS = (
    """CREATE TABLE IF NOT EXISTS intake_counters (
        name TEXT PRIMARY KEY,
        value BIGINT NOT NULL
    )""",
    "INSERT INTO intake_counters (name, value) VALUES ('ticket', 0) ON CONFLICT (name) DO NOTHING",
    """CREATE TABLE IF NOT EXISTS intake_tickets (
        number TEXT PRIMARY KEY,
        seq BIGINT NOT NULL UNIQUE,
        customer_id TEXT NOT NULL,
        conversation_id TEXT NOT NULL DEFAULT '',
        order_number TEXT,
        product TEXT,
        category TEXT,
        description TEXT,
        urgency TEXT,
        contact TEXT,
        language TEXT NOT NULL DEFAULT 'en',
        priority TEXT NOT NULL,
        status TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        updated_at DOUBLE PRECISION NOT NULL,
        first_response_due DOUBLE PRECISION NOT NULL,
        resolution_due DOUBLE PRECISION NOT NULL,
        first_responded_at DOUBLE PRECISION,
        resolved_at DOUBLE PRECISION,
        closed_at DOUBLE PRECISION,
        extra TEXT NOT NULL DEFAULT '{}'
    )""",
    "CREATE INDEX IF NOT EXISTS intake_tickets_customer ON intake_tickets (customer_id, seq)",
    "CREATE INDEX IF NOT EXISTS intake_tickets_status ON intake_tickets (status, priority)",
    """CREATE TABLE IF NOT EXISTS intake_ticket_history (
        number TEXT NOT NULL REFERENCES intake_tickets (number),
        seq INTEGER NOT NULL,
        from_status TEXT,
        to_status TEXT NOT NULL,
        actor TEXT NOT NULL,
        note TEXT NOT NULL DEFAULT '',
        at DOUBLE PRECISION NOT NULL,
        PRIMARY KEY (number, seq)
    )""",
)


@dataclass(frozen=True)
class TicketFilter:
    """Staff-side listing; every field narrows the result, None means any."""

    customer_id: str | None = None
    statuses: Sequence[TicketStatus] | None = None
    priorities: Sequence[Priority] | None = None
    category: Category | None = None
    overdue_at: float | None = None  # only tickets whose first response or resolution is overdue at this time
    limit: int = 50


def _ticket(row: Row) -> Ticket:
    return Ticket(
        number=row["number"],
        seq=int(row["seq"]),
        customer_id=row["customer_id"],
        conversation_id=row["conversation_id"],
        order_number=row["order_number"],
        product=row["product"],
        category=Category(row["category"]) if row["category"] else None,
        description=row["description"],
        urgency=Urgency(row["urgency"]) if row["urgency"] else None,
        contact=row["contact"],
        language=row["language"],
        priority=Priority(row["priority"]),
        status=TicketStatus(row["status"]),
        created_at=float(row["created_at"]),
        updated_at=float(row["updated_at"]),
        first_response_due=float(row["first_response_due"]),
        resolution_due=float(row["resolution_due"]),
        first_responded_at=row["first_responded_at"],
        resolved_at=row["resolved_at"],
        closed_at=row["closed_at"],
        extra=json.loads(row["extra"] or "{}"),
    )


def _change(row: Row) -> StatusChange:
    return StatusChange(
        number=row["number"],
        seq=int(row["seq"]),
        from_status=TicketStatus(row["from_status"]) if row["from_status"] else None,
        to_status=TicketStatus(row["to_status"]),
        actor=row["actor"],
        note=row["note"],
        at=float(row["at"]),
    )


class TicketStore:
    def __init__(
        self, db: Database, *, prefix: str = "FD", digits: int = 6, clock: Callable[[], float] = time.time
    ) -> None:
        self._db = db
        self._prefix = prefix
        self._digits = digits
        self._clock = clock
        self._listeners: list[StatusListener] = []

    @classmethod
    def numbered_by(cls, db: Database, settings: IntakeSettings) -> TicketStore:
        """A store whose numbers follow the settings (`FD_INTAKE_TICKET_PREFIX`): the numbers it gives out are the
        ones the bot's ticket lookup reads back."""
        return cls(db, prefix=settings.ticket_prefix, digits=settings.ticket_digits)

    async def migrate(self) -> None:
        await self._db.migrate(MIGRATIONS)

    def format_number(self, seq: int) -> str:
        return f"{self._prefix}-{seq:0{self._digits}d}"

    # -- listeners -------------------------------------------------------------------------------------------------

    def add_listener(self, listener: StatusListener) -> None:
        """Called after each committed transition (not on creation: the creating action already told the customer)."""
        self._listeners.append(listener)

    def remove_listener(self, listener: StatusListener) -> None:
        self._listeners.remove(listener)

    async def _notify(self, change: StatusChange, ticket: Ticket) -> None:
        for listener in list(self._listeners):
            try:
                await listener(change, ticket)
            except Exception:
                # A broken notifier must not undo or hide a committed status change.
                log.exception("ticket status listener failed for %s", change.number)

    # -- writes ----------------------------------------------------------------------------------------------------

    async def create(
        self,
        draft: TicketDraft,
        *,
        priority: Priority,
        first_response_due: float,
        resolution_due: float,
        actor: str = "bot",
        note: str = "created",
    ) -> Ticket:
        now = self._clock()
        async with self._db.transaction() as tx:
            seq = int(
                await tx.fetchval("UPDATE intake_counters SET value = value + 1 WHERE name = 'ticket' RETURNING value")
            )
            number = self.format_number(seq)
            await tx.execute(
                "INSERT INTO intake_tickets (number, seq, customer_id, conversation_id, order_number, product, "
                "category, description, urgency, contact, language, priority, status, created_at, updated_at, "
                "first_response_due, resolution_due, extra) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)",
                number,
                seq,
                draft.customer_id,
                draft.conversation_id,
                draft.order_number,
                draft.product,
                draft.category.value if draft.category else None,
                draft.description,
                draft.urgency.value if draft.urgency else None,
                draft.contact,
                draft.language,
                priority.value,
                TicketStatus.OPEN.value,
                now,
                now,
                first_response_due,
                resolution_due,
                json.dumps(draft.extra, ensure_ascii=False),
            )
            await self._add_history(tx, number, None, TicketStatus.OPEN, actor, note, now)
            row = await tx.fetchrow("SELECT * FROM intake_tickets WHERE number = $1", number)
        assert row is not None
        return _ticket(row)

    async def transition(
        self,
        number: str,
        to_status: TicketStatus,
        *,
        actor: str,
        note: str = "",
        expected_from: TicketStatus | None = None,
        customer_id: str | None = None,
    ) -> Ticket | None:
        """Move a ticket along the lifecycle. Returns the updated ticket, or None when the ticket does not exist
        (for this customer, if one is given) or another writer changed its status first.

        Raises IllegalTransition for a move the lifecycle forbids (a caller bug, not a race).
        """
        number = number.upper()
        current = await self._fetch(number, customer_id)
        if current is None:
            return None
        from_status = current.status
        if expected_from is not None and expected_from is not from_status:
            return None
        if not can_transition(from_status, to_status):
            raise IllegalTransition(number, from_status.value, to_status.value)
        now = self._clock()
        sets = ["status = $1", "updated_at = $2"]
        if to_status in (TicketStatus.IN_PROGRESS, TicketStatus.WAITING_ON_CUSTOMER):
            sets.append("first_responded_at = COALESCE(first_responded_at, $2)")
        if to_status is TicketStatus.RESOLVED:
            sets.append("resolved_at = $2")
        if to_status is TicketStatus.OPEN:  # reopened: the old resolution no longer stands
            sets.append("resolved_at = NULL")
        if to_status is TicketStatus.CLOSED:
            sets.append("closed_at = $2")
        # `sets` holds only the fixed clauses above; every value travels as a parameter.
        sql = f"UPDATE intake_tickets SET {', '.join(sets)} WHERE number = $3 AND status = $4 RETURNING *"  # noqa: S608
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                sql,
                to_status.value,
                now,
                number,
                from_status.value,
            )
            if row is None:
                return None
            change = await self._add_history(tx, number, from_status, to_status, actor, note, now)
        ticket = _ticket(row)
        await self._notify(change, ticket)
        return ticket

    async def _add_history(
        self,
        tx: SQL,
        number: str,
        from_status: TicketStatus | None,
        to_status: TicketStatus,
        actor: str,
        note: str,
        at: float,
    ) -> StatusChange:
        # Safe without a sequence: the ticket row is locked (or, on SQLite, the database is) until commit.
        seq = int(
            await tx.fetchval("SELECT COALESCE(MAX(seq), 0) + 1 FROM intake_ticket_history WHERE number = $1", number)
        )
        await tx.execute(
            "INSERT INTO intake_ticket_history (number, seq, from_status, to_status, actor, note, at) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7)",
            number,
            seq,
            from_status.value if from_status else None,
            to_status.value,
            actor,
            note,
            at,
        )
        return StatusChange(number, seq, from_status, to_status, actor, note, at)

    # -- reads -----------------------------------------------------------------------------------------------------

    async def _fetch(self, number: str, customer_id: str | None) -> Ticket | None:
        if customer_id is None:
            row = await self._db.fetchrow("SELECT * FROM intake_tickets WHERE number = $1", number.upper())
        else:
            row = await self._db.fetchrow(
                "SELECT * FROM intake_tickets WHERE number = $1 AND customer_id = $2", number.upper(), customer_id
            )
        return _ticket(row) if row else None

    async def get(self, number: str, *, customer_id: str) -> Ticket | None:
        """The customer's own ticket; someone else's number reads exactly like a missing one."""
        return await self._fetch(number, customer_id)

    async def get_for_staff(self, number: str) -> Ticket | None:
        return await self._fetch(number, None)

    async def list_for_customer(
        self, customer_id: str, *, statuses: Sequence[TicketStatus] | None = None, limit: int = 20
    ) -> list[Ticket]:
        """Newest first."""
        return await self.search(TicketFilter(customer_id=customer_id, statuses=statuses, limit=limit))

    async def open_tickets_of(self, customer_id: str, limit: int = 5) -> list[Ticket]:
        return await self.list_for_customer(customer_id, statuses=OPEN_STATUSES, limit=limit)

    async def search(self, query: TicketFilter) -> list[Ticket]:
        where: list[str] = []
        args: list[Any] = []

        def arg(value: Any) -> str:
            args.append(value)
            return f"${len(args)}"

        if query.customer_id is not None:
            where.append(f"customer_id = {arg(query.customer_id)}")
        if query.statuses:
            where.append(f"status IN ({', '.join(arg(s.value) for s in query.statuses)})")
        if query.priorities:
            where.append(f"priority IN ({', '.join(arg(p.value) for p in query.priorities)})")
        if query.category is not None:
            where.append(f"category = {arg(query.category.value)}")
        if query.overdue_at is not None:
            # Only tickets still waiting on us can be late; a resolved ticket's missed first response is history.
            at = arg(query.overdue_at)
            still_open = ", ".join(arg(s.value) for s in OPEN_STATUSES)
            where.append(
                f"status IN ({still_open}) AND ((first_responded_at IS NULL AND first_response_due < {at}) "
                f"OR resolution_due < {at})"
            )
        sql = "SELECT * FROM intake_tickets"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY seq DESC LIMIT {arg(max(1, query.limit))}"
        return [_ticket(row) for row in await self._db.fetch(sql, *args)]

    async def history(self, number: str, *, customer_id: str | None = None) -> list[StatusChange]:
        """Oldest first. With a customer id, someone else's ticket has no history."""
        if customer_id is not None and await self._fetch(number, customer_id) is None:
            return []
        rows = await self._db.fetch(
            "SELECT * FROM intake_ticket_history WHERE number = $1 ORDER BY seq", number.upper()
        )
        return [_change(row) for row in rows]
