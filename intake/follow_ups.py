"""The follow-up after resolution (回访): a resolved ticket's customer is asked, after a delay, whether the problem is
solved and how satisfied they are; if they do not answer, one reminder follows.

Owns the due-time table `intake_follow_ups` and its claims, `intake_follow_up_marks`. `FollowUpScheduler` listens to
the ticket store: a resolution writes a row due `delay_s` later — sooner when the chat's channel window (WeChat's 48
hours after the customer's last message) would close first — and a reopen or a close cancels what is pending.
`run_pass(now)` reads the rows whose step is due (one indexed query) and takes each step once: the claim is a primary
key in `intake_follow_up_marks`, so two replicas, or a pass repeated after a restart, never ask or remind twice.

Must never talk to customers (a `FollowUpSender` does: `bot.follow_ups`) or run a loop (the app calls `run_pass`
periodically); the customer's answers and what they change (a reopen, a supervisor's task) are the survey's.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy import select, update

from backends.sql import Database, Row, upsert
from intake.models import EventKind, Ticket, TicketEvent, TicketStatus
from intake.tables import intake_follow_up_marks, intake_follow_ups
from intake.tickets import TicketStore

log = logging.getLogger(__name__)

DEFAULT_DELAY_S = 3600.0
DEFAULT_REMINDER_S = 86400.0
# A question or reminder due in a channel window goes out this long before the window closes.
WINDOW_MARGIN_S = 600.0
# A reminder that would come sooner than this after the question (a window about to close) is not sent.
MIN_REMINDER_GAP_S = 600.0
# A claimed step still unfinished this long after its claim: the replica that claimed it died; the step is skipped.
STALE_CLAIM_S = 300.0


class FollowUpStep(StrEnum):
    ASK = "ask"
    REMIND = "remind"
    DONE = "done"
    CANCELLED = "cancelled"


PENDING_STEPS = (FollowUpStep.ASK, FollowUpStep.REMIND)


@dataclass(frozen=True)
class FollowUp:
    """One resolution's follow-up: its ticket and the `status` event that resolved it, the chat to ask in, and the
    next step with the epoch second it is due (None once nothing is)."""

    number: str
    event_seq: int
    conversation_id: str
    resolved_at: float
    step: FollowUpStep
    due_at: float | None
    survey_id: str | None = None
    asked_at: float | None = None
    reminded_at: float | None = None


@dataclass(frozen=True)
class FollowUpTaken:
    """A step this pass took (and no other pass ever will): `sent` is False when there was nothing to send (the
    chat was gone for the question, or the survey already answered for the reminder)."""

    number: str
    event_seq: int
    step: FollowUpStep
    at: float
    sent: bool


class FollowUpSender(Protocol):
    """Speaks to the customer on the ticket's chat (`bot.follow_ups`)."""

    async def ask(self, ticket: Ticket, conversation_id: str) -> str | None:
        """Asks whether the problem is solved and how satisfied they are; returns the survey's id (None when
        nothing could be sent)."""
        ...

    async def remind(self, ticket: Ticket, conversation_id: str, survey_id: str) -> bool:
        """Asks the survey's open question once more; False when it was answered meanwhile (nothing sent)."""
        ...


class ChannelWindow(Protocol):
    """When a chat's channel stops taking free-form messages to the customer."""

    async def closes_at(self, conversation_id: str) -> float | None:
        """Epoch seconds (WeChat: 48 hours after the customer's last message); None when the channel has no window."""
        ...


def _follow_up(row: Row) -> FollowUp:
    def number(key: str) -> float | None:
        return None if row[key] is None else float(row[key])

    return FollowUp(
        number=row["number"],
        event_seq=int(row["event_seq"]),
        conversation_id=row["conversation_id"],
        resolved_at=float(row["resolved_at"]),
        step=FollowUpStep(row["step"]),
        due_at=number("due_at"),
        survey_id=row["survey_id"],
        asked_at=number("asked_at"),
        reminded_at=number("reminded_at"),
    )


