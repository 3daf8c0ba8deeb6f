"""The SLA watcher on SQLite and PostgreSQL: at risk and breached fire once each — with two watchers at once and
across a restart — on the business calendar, not while paused, and a breach escalates and apologises."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from backends.sql import Database
from intake import EventKind, Priority, SlaPolicy, Team, TeamStore, TicketDraft, TicketStatus, TicketStore, WeeklyHours
from intake.calendar import BusinessCalendar, day_rules
from intake.sla_watch import SUPERVISORS, BreachActions, SlaWatcher

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar("Asia/Shanghai", WeeklyHours.parse("Mon-Fri 09:00-12:00,13:00-18:00"), day_rules("cn"))


def sh(*args: int) -> float:
    return dt.datetime(*args, tzinfo=SHANGHAI).timestamp()  # type: ignore[misc]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Alerts:
    def __init__(self) -> None:
        self.sent: list[tuple[tuple[str, ...], str, str]] = []

    async def notify(self, recipients: Sequence[str], kind: str, params: Mapping[str, Any], link: str) -> None:
        self.sent.append((tuple(recipients), kind, str(params["number"])))


@pytest.fixture
def clock() -> Clock:
    return Clock(sh(2025, 11, 14, 16, 30))  # a Friday, 16:30


@pytest.fixture
async def store(database: Database, clock: Clock) -> TicketStore:
    teams = TeamStore(database, clock)
    await teams.put(Team("support", "Support", ("general",), "sam", ("ann", "sam")))
    return TicketStore(database, clock=clock, policy=SlaPolicy(calendar=OFFICE), teams=teams)


async def urgent_ticket(store: TicketStore, assignee: str | None = "ann") -> str:
    ticket = await store.create(TicketDraft("c1", "conv-1"), priority=Priority.HIGH, team_id="support")
    if assignee:
        await store.assign(ticket.number, assignee, actor="sam")
    return ticket.number


async def test_at_risk_then_breached_once_each_on_the_business_calendar(store: TicketStore, clock: Clock) -> None:
    alerts = Alerts()
    watcher = SlaWatcher(store, alerts, clock=clock)
    number = await urgent_ticket(store)  # high: 4 business hours → Friday 16:30-18:00 + Monday 09:00-11:30
    ticket = await store.get_for_staff(number)
    assert ticket is not None and ticket.first_response_due == sh(2025, 11, 17, 11, 30)
    assert await watcher.run_pass() == []
    clock.now = sh(2025, 11, 15, 12, 0)  # Saturday: no business time passes
    assert await watcher.run_pass() == []
    clock.now = sh(2025, 11, 17, 10, 30)  # Monday: 3 of 4 hours used, not yet 80 %
    assert await watcher.run_pass() == []
    clock.now = sh(2025, 11, 17, 10, 45)  # 3.25 of 4 hours: past 80 % (10:42)
    fired = await watcher.run_pass()
    assert [(f.metric, f.kind) for f in fired] == [("first_response", EventKind.SLA_AT_RISK)]
    assert alerts.sent == [(("ann", "sam"), "sla_at_risk", number)]
    assert await watcher.run_pass() == []  # once
    clock.now = sh(2025, 11, 17, 11, 30)
    fired = await watcher.run_pass()
    assert [(f.metric, f.kind) for f in fired] == [("first_response", EventKind.SLA_BREACHED)]
    assert alerts.sent[-1] == ((SUPERVISORS, "sam", "ann"), "sla_breached", number)
    assert await watcher.run_pass() == []
    escalated = await store.get_for_staff(number)
    assert escalated is not None and escalated.priority is Priority.URGENT
    breach = [e for e in await store.timeline(number) if e.kind is EventKind.SLA_BREACHED]
    assert len(breach) == 1 and breach[0].public  # the customer's apology
    assert breach[0].data["expected"] == sh(2025, 11, 17, 13, 30)  # urgent now: 1 business hour, lunch excluded


async def test_the_at_risk_share_is_configurable(database: Database, clock: Clock) -> None:
    """Half the target instead of 80 %: high's 4 business hours from Friday 16:30 are at risk on Monday at 09:30."""
    teams = TeamStore(database, clock)
    await teams.put(Team("support", "Support", ("general",), "sam", ("ann", "sam")))
    policy = SlaPolicy(calendar=OFFICE, at_risk_share=0.5)
    store = TicketStore(database, clock=clock, policy=policy, teams=teams)
    watcher = SlaWatcher(store, clock=clock)
    number = await urgent_ticket(store)
    clock.now = sh(2025, 11, 17, 9, 29)
    assert await watcher.run_pass() == []
    clock.now = sh(2025, 11, 17, 9, 30)
    assert [(f.number, f.kind) for f in await watcher.run_pass()] == [(number, EventKind.SLA_AT_RISK)]


