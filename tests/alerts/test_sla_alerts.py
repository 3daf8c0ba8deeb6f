"""The SLA watcher writing into the alert store (the store is its `StaffNotifier`): the assignee and team lead hear
"at risk", every supervisor and the team lead hear "breached", each once, linked to the ticket."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from alerts import AlertStore
from backends.sql import Database
from intake import Priority, SlaPolicy, Team, TeamStore, TicketDraft, TicketStore, WeeklyHours
from intake.calendar import BusinessCalendar, day_rules
from intake.sla_watch import SlaWatcher, StaffNotifier

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar("Asia/Shanghai", WeeklyHours.parse("Mon-Fri 09:00-12:00,13:00-18:00"), day_rules("cn"))
SUPERVISOR_ROLES = ["agent", "supervisor"]


def sh(year: int, month: int, day: int, hour: int, minute: int) -> float:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI).timestamp()


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_the_watchers_alerts_reach_the_right_members_once(database: Database) -> None:
    clock = Clock(sh(2025, 11, 14, 16, 30))  # a Friday, 16:30
    teams = TeamStore(database, clock)
    await teams.put(Team("support", "Support", ("general",), "lee", ("ann", "lee")))
    tickets = TicketStore(database, clock=clock, policy=SlaPolicy(calendar=OFFICE), teams=teams)
    alerts = AlertStore(database, clock)
    notifier: StaffNotifier = alerts
    watcher = SlaWatcher(tickets, notifier, clock=clock)
    ticket = await tickets.create(TicketDraft("c1", "conv-1"), priority=Priority.HIGH, team_id="support")
    await tickets.assign(ticket.number, "ann", actor="lee")
    link = f"/console/tickets/{ticket.number}"

    clock.now = sh(2025, 11, 17, 10, 45)  # past 80 % of the first response's 4 business hours
    await watcher.run_pass()
    for member, roles in (("ann", ["agent"]), ("lee", ["agent"])):
        (at_risk,) = await alerts.for_member(member, roles)
        assert (at_risk.kind, at_risk.link, at_risk.params["number"]) == ("sla_at_risk", link, ticket.number)
    assert await alerts.for_member("sam", SUPERVISOR_ROLES) == []

    clock.now = sh(2025, 11, 17, 11, 30)  # due
    await watcher.run_pass()
    await watcher.run_pass()  # once
    (breached,) = await alerts.for_member("sam", SUPERVISOR_ROLES)
    assert (breached.kind, breached.recipient, breached.link) == ("sla_breached", "role:supervisor", link)
    assert [a.kind for a in await alerts.for_member("lee", ["agent"])] == ["sla_breached", "sla_at_risk"]
    assert await alerts.unread_count("ann", ["agent"]) == 2