class FollowUpScheduler:
    """`delay_s` after a resolution the customer is asked; `reminder_s` after that, one reminder (0: none)."""

    def __init__(
        self,
        db: Database,
        tickets: TicketStore,
        sender: FollowUpSender | None = None,
        window: ChannelWindow | None = None,
        *,
        delay_s: float = DEFAULT_DELAY_S,
        reminder_s: float = DEFAULT_REMINDER_S,
        clock: Callable[[], float] = time.time,
        batch: int = 500,
    ) -> None:
        self._db = db
        self._tickets = tickets
        self.sender = sender
        self._window = window
        self.delay_s = delay_s
        self.reminder_s = reminder_s
        self._clock = clock
        self._batch = batch

    # -- the ticket listener -----------------------------------------------------------------------------------------

    async def on_ticket_event(self, event: TicketEvent, ticket: Ticket) -> None:
        """Register with `TicketStore.add_listener`: a resolution schedules, a reopen or a close cancels."""
        if event.kind is not EventKind.STATUS:
            return
        if event.data.get("to") == TicketStatus.RESOLVED.value:
            await self.schedule(ticket, event)
        else:
            await self.cancel(ticket.number)

    async def schedule(self, ticket: Ticket, event: TicketEvent) -> FollowUp | None:
        """The follow-up of the resolution `event` (once, however often this is called); None when the ticket has no
        chat to ask in."""
        if not ticket.conversation_id:
            return None
        resolved_at = ticket.resolved_at if ticket.resolved_at is not None else event.at
        due = resolved_at + self.delay_s
        closes = await self._closes_at(ticket.conversation_id)
        if closes is not None and resolved_at < closes - WINDOW_MARGIN_S < due:
            due = closes - WINDOW_MARGIN_S
        statement = upsert(self._db, intake_follow_ups).values(
            number=ticket.number,
            event_seq=event.seq,
            conversation_id=ticket.conversation_id,
            resolved_at=resolved_at,
            step=FollowUpStep.ASK.value,
            due_at=due,
        )
        await self._db.execute(statement.on_conflict_do_nothing())
        return await self.get(ticket.number, event.seq)

    async def cancel(self, number: str) -> int:
        """Cancel the ticket's pending follow-ups (it was reopened or closed); returns how many."""
        return await self._db.execute(
            update(intake_follow_ups)
            .where(
                intake_follow_ups.c.number == number,
                intake_follow_ups.c.step.in_([s.value for s in PENDING_STEPS]),
            )
            .values(step=FollowUpStep.CANCELLED.value, due_at=None)
        )

    # -- the pass ----------------------------------------------------------------------------------------------------

    async def run_pass(self, now: float | None = None) -> list[FollowUpTaken]:
        """Take every step due by `now` (epoch seconds; default the clock), in batches until none is left."""
        if self.sender is None:
            raise RuntimeError("the follow-up scheduler has no sender")
        now = self._clock() if now is None else now
        taken: list[FollowUpTaken] = []
        seen: set[tuple[str, int, FollowUpStep]] = set()
        while True:
            due = [f for f in await self.due(now) if (f.number, f.event_seq, f.step) not in seen]
            if not due:
                return taken
            for follow_up in due:
                seen.add((follow_up.number, follow_up.event_seq, follow_up.step))
                try:
                    step = await self._take(follow_up, now)
                except Exception:
                    # One bad follow-up must not hold up the others; its claim stands, so it is skipped once stale.
                    log.exception("follow-up %s/%s failed", follow_up.number, follow_up.step.value)
                    continue
                if step is not None:
                    taken.append(step)

    async def due(self, now: float) -> list[FollowUp]:
        """Follow-ups whose next step is due, earliest first (the pass's one indexed query)."""
        rows = await self._db.fetch(
            select(intake_follow_ups)
            .where(intake_follow_ups.c.due_at <= now)
            .order_by(intake_follow_ups.c.due_at)
            .limit(self._batch)
        )
        return [_follow_up(row) for row in rows]

    async def get(self, number: str, event_seq: int) -> FollowUp | None:
        row = await self._db.fetchrow(
            select(intake_follow_ups).where(
                intake_follow_ups.c.number == number, intake_follow_ups.c.event_seq == event_seq
            )
        )
        return _follow_up(row) if row else None

    async def for_ticket(self, number: str) -> list[FollowUp]:
        rows = await self._db.fetch(
            select(intake_follow_ups)
            .where(intake_follow_ups.c.number == number)
            .order_by(intake_follow_ups.c.event_seq)
        )
        return [_follow_up(row) for row in rows]

    async def _take(self, follow_up: FollowUp, now: float) -> FollowUpTaken | None:
        assert self.sender is not None
        ticket = await self._tickets.get_for_staff(follow_up.number)
        if ticket is None or ticket.status is not TicketStatus.RESOLVED or ticket.resolved_at != follow_up.resolved_at:
            # Reopened (and perhaps resolved again, which has its own follow-up) or closed since.
            await self._advance(follow_up, step=FollowUpStep.CANCELLED, due_at=None)
            return None
        if not await self._claim(follow_up, now):
            claimed_at = await self._claimed_at(follow_up)
            if claimed_at is not None and now - claimed_at < STALE_CLAIM_S:
                return None  # another pass is taking it
            log.warning("follow-up %s/%s was claimed and never finished; skipped", follow_up.number, follow_up.step)
            await self._advance(follow_up, **await self._after(follow_up, None, now))
            return None
        if follow_up.step is FollowUpStep.ASK:
            survey_id = await self.sender.ask(ticket, follow_up.conversation_id)
            await self._advance(follow_up, **await self._after(follow_up, survey_id, now))
            return FollowUpTaken(follow_up.number, follow_up.event_seq, follow_up.step, now, survey_id is not None)
        sent = False
        if follow_up.survey_id:
            sent = await self.sender.remind(ticket, follow_up.conversation_id, follow_up.survey_id)
        await self._advance(follow_up, step=FollowUpStep.DONE, due_at=None, reminded_at=now if sent else None)
        return FollowUpTaken(follow_up.number, follow_up.event_seq, follow_up.step, now, sent)

    async def _after(self, follow_up: FollowUp, survey_id: str | None, now: float) -> dict[str, Any]:
        """The row's columns once its step is taken: after the question, the reminder (if there is time for one)."""
        if follow_up.step is not FollowUpStep.ASK:
            return {"step": FollowUpStep.DONE, "due_at": None}
        reminder = await self._reminder_at(follow_up, now) if survey_id else None
        return {
            "step": FollowUpStep.REMIND if reminder is not None else FollowUpStep.DONE,
            "due_at": reminder,
            "survey_id": survey_id,
            "asked_at": now,
        }

    async def _reminder_at(self, follow_up: FollowUp, asked_at: float) -> float | None:
        at = asked_at + self.reminder_s
        closes = await self._closes_at(follow_up.conversation_id)
        if closes is not None:
            at = min(at, closes - WINDOW_MARGIN_S)
        return at if at >= asked_at + MIN_REMINDER_GAP_S else None

    async def _closes_at(self, conversation_id: str) -> float | None:
        return await self._window.closes_at(conversation_id) if self._window is not None else None

    async def _claim(self, follow_up: FollowUp, now: float) -> bool:
        """True exactly once per follow-up and step, whichever replica asks."""
        statement = upsert(self._db, intake_follow_up_marks).values(
            number=follow_up.number, event_seq=follow_up.event_seq, step=follow_up.step.value, at=now
        )
        return await self._db.execute(statement.on_conflict_do_nothing()) > 0

    async def _claimed_at(self, follow_up: FollowUp) -> float | None:
        value = await self._db.fetchval(
            select(intake_follow_up_marks.c.at).where(
                intake_follow_up_marks.c.number == follow_up.number,
                intake_follow_up_marks.c.event_seq == follow_up.event_seq,
                intake_follow_up_marks.c.step == follow_up.step.value,
            )
        )
        return None if value is None else float(value)

    async def _advance(self, follow_up: FollowUp, *, step: FollowUpStep, **values: Any) -> bool:
        """Move the row on from the step it was read at (compare-and-set: a concurrent cancel wins)."""
        changed = await self._db.execute(
            update(intake_follow_ups)
            .where(
                intake_follow_ups.c.number == follow_up.number,
                intake_follow_ups.c.event_seq == follow_up.event_seq,
                intake_follow_ups.c.step == follow_up.step.value,
            )
            .values(step=step.value, **values)
        )
        return changed > 0
