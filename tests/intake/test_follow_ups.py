"""The follow-up scheduler on SQLite and PostgreSQL: one follow-up per resolution, asked after the delay and
reminded once — exactly once with two passes at once and across a restart — inside the channel's window, cancelled
by a reopen; and the delivery record, whose failures reach the ticket's timeline."""

from __future__ import annotations

import asyncio

import pytest

from backends.sql import Database
from intake import EventKind, Priority, Ticket, TicketDraft, TicketStatus, TicketStore
from intake.deliveries import DeliveryLog
from intake.exceptions import InvalidTicketChange
from intake.follow_ups import STALE_CLAIM_S, WINDOW_MARGIN_S, FollowUpScheduler, FollowUpStep

T0 = 1_800_000_000.0
HOUR_S = 3600.0
DAY_S = 24 * HOUR_S


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Sender:
    """Records what would be said; `answered` makes the reminder find the survey answered."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.asked: list[str] = []
        self.reminded: list[str] = []
        self.answered: set[str] = set()
        self.delay_s = delay_s

    async def ask(self, ticket: Ticket, conversation_id: str) -> str | None:
        await asyncio.sleep(self.delay_s)
        self.asked.append(ticket.number)
        return f"srv-{ticket.number}-{len(self.asked)}"

    async def remind(self, ticket: Ticket, conversation_id: str, survey_id: str) -> bool:
        if survey_id in self.answered:
            return False
        self.reminded.append(survey_id)
        return True


class Window:
    def __init__(self, closes_at: float | None) -> None:
        self.closes = closes_at

    async def closes_at(self, conversation_id: str) -> float | None:
        return self.closes


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
async def store(database: Database, clock: Clock) -> TicketStore:
    return TicketStore(database, clock=clock)


def scheduler(
    database: Database, store: TicketStore, sender: Sender, clock: Clock, window: Window | None = None
) -> FollowUpScheduler:
    return FollowUpScheduler(database, store, sender, window, delay_s=HOUR_S, reminder_s=DAY_S, clock=clock)


async def resolve(store: TicketStore, follow_ups: FollowUpScheduler, conversation_id: str = "conv-1") -> str:
    ticket = await store.create(TicketDraft("c1", conversation_id), priority=Priority.NORMAL)
    resolved = await store.transition(ticket.number, TicketStatus.RESOLVED, actor="ann")
    assert resolved is not None
    return ticket.number


async def test_asked_after_the_delay_then_reminded_once(database: Database, store: TicketStore, clock: Clock) -> None:
    sender = Sender()
    follow_ups = scheduler(database, store, sender, clock)
    store.add_listener(follow_ups.on_ticket_event)
    store.add_listener(follow_ups.on_ticket_event)  # a second registration schedules nothing twice
    number = await resolve(store, follow_ups)

    assert await follow_ups.run_pass(T0 + HOUR_S - 1) == []
    (asked,) = await follow_ups.run_pass(T0 + HOUR_S)
    assert (asked.number, asked.step, asked.sent) == (number, FollowUpStep.ASK, True)
    assert await follow_ups.run_pass(T0 + HOUR_S + DAY_S - 1) == []
    (reminded,) = await follow_ups.run_pass(T0 + HOUR_S + DAY_S)
    assert reminded.step is FollowUpStep.REMIND
    assert await follow_ups.run_pass(T0 + 30 * DAY_S) == []
    assert (sender.asked, sender.reminded) == ([number], [f"srv-{number}-1"])
    (row,) = await follow_ups.for_ticket(number)
    assert (row.step, row.due_at, row.asked_at, row.reminded_at) == (
        FollowUpStep.DONE,
        None,
        T0 + HOUR_S,
        T0 + HOUR_S + DAY_S,
    )


async def test_no_reminder_when_answered_or_when_none_is_wanted(
    database: Database, store: TicketStore, clock: Clock
) -> None:
    sender = Sender()
    follow_ups = scheduler(database, store, sender, clock)
    store.add_listener(follow_ups.on_ticket_event)
    number = await resolve(store, follow_ups)
    await follow_ups.run_pass(T0 + HOUR_S)
    sender.answered.add(f"srv-{number}-1")
    (taken,) = await follow_ups.run_pass(T0 + 2 * DAY_S)
    assert (taken.step, taken.sent) == (FollowUpStep.REMIND, False) and sender.reminded == []

    follow_ups.reminder_s = 0.0
    other = await resolve(store, follow_ups)
    await follow_ups.run_pass(T0 + HOUR_S)
    (row,) = await follow_ups.for_ticket(other)
    assert (row.step, row.due_at) == (FollowUpStep.DONE, None)


async def test_two_passes_at_once_and_a_restart_ask_once(database: Database, store: TicketStore, clock: Clock) -> None:
    sender = Sender(delay_s=0.05)  # slow enough for the passes to overlap
    first, second = scheduler(database, store, sender, clock), scheduler(database, store, sender, clock)
    store.add_listener(first.on_ticket_event)
    numbers = [await resolve(store, first, f"conv-{i}") for i in range(3)]
    results = await asyncio.gather(first.run_pass(T0 + HOUR_S), second.run_pass(T0 + HOUR_S))
    assert sorted(t.number for taken in results for t in taken) == numbers
    assert sorted(sender.asked) == numbers

    restarted = scheduler(database, TicketStore(database, clock=clock), sender, clock)
    assert await restarted.run_pass(T0 + HOUR_S) == []
    assert sorted(sender.asked) == numbers


async def test_a_reopen_cancels_and_a_new_resolution_has_its_own_follow_up(
    database: Database, store: TicketStore, clock: Clock
) -> None:
    sender = Sender()
    follow_ups = scheduler(database, store, sender, clock)
    store.add_listener(follow_ups.on_ticket_event)
    number = await resolve(store, follow_ups)
    await store.transition(number, TicketStatus.OPEN, actor="customer")
    assert await follow_ups.run_pass(T0 + DAY_S) == [] and sender.asked == []

    clock.now = T0 + 2 * HOUR_S
    await store.transition(number, TicketStatus.RESOLVED, actor="ann")
    cancelled, current = await follow_ups.for_ticket(number)
    assert cancelled.step is FollowUpStep.CANCELLED and current.due_at == T0 + 3 * HOUR_S
    assert [t.step for t in await follow_ups.run_pass(T0 + 3 * HOUR_S)] == [FollowUpStep.ASK]


async def test_a_ticket_reopened_behind_the_schedulers_back_is_not_asked(
    database: Database, store: TicketStore, clock: Clock
) -> None:
    sender = Sender()
    follow_ups = scheduler(database, store, sender, clock)
    store.add_listener(follow_ups.on_ticket_event)
    number = await resolve(store, follow_ups)
    store.remove_listener(follow_ups.on_ticket_event)  # e.g. another replica, before this one's listener ran
    await store.transition(number, TicketStatus.OPEN, actor="customer")
    assert await follow_ups.run_pass(T0 + HOUR_S) == [] and sender.asked == []
    (row,) = await follow_ups.for_ticket(number)
    assert row.step is FollowUpStep.CANCELLED


async def test_the_channel_window_brings_the_question_and_the_reminder_forward(
    database: Database, store: TicketStore, clock: Clock
) -> None:
    sender = Sender()
    closes = T0 + 30 * 60  # the customer's last word was 47.5 hours ago
    follow_ups = scheduler(database, store, sender, clock, Window(closes))
    store.add_listener(follow_ups.on_ticket_event)
    number = await resolve(store, follow_ups)
    (row,) = await follow_ups.for_ticket(number)
    assert row.due_at == closes - WINDOW_MARGIN_S
    await follow_ups.run_pass(closes - WINDOW_MARGIN_S)
    (row,) = await follow_ups.for_ticket(number)
    assert row.step is FollowUpStep.DONE  # no room for a reminder before the window closes

    roomy = scheduler(database, store, sender, clock, Window(T0 + 10 * HOUR_S))
    store.remove_listener(follow_ups.on_ticket_event)
    store.add_listener(roomy.on_ticket_event)
    other = await resolve(store, roomy)
    await roomy.run_pass(T0 + HOUR_S)
    (row,) = await roomy.for_ticket(other)
    assert (row.step, row.due_at) == (FollowUpStep.REMIND, T0 + 10 * HOUR_S - WINDOW_MARGIN_S)

    closed = scheduler(database, store, sender, clock, Window(T0 - HOUR_S))  # already closed: after the delay
    store.remove_listener(roomy.on_ticket_event)
    store.add_listener(closed.on_ticket_event)
    late = await resolve(store, closed)
    (row,) = await closed.for_ticket(late)
    assert row.due_at == T0 + HOUR_S


async def test_a_step_claimed_by_a_replica_that_died_is_skipped_once_stale(
    database: Database, store: TicketStore, clock: Clock
) -> None:
    sender = Sender()
    follow_ups = scheduler(database, store, sender, clock)
    store.add_listener(follow_ups.on_ticket_event)
    number = await resolve(store, follow_ups)
    (row,) = await follow_ups.for_ticket(number)
    assert await follow_ups._claim(row, T0 + HOUR_S)  # a replica claimed the question, then died
    assert await follow_ups.run_pass(T0 + HOUR_S + 60) == []
    assert (await follow_ups.for_ticket(number))[0].step is FollowUpStep.ASK  # maybe it is still at it
    assert await follow_ups.run_pass(T0 + HOUR_S + STALE_CLAIM_S) == []
    (row,) = await follow_ups.for_ticket(number)
    assert (row.step, row.due_at, sender.asked) == (FollowUpStep.DONE, None, [])


async def test_a_failed_delivery_is_recorded_and_put_on_the_timeline(store: TicketStore, database: Database) -> None:
    deliveries = DeliveryLog(database, store)
    ticket = await store.create(TicketDraft("c1", "conv-1"), priority=Priority.NORMAL)
    await deliveries.record(ticket.number, purpose="reply", channel="web", ok=True, event_seq=2)
    await deliveries.record(ticket.number, purpose="reply", channel="email", ok=False, error="refused", event_seq=2)
    recorded = await deliveries.for_ticket(ticket.number)
    assert [(d.channel, d.ok, d.error) for d in recorded] == [("web", True, ""), ("email", False, "refused")]
    event = (await store.timeline(ticket.number))[-1]
    assert (event.kind, event.public, event.body) == (EventKind.DELIVERY_FAILED, False, "refused")
    assert event.data == {"channel": "email", "purpose": "reply", "event": 2, "error": "refused"}
    assert await store.timeline(ticket.number, customer_id="c1") == (await store.timeline(ticket.number))[:1]
    with pytest.raises(InvalidTicketChange):
        await store.record_event(ticket.number, EventKind.REPLY, {}, body="not this way")
