"""Tickets over the SQL `Database` (SQLite or PostgreSQL): numbering, the status workflow, teams and assignees,
the timeline (notes, replies, transfers, merges, SLA events), the SLA clocks' pause, and timeline listeners.

Owns the `intake_tickets`, `intake_ticket_events` and `intake_sla_marks` tables. Numbers come from a counter row
bumped with `UPDATE … RETURNING` inside the creating transaction, so two replicas never hand out the same number.
Every write first updates the ticket row (a compare-and-set on its status where the status matters), which also
locks it for the timeline's next sequence number; a caller that loses a race gets None. Customer-facing reads
always take the customer id; staff reads say so in their name. Deadlines come from the `SlaPolicy` (a team's own
targets through `TeamStore.policy_for`); the store never decides priority. Every write sets `sla_next_check` to
now, so the SLA watcher (`intake.sla_watch`) looks again and computes the next instant that matters.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, func, insert, or_, select, update

from backends.sql import SQL, Database, Row, upsert
from intake.exceptions import IllegalTransition, InvalidTicketChange, TicketNotFound
from intake.models import (
    OPEN_STATUSES,
    REOPEN_WINDOW_S,
    Category,
    EventKind,
    Priority,
    Ticket,
    TicketDraft,
    TicketEvent,
    TicketStatus,
    Urgency,
    can_transition,
)
from intake.settings import IntakeSettings
from intake.sla import SlaDeadlines, SlaMetric, SlaPolicy, epoch_to_utc
from intake.tables import intake_counters, intake_sla_marks, intake_ticket_events, intake_tickets
from intake.teams import TeamStore

log = logging.getLogger(__name__)

MAX_QUOTED_CHARS = 2000  # a customer's message quoted on a ticket's timeline (the transcript keeps it whole)

TicketListener = Callable[[TicketEvent, Ticket], Awaitable[None]]
Sort = Literal["due", "newest", "updated"]
SORTS: tuple[Sort, ...] = ("due", "newest", "updated")

# Kinds the customer may see on their ticket (the status answer, the widget): never notes, assignments, transfers.
PUBLIC_KINDS = frozenset({EventKind.CREATED, EventKind.STATUS, EventKind.REPLY, EventKind.SLA_BREACHED})
# Kinds written from outside the workflow (`record_event`): what happened on the way to the customer and back.
OUTSIDE_KINDS = frozenset({EventKind.DELIVERY_FAILED, EventKind.FOLLOW_UP, EventKind.FOLLOW_UP_TASK})


@dataclass(frozen=True)
class TicketFilter:
    """Staff-side listing; every field narrows the result, None means any.

    `text` matches the number, customer id, order number, contact and description (case-insensitive substring).
    `assignee=""` means unassigned. `at_risk_at` keeps open tickets with a running clock past its at-risk instant
    (breached ones included); `breached_at` those with a running clock past its due time. `sort="due"` orders by
    the nearest running deadline first.
    """

    customer_id: str | None = None
    statuses: Sequence[TicketStatus] | None = None
    priorities: Sequence[Priority] | None = None
    categories: Sequence[Category] | None = None
    team_ids: Sequence[str] | None = None
    assignee: str | None = None
    channel: str | None = None
    text: str = ""
    at_risk_at: float | None = None
    breached_at: float | None = None
    overdue_at: float | None = None  # only tickets whose first response or resolution is overdue at this time
    sort: Sort = "newest"
    limit: int = 50
    offset: int = 0


def _float(value: Any) -> float | None:
    return float(value) if value is not None else None


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
        first_responded_at=_float(row["first_responded_at"]),
        resolved_at=_float(row["resolved_at"]),
        closed_at=_float(row["closed_at"]),
        extra=json.loads(row["extra"] or "{}"),
        channel=row["channel"],
        team_id=row["team_id"],
        assignee=row["assignee"],
        merged_into=row["merged_into"],
        paused_at=_float(row["paused_at"]),
        next_reply_due=_float(row["next_reply_due"]),
        reply_clock_started_at=_float(row["reply_clock_started_at"]),
        sla_next_check=_float(row["sla_next_check"]),
        first_response_warn_at=_float(row["first_response_warn_at"]),
        next_reply_warn_at=_float(row["next_reply_warn_at"]),
        resolution_warn_at=_float(row["resolution_warn_at"]),
    )


def _event(row: Row) -> TicketEvent:
    return TicketEvent(
        number=row["number"],
        seq=int(row["seq"]),
        kind=EventKind(row["kind"]),
        actor=row["actor"],
        body=row["body"],
        data=json.loads(row["data"] or "{}"),
        public=bool(row["public"]),
        at=float(row["at"]),
    )


def _reply_owed(ticket: Ticket, policy: SlaPolicy, due: float, now: float) -> dict[str, Any]:
    """Column sets that make our next answer to the customer due at `due` (epoch s). While the first response is
    still owed it is that clock that moves: two clocks for one awaited answer would mean two at-risk alerts, two
    breaches and two apologies. After the first response it is the reply clock."""
    warn = policy.warning_epoch(ticket.priority, now, due)
    if ticket.first_responded_at is None:
        return {"first_response_due": due, "first_response_warn_at": warn, "sla_next_check": now}
    return {"next_reply_due": due, "next_reply_warn_at": warn, "reply_clock_started_at": now, "sla_next_check": now}


class TicketStore:
    def __init__(
        self,
        db: Database,
        *,
        prefix: str = "FD",
        digits: int = 6,
        clock: Callable[[], float] = time.time,
        policy: SlaPolicy | None = None,
        teams: TeamStore | None = None,
    ) -> None:
        self._db = db
        self._prefix = prefix
        self._digits = digits
        self._clock = clock
        self.policy = policy or SlaPolicy()
        self.teams = teams or TeamStore(db, clock)
        self._listeners: list[TicketListener] = []

    @classmethod
    def numbered_by(cls, db: Database, settings: IntakeSettings, teams: TeamStore | None = None) -> TicketStore:
        """A store whose numbers follow the settings (`FD_INTAKE_TICKET_PREFIX`), on the settings' SLA policy: the
        numbers it gives out are the ones the bot's ticket lookup reads back."""
        return cls(
            db, prefix=settings.ticket_prefix, digits=settings.ticket_digits, policy=settings.sla_policy(), teams=teams
        )

    def format_number(self, seq: int) -> str:
        return f"{self._prefix}-{seq:0{self._digits}d}"

    async def policy_for(self, team_id: str | None) -> SlaPolicy:
        return await self.teams.policy_for(team_id, self.policy)

    # -- listeners -------------------------------------------------------------------------------------------------

    def add_listener(self, listener: TicketListener) -> None:
        """Called after each committed timeline event (creation included) with the ticket as it then stands."""
        self._listeners.append(listener)

    def remove_listener(self, listener: TicketListener) -> None:
        self._listeners.remove(listener)

    async def _notify(self, events: Sequence[TicketEvent], ticket: Ticket) -> None:
        for event in events:
            for listener in list(self._listeners):
                try:
                    await listener(event, ticket)
                except Exception:
                    # A broken notifier must not undo or hide a committed change.
                    log.exception("ticket listener failed for %s", event.number)

    # -- writes ----------------------------------------------------------------------------------------------------

    async def create(
        self,
        draft: TicketDraft,
        *,
        priority: Priority,
        deadlines: SlaDeadlines | None = None,
        team_id: str | None = None,
        skill_group: str | None = None,
        channel: str = "",
        actor: str = "bot",
        note: str = "",
    ) -> Ticket:
        """A NEW ticket for `team_id`, or else the team covering handoff `skill_group` (`TeamStore.team_for_group`);
        its deadlines default to that team's policy from now. Raises UnknownTeam."""
        now = self._clock()
        if team_id is None and skill_group is not None:
            team_id = await self.teams.team_for_group(skill_group)
        if team_id is not None:
            await self.teams.require(team_id)
        policy = await self.policy_for(team_id)
        if deadlines is None:
            deadlines = policy.deadlines(priority, now)
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
            row = await tx.fetchrow(
                insert(intake_tickets)
                .values(
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
                    status=TicketStatus.NEW.value,
                    created_at=now,
                    updated_at=now,
                    first_response_due=deadlines.first_response_due,
                    resolution_due=deadlines.resolution_due,
                    extra=json.dumps(draft.extra, ensure_ascii=False),
                    channel=channel,
                    team_id=team_id,
                    sla_next_check=now,
                    first_response_warn_at=policy.warning_epoch(priority, now, deadlines.first_response_due),
                    resolution_warn_at=policy.warning_epoch(priority, now, deadlines.resolution_due),
                )
                .returning(intake_tickets)
            )
            assert row is not None
            event = await self._add_event(
                tx, number, EventKind.CREATED, actor, note, {"to": TicketStatus.NEW.value, "team": team_id}, now
            )
        ticket = _ticket(row)
        await self._notify([event], ticket)
        return ticket

    async def _change(
        self,
        number: str,
        sets: dict[str, Any],
        events: Sequence[tuple[EventKind, str, str, dict[str, Any]]],
        *,
        expected_status: TicketStatus | None = None,
        at: float | None = None,
    ) -> Ticket | None:
        """Update the ticket row (compare-and-set on `expected_status` when given) and append `events` as (kind,
        actor, body, data) in one transaction; None when the row was not there (or its status had moved)."""
        now = self._clock() if at is None else at
        where = [intake_tickets.c.number == number]
        if expected_status is not None:
            where.append(intake_tickets.c.status == expected_status.value)
        sets = {"updated_at": now, **sets}
        async with self._db.transaction() as tx:
            row = await tx.fetchrow(update(intake_tickets).where(*where).values(**sets).returning(intake_tickets))
            if row is None:
                return None
            added = [
                await self._add_event(tx, number, kind, actor, body, data, now) for kind, actor, body, data in events
            ]
        ticket = _ticket(row)
        await self._notify(added, ticket)
        return ticket

    async def _require(self, number: str, customer_id: str | None = None) -> Ticket:
        ticket = await self._fetch(number, customer_id)
        if ticket is None:
            raise TicketNotFound(number)
        return ticket

    async def _resume_sets(self, ticket: Ticket, now: float) -> dict[str, Any]:
        """Leaving PENDING_CUSTOMER: every running due time moves later by the business time spent paused."""
        if ticket.paused_at is None:
            return {}
        policy = await self.policy_for(ticket.team_id)
        start, prio = ticket.paused_at, ticket.priority
        sets: dict[str, Any] = {"paused_at": None}
        for column in ("first_response_due", "next_reply_due", "resolution_due"):
            for name in (column, column.replace("_due", "_warn_at")):
                value = getattr(ticket, name)
                if value is not None:
                    sets[name] = policy.shifted(prio, value, start, now)
        return sets

    async def _status_sets(self, ticket: Ticket, to_status: TicketStatus, now: float) -> dict[str, Any]:
        sets: dict[str, Any] = {"status": to_status.value, "sla_next_check": now}
        if ticket.status is TicketStatus.PENDING_CUSTOMER:
            sets |= await self._resume_sets(ticket, now)
        if to_status is TicketStatus.PENDING_CUSTOMER:
            sets |= {"paused_at": now, "sla_next_check": None}
        elif to_status is TicketStatus.RESOLVED:
            sets |= {"resolved_at": now, "next_reply_due": None, "sla_next_check": None}
        elif to_status is TicketStatus.CLOSED:
            sets |= {"closed_at": now, "next_reply_due": None, "sla_next_check": None, "paused_at": None}
        elif ticket.status is TicketStatus.RESOLVED:  # reopened: a new resolution clock, from now
            policy = await self.policy_for(ticket.team_id)
            due = policy.resolution_due(ticket.priority, epoch_to_utc(now)).timestamp()
            sets |= {
                "resolved_at": None,
                "resolution_due": due,
                "resolution_warn_at": policy.warning_epoch(ticket.priority, now, due),
            }
        return sets

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
        """Move a ticket along the workflow. Returns the updated ticket, or None when the ticket does not exist
        (for this customer, if one is given) or another writer changed its status first.

        Raises IllegalTransition for a move the workflow forbids.
        """
        number = number.upper()
        current = await self._fetch(number, customer_id)
        if current is None or (expected_from is not None and expected_from is not current.status):
            return None
        if not can_transition(current.status, to_status):
            raise IllegalTransition(number, current.status.value, to_status.value)
        now = self._clock()
        sets = await self._status_sets(current, to_status, now)
        data = {"from": current.status.value, "to": to_status.value}
        events: list[tuple[EventKind, str, str, dict[str, Any]]] = [(EventKind.STATUS, actor, "", data)]
        if note:
            # A note with a change is internal like every note: what the customer hears is the change itself.
            events.append((EventKind.NOTE, actor, note, {"with_status": to_status.value}))
        return await self._change(number, sets, events, expected_status=current.status, at=now)

    async def add_note(self, number: str, body: str, *, actor: str) -> TicketEvent:
        """An internal note: staff only, never shown or sent to the customer. Raises TicketNotFound."""
        ticket = await self._require(number.upper())
        changed = await self._change(ticket.number, {}, [(EventKind.NOTE, actor, body, {})])
        if changed is None:
            raise TicketNotFound(number)
        return (await self.timeline(ticket.number))[-1]

    async def add_reply(self, number: str, body: str, *, actor: str) -> TicketEvent:
        """A public reply, for delivery to the customer on their channel (by a listener). It is the first response
        when none came before, stops the reply clock, and moves a NEW ticket to OPEN.

        Raises TicketNotFound; InvalidTicketChange on a closed ticket.
        """
        ticket = await self._require(number.upper())
        if ticket.status is TicketStatus.CLOSED:
            raise InvalidTicketChange(f"ticket {ticket.number} is closed")
        now = self._clock()
        sets: dict[str, Any] = {
            "first_responded_at": func.coalesce(intake_tickets.c.first_responded_at, now),
            "next_reply_due": None,
            "next_reply_warn_at": None,
            "reply_clock_started_at": None,
            "sla_next_check": now if ticket.status in OPEN_STATUSES and ticket.paused_at is None else None,
        }
        events: list[tuple[EventKind, str, str, dict[str, Any]]] = []
        if ticket.status is TicketStatus.NEW:
            sets["status"] = TicketStatus.OPEN.value
            events.append((EventKind.STATUS, actor, "", {"from": "new", "to": "open", "auto": True}))
        events.append((EventKind.REPLY, actor, body, {}))
        changed = await self._change(ticket.number, sets, events, expected_status=ticket.status, at=now)
        if changed is None:
            raise TicketNotFound(number)  # it changed status meanwhile: the caller retries with fresh eyes
        return (await self.timeline(ticket.number))[-1]

    async def assign(self, number: str, assignee: str | None, *, actor: str) -> Ticket:
        """Give the ticket to `assignee` (a staff username; None: nobody). Raises TicketNotFound; InvalidTicketChange
        for a closed ticket (closed is final, as for transfers and replies)."""
        ticket = await self._require(number.upper())
        if ticket.status is TicketStatus.CLOSED:
            raise InvalidTicketChange(f"ticket {ticket.number} is closed")
        data = {"from": ticket.assignee, "to": assignee}
        changed = await self._change(ticket.number, {"assignee": assignee}, [(EventKind.ASSIGNED, actor, "", data)])
        if changed is None:
            raise TicketNotFound(number)
        return changed

    async def transfer(
        self, number: str, team_id: str, *, actor: str, reason: str, assignee: str | None = None
    ) -> Ticket:
        """Hand the ticket to another team, recording who, when and why. The receiving team's first-response
        target starts now (as the first-response clock while that is still owed, else as the reply clock), so the
        customer is never passed on without a clock running.

        Raises TicketNotFound, UnknownTeam; InvalidTicketChange for a finished ticket or its own team.
        """
        ticket = await self._require(number.upper())
        team = await self.teams.require(team_id)
        if not ticket.is_open:
            raise InvalidTicketChange(f"ticket {ticket.number} is {ticket.status.value}: reopen it first")
        if ticket.team_id == team.id:
            raise InvalidTicketChange(f"ticket {ticket.number} is already with {team.id}")
        now = self._clock()
        policy = await self.policy_for(team.id)
        due = policy.due(ticket.priority, SlaMetric.FIRST_RESPONSE, epoch_to_utc(now)).timestamp()
        sets: dict[str, Any] = {"team_id": team.id, "assignee": assignee, "sla_next_check": now}
        if ticket.status is TicketStatus.PENDING_CUSTOMER:
            sets["status"] = TicketStatus.OPEN.value  # the receiving team owes the customer a reply
            sets |= await self._resume_sets(ticket, now)
        sets |= _reply_owed(ticket, policy, due, now)
        data = {"from": ticket.team_id, "to": team.id, "due": due}
        changed = await self._change(
            ticket.number, sets, [(EventKind.TRANSFERRED, actor, reason, data)], expected_status=ticket.status, at=now
        )
        if changed is None:
            raise TicketNotFound(number)
        return changed

    async def merge(self, source: str, into: str, *, actor: str) -> Ticket:
        """Close duplicate `source` into `into`: the source's conversation joins the target's timeline. Returns
        the target. Raises TicketNotFound; InvalidTicketChange for itself, a closed ticket or another customer's."""
        duplicate = await self._require(source.upper())
        target = await self._require(into.upper())
        if duplicate.number == target.number:
            raise InvalidTicketChange("a ticket cannot be merged into itself")
        if TicketStatus.CLOSED in (duplicate.status, target.status):
            raise InvalidTicketChange("closed tickets cannot be merged")
        if duplicate.customer_id != target.customer_id:
            raise InvalidTicketChange("only tickets of the same customer can be merged")
        now = self._clock()
        sets = await self._status_sets(duplicate, TicketStatus.CLOSED, now)
        closed = await self._change(
            duplicate.number,
            sets | {"merged_into": target.number},
            [
                (EventKind.MERGED, actor, "", {"into": target.number}),
                (EventKind.STATUS, actor, "", {"from": duplicate.status.value, "to": "closed", "merged": True}),
            ],
            expected_status=duplicate.status,
            at=now,
        )
        if closed is None:
            raise TicketNotFound(source)
        events: list[tuple[EventKind, str, str, dict[str, Any]]] = [
            (EventKind.MERGED_FROM, actor, duplicate.description or "", {"from": duplicate.number})
        ]
        if duplicate.conversation_id and duplicate.conversation_id != target.conversation_id:
            events.append((EventKind.LINKED_CONVERSATION, actor, "", {"conversation_id": duplicate.conversation_id}))
        merged = await self._change(target.number, {}, events, at=now)
        if merged is None:
            raise TicketNotFound(into)
        return merged

    async def link_conversation(self, number: str, conversation_id: str, *, actor: str) -> Ticket:
        """Attach a chat's transcript to the ticket's timeline. Raises TicketNotFound."""
        changed = await self._change(
            number.upper(), {}, [(EventKind.LINKED_CONVERSATION, actor, "", {"conversation_id": conversation_id})]
        )
        if changed is None:
            raise TicketNotFound(number)
        return changed

    async def record_event(
        self, number: str, kind: EventKind, data: dict[str, Any], *, body: str = "", actor: str = "system"
    ) -> Ticket | None:
        """Append a staff-only event from outside the workflow — a delivery that failed, the customer's answer to the
        follow-up, a supervisor's follow-up task — without changing anything else. None when the ticket is unknown.

        Raises InvalidTicketChange for a kind the workflow writes itself (a status change, a reply, an SLA event).
        """
        if kind not in OUTSIDE_KINDS:
            raise InvalidTicketChange(f"{kind.value} events are written by the workflow itself")
        return await self._change(number.upper(), {}, [(kind, actor, body, data)])

    async def set_priority(self, number: str, priority: Priority, *, actor: str, note: str = "") -> Ticket | None:
        """Change the priority (an escalation); the deadlines already running stand. None when unknown."""
        ticket = await self._fetch(number.upper(), None)
        if ticket is None or ticket.priority is priority:
            return ticket
        data = {"from": ticket.priority.value, "to": priority.value}
        return await self._change(
            ticket.number, {"priority": priority.value}, [(EventKind.PRIORITY, actor, note, data)]
        )

    async def move_customer(self, tx: SQL, source_id: str, target_id: str, *, actor: str, at: float) -> int:
        """Every ticket of customer `source_id` becomes `target_id`'s, inside the customer merge's transaction `tx`
        (conversations/customers.py), each with an internal `customer_merged` event. Returns how many moved.

        No listener is told: nothing the customer sees changes, and the merge is not committed yet."""
        numbers = await tx.fetch(
            update(intake_tickets)
            .where(intake_tickets.c.customer_id == source_id)
            .values(customer_id=target_id, updated_at=at)
            .returning(intake_tickets.c.number)
        )
        for row in numbers:
            data = {"from": source_id, "to": target_id}
            await self._add_event(tx, row["number"], EventKind.CUSTOMER_MERGED, actor, "", data, at)
        return len(numbers)

    async def customer_message(self, conversation_id: str, *, text: str = "", at: float | None = None) -> list[Ticket]:
        """The customer wrote in `conversation_id`: a ticket of that chat resolved within `REOPEN_WINDOW_S` reopens
        (our answer due within the next-reply target), one waiting on the customer resumes, and an open one starts
        its reply clock (next-reply target) unless it is already running or the first response is still owed (that
        clock already runs). Returns the tickets that changed. A merged duplicate's messages count for its target.
        """
        now = self._clock() if at is None else at
        rows = await self._db.fetch(
            select(intake_tickets).where(
                intake_tickets.c.conversation_id == conversation_id,
                or_(
                    intake_tickets.c.status.in_([s.value for s in OPEN_STATUSES]),
                    and_(
                        intake_tickets.c.status == TicketStatus.RESOLVED.value,
                        intake_tickets.c.resolved_at >= now - REOPEN_WINDOW_S,
                    ),
                    intake_tickets.c.merged_into.is_not(None),
                ),
            )
        )
        changed: list[Ticket] = []
        for ticket in [_ticket(row) for row in rows]:
            if ticket.merged_into:
                target = await self._fetch(ticket.merged_into, None)
                if target is None or target.conversation_id == conversation_id:
                    continue
                ticket = target
            result = await self._customer_wrote(ticket, now, text[:MAX_QUOTED_CHARS])
            if result is not None:
                changed.append(result)
        return changed

    async def _customer_wrote(self, ticket: Ticket, now: float, text: str) -> Ticket | None:
        if ticket.status is TicketStatus.RESOLVED and (ticket.resolved_at or 0) < now - REOPEN_WINDOW_S:
            return None
        if ticket.status is TicketStatus.CLOSED:
            return None
        policy = await self.policy_for(ticket.team_id)
        reply_due = policy.next_reply_due(ticket.priority, epoch_to_utc(now)).timestamp()
        clock = _reply_owed(ticket, policy, reply_due, now)
        owes_first_response = ticket.first_responded_at is None
        if ticket.status in (TicketStatus.RESOLVED, TicketStatus.PENDING_CUSTOMER):
            sets = await self._status_sets(ticket, TicketStatus.OPEN, now)
            if owes_first_response and ticket.status is TicketStatus.PENDING_CUSTOMER:
                clock = {}  # the first-response clock resumes where it paused (moved later by the pause)
            data = {"from": ticket.status.value, "to": TicketStatus.OPEN.value}
            return await self._change(
                ticket.number,
                sets | clock,
                [(EventKind.STATUS, "customer", "", data), (EventKind.CUSTOMER_MESSAGE, "customer", text, {})],
                expected_status=ticket.status,
                at=now,
            )
        if owes_first_response or ticket.next_reply_due is not None or ticket.paused_at is not None:
            return None
        return await self._change(
            ticket.number,
            clock,
            [(EventKind.CUSTOMER_MESSAGE, "customer", text, {})],
            expected_status=ticket.status,
            at=now,
        )

    async def _add_event(
        self, tx: SQL, number: str, kind: EventKind, actor: str, body: str, data: dict[str, Any], at: float
    ) -> TicketEvent:
        # Safe without a sequence: the ticket row is locked (or, on SQLite, the database is) until commit.
        events = intake_ticket_events
        seq = int(
            await tx.fetchval(select(func.coalesce(func.max(events.c.seq), 0) + 1).where(events.c.number == number))
        )
        public = kind in PUBLIC_KINDS and not data.get("auto")
        await tx.execute(
            insert(events).values(
                number=number,
                seq=seq,
                kind=kind.value,
                actor=actor,
                body=body,
                data=json.dumps(data, ensure_ascii=False),
                public=public,
                at=at,
            )
        )
        return TicketEvent(number, seq, kind, actor, body, data, public, at)

    # -- the SLA watcher's side ------------------------------------------------------------------------------------

    async def due_for_check(self, now: float, limit: int = 1000) -> list[Ticket]:
        """Tickets whose next SLA check has come, earliest first (the watcher's one indexed query)."""
        rows = await self._db.fetch(
            select(intake_tickets)
            .where(intake_tickets.c.sla_next_check <= now)
            .order_by(intake_tickets.c.sla_next_check)
            .limit(limit)
        )
        return [_ticket(row) for row in rows]

    async def mark_sla(self, number: str, metric: str, kind: EventKind, due: float, at: float) -> bool:
        """Claim the right to fire `kind` for this clock and due time: True exactly once, whichever replica asks."""
        statement = upsert(self._db, intake_sla_marks).values(
            number=number, metric=metric, kind=kind.value, due=due, at=at
        )
        return await self._db.execute(statement.on_conflict_do_nothing()) > 0

    async def record_sla(
        self,
        ticket: Ticket,
        kind: EventKind,
        data: dict[str, Any],
        *,
        body: str = "",
        extra: dict[str, Any] | None = None,
    ) -> Ticket | None:
        """Append an SLA event (and apply `extra` column changes, e.g. an escalated priority or assignee)."""
        return await self._change(ticket.number, dict(extra or {}), [(kind, "system", body, data)])

    async def set_next_check(self, ticket: Ticket, next_check: float | None) -> bool:
        """Store the watcher's next instant, unless the ticket changed since it was read (its own write asked for a
        fresh look already)."""
        changed = await self._db.execute(
            update(intake_tickets)
            .where(intake_tickets.c.number == ticket.number, intake_tickets.c.updated_at == ticket.updated_at)
            .values(sla_next_check=next_check)
        )
        return changed > 0

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

    async def for_conversation(self, conversation_id: str) -> list[Ticket]:
        """The tickets born in a chat, newest first."""
        rows = await self._db.fetch(
            select(intake_tickets)
            .where(intake_tickets.c.conversation_id == conversation_id)
            .order_by(intake_tickets.c.seq.desc())
        )
        return [_ticket(row) for row in rows]

    async def search(self, query: TicketFilter) -> list[Ticket]:
        t = intake_tickets.c
        statement = select(intake_tickets).where(*self._where(query))
        if query.sort == "due":
            # The nearest running deadline first; tickets with no running clock (paused, finished) last.
            statement = statement.order_by(t.sla_due_at.asc().nulls_last(), t.seq)
        elif query.sort == "updated":
            statement = statement.order_by(t.updated_at.desc(), t.seq.desc())
        else:
            statement = statement.order_by(t.seq.desc())
        statement = statement.limit(max(1, query.limit)).offset(max(0, query.offset))
        return [_ticket(row) for row in await self._db.fetch(statement)]

    async def count(self, query: TicketFilter) -> int:
        return int(await self._db.fetchval(select(func.count()).select_from(intake_tickets).where(*self._where(query))))

    async def view_counts(self, username: str, team_ids: Sequence[str], now: float) -> dict[str, int]:
        """Counts of the workspace's saved views over open tickets: mine, my team(s), unassigned, at risk, breached."""
        views = {
            "mine": TicketFilter(assignee=username),
            "my_team": TicketFilter(team_ids=list(team_ids)),
            "unassigned": TicketFilter(assignee=""),
            "at_risk": TicketFilter(at_risk_at=now),
            "breached": TicketFilter(breached_at=now),
        }
        counts = {name: await self.count(_open(view)) for name, view in views.items() if name != "my_team"}
        # No team means an empty view, not every ticket (an empty filter narrows nothing).
        counts["my_team"] = await self.count(_open(views["my_team"])) if team_ids else 0
        return counts

    def _where(self, query: TicketFilter) -> list[ColumnElement[bool]]:
        t = intake_tickets.c
        where: list[ColumnElement[bool]] = []
        if query.customer_id is not None:
            where.append(t.customer_id == query.customer_id)
        if query.statuses:
            where.append(t.status.in_([s.value for s in query.statuses]))
        if query.priorities:
            where.append(t.priority.in_([p.value for p in query.priorities]))
        if query.categories:
            where.append(t.category.in_([c.value for c in query.categories]))
        if query.team_ids:
            where.append(t.team_id.in_(list(query.team_ids)))
        if query.assignee is not None:
            where.append(t.assignee.is_(None) if query.assignee == "" else t.assignee == query.assignee)
        if query.channel:
            where.append(t.channel == query.channel)
        if query.text.strip():
            pattern = (
                "%" + query.text.strip().lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            )
            where.append(
                or_(
                    *(
                        func.lower(column).like(pattern, escape="\\")
                        for column in (t.number, t.customer_id, t.order_number, t.contact, t.description)
                    )
                )
            )
        if query.at_risk_at is not None:
            # A running clock past its at-risk instant (or its due time: breached is at risk too).
            where.append(t.sla_warn_at <= query.at_risk_at)
        if query.breached_at is not None:
            where.append(t.sla_due_at < query.breached_at)
        if query.overdue_at is not None:
            # Only tickets still waiting on us can be late; a resolved ticket's missed first response is history.
            at = query.overdue_at
            where.append(t.status.in_([s.value for s in OPEN_STATUSES]))
            where.append(or_(and_(t.first_responded_at.is_(None), t.first_response_due < at), t.resolution_due < at))
        return where

    async def timeline(
        self, number: str, *, customer_id: str | None = None, public_only: bool = False
    ) -> list[TicketEvent]:
        """Oldest first. With a customer id, someone else's ticket has none, and only public entries show."""
        if customer_id is not None:
            if await self._fetch(number, customer_id) is None:
                return []
            public_only = True
        statement = select(intake_ticket_events).where(intake_ticket_events.c.number == number.upper())
        if public_only:
            statement = statement.where(intake_ticket_events.c.public.is_(True))
        rows = await self._db.fetch(statement.order_by(intake_ticket_events.c.seq))
        return [_event(row) for row in rows]


def _open(query: TicketFilter) -> TicketFilter:
    return TicketFilter(**{**query.__dict__, "statuses": list(OPEN_STATUSES)})