async def test_two_watchers_at_once_and_a_restarted_one_fire_each_event_once(
    database: Database, store: TicketStore, clock: Clock
) -> None:
    numbers = [await urgent_ticket(store) for _ in range(5)]
    clock.now = sh(2025, 11, 17, 11, 30)  # all breached
    first, second = SlaWatcher(store, clock=clock), SlaWatcher(store, clock=clock)
    # A second replica has its own store object on the same database.
    other = TicketStore(database, clock=clock, policy=SlaPolicy(calendar=OFFICE), teams=TeamStore(database, clock))
    third = SlaWatcher(other, clock=clock)
    results = await asyncio.gather(first.run_pass(), second.run_pass(), third.run_pass())
    fired = [f for result in results for f in result]
    assert sorted(f.number for f in fired) == sorted(numbers)
    restarted = SlaWatcher(TicketStore(database, clock=clock, policy=SlaPolicy(calendar=OFFICE)), clock=clock)
    assert await restarted.run_pass() == []
    for number in numbers:
        kinds = [e.kind for e in await store.timeline(number)]
        assert kinds.count(EventKind.SLA_BREACHED) == 1 and kinds.count(EventKind.SLA_AT_RISK) == 0


async def test_a_paused_ticket_fires_nothing_and_its_clock_resumes_later(store: TicketStore, clock: Clock) -> None:
    watcher = SlaWatcher(store, clock=clock)
    number = await urgent_ticket(store)
    await store.transition(number, TicketStatus.PENDING_CUSTOMER, actor="ann")
    clock.now = sh(2025, 11, 18, 17, 0)  # long past the old due time
    assert await watcher.run_pass() == []
    (resumed,) = await store.customer_message("conv-1")
    assert resumed.first_response_due > clock.now
    fired = await watcher.run_pass()
    assert fired == [], fired


async def test_one_awaited_answer_is_one_clock_so_one_breach_and_one_apology(store: TicketStore, clock: Clock) -> None:
    """The customer writes again before anyone answered: the first response is still the answer owed, so no reply
    clock starts beside it (two clocks would breach twice and apologise twice)."""
    watcher = SlaWatcher(store, clock=clock)
    number = await urgent_ticket(store)
    clock.now = sh(2025, 11, 17, 9, 10)
    assert await store.customer_message("conv-1", text="hello? anyone?") == []
    clock.now = sh(2025, 11, 17, 12, 0)  # past the first response's 11:30
    fired = [(f.metric, f.kind) for f in await watcher.run_pass()]
    assert fired == [("first_response", EventKind.SLA_BREACHED)]
    apologies = [e for e in await store.timeline(number, customer_id="c1") if e.kind is EventKind.SLA_BREACHED]
    assert len(apologies) == 1


async def test_a_ticket_resolved_without_a_reply_and_reopened_is_not_breached_at_once(
    store: TicketStore, clock: Clock
) -> None:
    watcher = SlaWatcher(store, clock=clock)
    number = await urgent_ticket(store)
    await store.transition(number, TicketStatus.RESOLVED, actor="ann")  # before its first response was due
    clock.now = sh(2025, 11, 18, 10, 0)  # a day later, long past the old first-response deadline
    (reopened,) = await store.customer_message("conv-1", text="it broke again")
    assert await watcher.run_pass() == []
    # The answer owed is due on the next-reply target (high: 4 business hours) from the customer's message.
    assert reopened.first_response_due == sh(2025, 11, 18, 15, 0)
    clock.now = sh(2025, 11, 18, 15, 0)
    fired = [(f.metric, f.kind) for f in await watcher.run_pass()]
    assert fired == [("first_response", EventKind.SLA_BREACHED)]


async def test_a_breach_can_hand_the_ticket_to_the_team_lead(store: TicketStore, clock: Clock) -> None:
    watcher = SlaWatcher(store, clock=clock, actions=BreachActions(reassign_to_lead=True))
    number = await urgent_ticket(store, assignee="ann")
    clock.now = sh(2025, 11, 17, 11, 30)
    await watcher.run_pass()
    ticket = await store.get_for_staff(number)
    assert ticket is not None and ticket.assignee == "sam"


async def test_a_resolved_ticket_is_not_watched(store: TicketStore, clock: Clock) -> None:
    watcher = SlaWatcher(store, clock=clock)
    number = await urgent_ticket(store)
    await store.add_reply(number, "on it", actor="ann")
    await store.transition(number, TicketStatus.RESOLVED, actor="ann")
    clock.now = sh(2025, 12, 31, 12, 0)
    assert await watcher.run_pass() == []
    ticket = await store.get_for_staff(number)
    assert ticket is not None and ticket.sla_next_check is None
