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

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update

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
from intake.tables import intake_counters, intake_ticket_history, intake_tickets

log = logging.getLogger(__name__)

StatusListener = Callable[[StatusChange, Ticket], Awaitable[None]]


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
                await tx.fetchval(
                    update(intake_counters)
                    .where(intake_counters.c.name == "ticket")
                    .values(value=intake_counters.c.value + 1)
                    .returning(intake_counters.c.value)
                )
            )
            number = self.format_number(seq)
            await tx.execute(
                insert(intake_tickets).values(
                    number=number,
                    seq=seq,
                    customer_id=draft.customer_id,
                    conversation_id=draft.conversation_id,
                    order_number=draft.order_number,
                    product=draft.product,
                    category=draft.category.value if draft.category else None,
                    description=draft.description,
                    urgency=draft.urgency.value if draft.urgency else None,
                    contact=draft.contact,
                    language=draft.language,
                    priority=priority.value,
                    status=TicketStatus.OPEN.value,
                    created_at=now,
                    updated_at=now,
                    first_response_due=first_response_due,
                    resolution_due=resolution_due,
                    extra=json.dumps(draft.extra, ensure_ascii=False),
                )
            )
            await self._add_history(tx, number, None, TicketStatus.OPEN, actor, note, now)
            row = await tx.fetchrow(select(intake_tickets).where(intake_tickets.c.number == number))
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
        sets: dict[str, Any] = {"status": to_status.value, "updated_at": now}
        if to_status in (TicketStatus.IN_PROGRESS, TicketStatus.WAITING_ON_CUSTOMER):
            sets["first_responded_at"] = func.coalesce(intake_tickets.c.first_responded_at, now)
        if to_status is TicketStatus.RESOLVED:
            sets["resolved_at"] = now
        if to_status is TicketStatus.OPEN:  # reopened: the old resolution no longer stands
            sets["resolved_at"] = None
        if to_status is TicketStatus.CLOSED:
            sets["closed_at"] = now
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(
                update(intake_tickets)
                .where(intake_tickets.c.number == number, intake_tickets.c.status == from_status.value)
                .values(**sets)
                .returning(intake_tickets)
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
        history = intake_ticket_history
        seq = int(
            await tx.fetchval(select(func.coalesce(func.max(history.c.seq), 0) + 1).where(history.c.number == number))
        )
        await tx.execute(
            insert(history).values(
                number=number,
                seq=seq,
                from_status=from_status.value if from_status else None,
                to_status=to_status.value,
                actor=actor,
                note=note,
                at=at,
            )
        )
        return StatusChange(number, seq, from_status, to_status, actor, note, at)

    # -- reads -----------------------------------------------------------------------------------------------------

    async def _fetch(self, number: str, customer_id: str | None) -> Ticket | None:
        query = select(intake_tickets).where(intake_tickets.c.number == number.upper())
        if customer_id is not None:
            query = query.where(intake_tickets.c.customer_id == customer_id)
        row = await self._db.fetchrow(query)
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
        t = intake_tickets.c
        where: list[ColumnElement[bool]] = []
        if query.customer_id is not None:
            where.append(t.customer_id == query.customer_id)
        if query.statuses:
            where.append(t.status.in_([s.value for s in query.statuses]))
        if query.priorities:
            where.append(t.priority.in_([p.value for p in query.priorities]))
        if query.category is not None:
            where.append(t.category == query.category.value)
        if query.overdue_at is not None:
            # Only tickets still waiting on us can be late; a resolved ticket's missed first response is history.
            at = query.overdue_at
            where.append(t.status.in_([s.value for s in OPEN_STATUSES]))
            where.append(or_(and_(t.first_responded_at.is_(None), t.first_response_due < at), t.resolution_due < at))
        statement = select(intake_tickets).where(*where).order_by(t.seq.desc()).limit(max(1, query.limit))
        return [_ticket(row) for row in await self._db.fetch(statement)]

    async def history(self, number: str, *, customer_id: str | None = None) -> list[StatusChange]:
        """Oldest first. With a customer id, someone else's ticket has no history."""
        if customer_id is not None and await self._fetch(number, customer_id) is None:
            return []
        rows = await self._db.fetch(
            select(intake_ticket_history)
            .where(intake_ticket_history.c.number == number.upper())
            .order_by(intake_ticket_history.c.seq)
        )
        return [_change(row) for row in rows]
