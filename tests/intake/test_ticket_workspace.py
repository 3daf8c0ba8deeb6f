"""The ticket workspace's domain on SQLite and PostgreSQL: notes and replies, assignment, teams and transfers with
the receiving team's clock, merging, customer messages (reopen, resume), the clocks' pause, search and views."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from backends.sql import Database
from intake import (
    EventKind,
    IllegalTransition,
    InvalidSettings,
    InvalidTicketChange,
    Priority,
    SlaPolicy,
    SlaTarget,
    Team,
    TeamStore,
    TicketDraft,
    TicketFilter,
    TicketNotFound,
    TicketStatus,
    TicketStore,
    UnknownTeam,
    WeeklyHours,
)
from intake.calendar import BusinessCalendar, day_rules
from intake.teams import demo_teams, parse_targets

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR = 3600.0


def sh(*args: int) -> float:
    return dt.datetime(*args, tzinfo=SHANGHAI).timestamp()  # type: ignore[misc]


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


OFFICE = BusinessCalendar("Asia/Shanghai", WeeklyHours.parse("Mon-Fri 09:00-12:00,13:00-18:00"), day_rules("cn"))


@pytest.fixture
def clock() -> Clock:
    return Clock(sh(2025, 11, 17, 10, 0))  # a Monday morning


@pytest.fixture
async def store(database: Database, clock: Clock) -> TicketStore:
    teams = TeamStore(database, clock)
    await teams.seed(demo_teams())
    await teams.put(Team("vip", "VIP desk", ("vip",), "sam", ("ann",), {Priority.NORMAL: SlaTarget(1, 8)}))
    return TicketStore(database, clock=clock, policy=SlaPolicy(calendar=OFFICE), teams=teams)


async def new_ticket(store: TicketStore, customer: str = "c1", conversation: str = "conv-1", **kw: object) -> str:
    draft = TicketDraft(customer_id=customer, conversation_id=conversation, description="kettle leaks", language="zh")
    ticket = await store.create(draft, priority=Priority.NORMAL, **kw)  # type: ignore[arg-type]
    return ticket.number


async def test_a_new_ticket_goes_to_the_team_covering_its_skill_with_that_team_s_deadlines(store: TicketStore) -> None:
    technical = await store.create(TicketDraft("c1"), priority=Priority.URGENT, skill_group="product_fault")
    unknown = await store.create(TicketDraft("c1"), priority=Priority.URGENT, skill_group="astrology")
    vip = await store.create(TicketDraft("c1"), priority=Priority.NORMAL, team_id="vip")
    assert (technical.team_id, unknown.team_id, vip.team_id) == ("technical", "support", "vip")
    assert technical.first_response_due == sh(2025, 11, 17, 11, 0)  # urgent: 1 business hour
    assert vip.first_response_due == sh(2025, 11, 17, 11, 0)  # the VIP desk answers normal tickets in 1 h, not 24
    with pytest.raises(UnknownTeam):
        await store.create(TicketDraft("c1"), priority=Priority.NORMAL, team_id="nobody")


async def test_internal_notes_stay_internal_and_a_reply_is_the_first_response(store: TicketStore, clock: Clock) -> None:
    number = await new_ticket(store)
    await store.add_note(number, "customer sounds upset; check batch 42", actor="ann")
    clock.now += 600
    reply = await store.add_reply(number, "请拍一张照片", actor="ann")
    assert reply.kind is EventKind.REPLY and reply.public
    ticket = await store.get_for_staff(number)
    assert ticket is not None and ticket.status is TicketStatus.OPEN and ticket.first_responded_at == clock.now
    staff_view = [e.kind for e in await store.timeline(number)]
    assert staff_view == [EventKind.CREATED, EventKind.NOTE, EventKind.STATUS, EventKind.REPLY]
    customer_view = await store.timeline(number, customer_id="c1")
    assert [e.kind for e in customer_view] == [EventKind.CREATED, EventKind.REPLY]
    assert all("batch 42" not in e.body for e in customer_view)
    await store.transition(number, TicketStatus.CLOSED, actor="ann")
    with pytest.raises(InvalidTicketChange):
        await store.add_reply(number, "too late", actor="ann")
    with pytest.raises(TicketNotFound):
        await store.add_note("FD-999999", "x", actor="ann")


async def test_a_transfer_records_who_when_why_and_starts_the_receiving_team_s_clock(
    store: TicketStore, clock: Clock
) -> None:
    number = await new_ticket(store, team_id="support")
    await store.assign(number, "bob", actor="sam")
    clock.now = sh(2025, 11, 17, 17, 30)
    moved = await store.transfer(number, "vip", actor="bob", reason="VIP customer")
    assert (moved.team_id, moved.assignee) == ("vip", None)
    # The VIP desk's 1-hour target starts at the transfer: 30 minutes today, 30 tomorrow morning. No answer was
    # given yet, so it is the first response that is due then: one clock for one awaited answer.
    assert moved.first_response_due == sh(2025, 11, 18, 9, 30) and moved.next_reply_due is None
    assert [metric for metric, _, _ in moved.running_clocks()] == ["first_response", "resolution"]
    event = (await store.timeline(number))[-1]
    assert (event.kind, event.actor, event.body, event.at) == (EventKind.TRANSFERRED, "bob", "VIP customer", clock.now)
    assert event.data["from"] == "support" and event.data["to"] == "vip" and not event.public
    with pytest.raises(InvalidTicketChange):
        await store.transfer(number, "vip", actor="bob", reason="again")
    with pytest.raises(UnknownTeam):
        await store.transfer(number, "mars", actor="bob", reason="?")
    clock.now += 60
    await store.add_reply(number, "VIP desk here", actor="ann")
    answered = await store.get_for_staff(number)
    assert answered is not None and answered.next_reply_due is None
    # After the first response a transfer starts the reply clock on the receiving team's first-response target.
    back = await store.transfer(number, "support", actor="ann", reason="not a VIP matter")
    assert back.reply_clock_started_at == clock.now and back.next_reply_due == sh(2025, 11, 20, 17, 31)


async def test_merging_closes_the_duplicate_and_links_its_chat(store: TicketStore) -> None:
    keep = await new_ticket(store, conversation="conv-web")
    duplicate = await new_ticket(store, conversation="conv-wechat")
    stranger = await new_ticket(store, customer="c2")
    target = await store.merge(duplicate, keep, actor="ann")
    assert target.number == keep
    closed = await store.get_for_staff(duplicate)
    assert closed is not None and closed.status is TicketStatus.CLOSED and closed.merged_into == keep
    linked = [e for e in await store.timeline(keep) if e.kind is EventKind.LINKED_CONVERSATION]
    assert [e.data["conversation_id"] for e in linked] == ["conv-wechat"]
    for source, into in ((keep, keep), (duplicate, keep), (stranger, keep)):
        with pytest.raises(InvalidTicketChange):
            await store.merge(source, into, actor="ann")
    # The customer writing in the duplicate's chat reaches the ticket that lives on (its reply clock starts).
    await store.add_reply(keep, "我们正在处理", actor="ann")
    assert [t.number for t in await store.customer_message("conv-wechat")] == [keep]


async def test_a_customer_message_reopens_within_seven_days_and_resumes_a_paused_ticket(
    store: TicketStore, clock: Clock
) -> None:
    number = await new_ticket(store)
    await store.transition(number, TicketStatus.RESOLVED, actor="ann")
    clock.now += 6 * 24 * HOUR
    (reopened,) = await store.customer_message("conv-1", text="还是漏水")
    assert reopened.status is TicketStatus.OPEN and reopened.resolved_at is None
    said = (await store.timeline(number))[-1]
    assert (said.kind, said.actor, said.body) == (EventKind.CUSTOMER_MESSAGE, "customer", "还是漏水")
    assert not said.public
    # Resolved without a word to the customer: the answer now owed is the first response, due on the next-reply
    # target from the message — not the old first-response deadline, long past, which would breach at once.
    assert reopened.next_reply_due is None
    assert (
        reopened.first_response_due
        == OFFICE.add_business_time(dt.datetime.fromtimestamp(clock.now, dt.UTC), 24 * HOUR).timestamp()
    )
    await store.transition(number, TicketStatus.RESOLVED, actor="ann")
    clock.now += 7 * 24 * HOUR + 1
    assert await store.customer_message("conv-1") == []
    late = await store.get_for_staff(number)
    assert late is not None and late.status is TicketStatus.RESOLVED


async def test_the_clocks_pause_while_the_ticket_waits_on_the_customer(store: TicketStore, clock: Clock) -> None:
    clock.now = sh(2025, 11, 14, 16, 0)  # a Friday afternoon
    number = await new_ticket(store)
    before = await store.get_for_staff(number)
    assert before is not None
    paused = await store.transition(number, TicketStatus.PENDING_CUSTOMER, actor="ann")
    assert paused is not None and paused.paused_at == clock.now and paused.sla_next_check is None
    assert paused.running_clocks() == []
    clock.now = sh(2025, 11, 17, 11, 0)  # Monday 11:00: Friday 16-18 and Monday 9-11 are 4 business hours
    (resumed,) = await store.customer_message("conv-1")
    assert resumed.status is TicketStatus.OPEN and resumed.paused_at is None
    assert (
        resumed.first_response_due
        == OFFICE.add_business_time(dt.datetime.fromtimestamp(before.first_response_due, dt.UTC), 4 * HOUR).timestamp()
    )
    assert resumed.resolution_due > before.resolution_due


async def test_illegal_moves_change_nothing(store: TicketStore) -> None:
    number = await new_ticket(store)
    await store.transition(number, TicketStatus.CLOSED, actor="ann")
    with pytest.raises(IllegalTransition):
        await store.transition(number, TicketStatus.OPEN, actor="ann")
    with pytest.raises(InvalidTicketChange):
        await store.transfer(number, "billing", actor="ann", reason="x")
    with pytest.raises(InvalidTicketChange):
        await store.assign(number, "ann", actor="sam")
    assert [e.kind for e in await store.timeline(number)] == [EventKind.CREATED, EventKind.STATUS]


async def test_search_filters_sorts_by_the_next_deadline_and_counts_the_views(store: TicketStore, clock: Clock) -> None:
    later = await store.create(
        TicketDraft("c1", order_number="1000000042", contact="li@example.com"), priority=Priority.LOW, team_id="support"
    )
    sooner = await store.create(
        TicketDraft("c2", description="Blender SMOKE 100%"), priority=Priority.URGENT, team_id="support"
    )
    await store.assign(sooner.number, "ann", actor="sam")
    assert [t.number for t in await store.search(TicketFilter(sort="due"))] == [sooner.number, later.number]
    assert [t.number for t in await store.search(TicketFilter(text="smoke 100%"))] == [sooner.number]
    assert [t.number for t in await store.search(TicketFilter(text="0042"))] == [later.number]
    assert [t.number for t in await store.search(TicketFilter(text="LI@EXAMPLE"))] == [later.number]
    assert await store.search(TicketFilter(text="_")) == []
    assert [t.number for t in await store.search(TicketFilter(assignee=""))] == [later.number]
    assert await store.count(TicketFilter(team_ids=["support"])) == 2
    clock.now += 3 * HOUR  # past the urgent ticket's first-response due time
    assert [t.number for t in await store.search(TicketFilter(breached_at=clock.now))] == [sooner.number]
    counts = await store.view_counts("ann", ["support"], clock.now)
    assert counts == {"mine": 1, "my_team": 2, "unassigned": 1, "at_risk": 1, "breached": 1}
    assert await store.count(TicketFilter(at_risk_at=clock.now - 3 * HOUR)) == 0  # fresh tickets are not at risk
    assert (await store.view_counts("zoe", [], clock.now))["my_team"] == 0


async def test_teams_keep_members_skills_and_targets(database: Database) -> None:
    teams = TeamStore(database)
    await teams.put(Team("billing", "Billing", ("billing",), "sam", ("ann",), parse_targets({"urgent": "0.5/2"})))
    team = await teams.require("billing")
    assert team.members == ("ann", "sam") and team.targets == {Priority.URGENT: SlaTarget(0.5, 2)}
    assert await teams.teams_of("sam") == ["billing"]
    assert (await teams.policy_for("billing", SlaPolicy())).targets[Priority.URGENT] == SlaTarget(0.5, 2)
    assert await teams.team_for_group("delivery") is None  # no team covers it and there is no support team
    await teams.put(Team("billing", "Billing and payments", ("billing",), None, ()))
    assert (await teams.require("billing")).members == ()
    assert await teams.delete("billing") and await teams.get("billing") is None
    for bad in ({"urgent": "2/1"}, {"someday": "1/2"}, {"urgent": "soon"}):
        with pytest.raises(InvalidSettings):
            parse_targets(bad)
    for team_id, name in (("Bad Id", "x"), ("ok", ""), ("ok", "x" * 81)):
        with pytest.raises(InvalidSettings):
            Team(team_id, name)
