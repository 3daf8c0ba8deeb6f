"""One deadline everywhere: a handed-off chat's console countdown, its ticket and the supervisor's at-risk list all
come from intake's SLA policy on the one business calendar."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from backends.bus import MemoryEventBus
from bot.settings import Settings
from handoff import HandoffService, MemoryHandoffStore, RoutingSettings
from intake import Priority, PriorityPolicy
from staff.case_card import sla_of
from tests.handoff.conftest import FakeClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = {"FD_CALENDAR_TIMEZONE": "Asia/Shanghai", "FD_CALENDAR_HOURS": "Mon-Fri 09:00-17:00"}


def sh(*args: int) -> float:
    return dt.datetime(*args, tzinfo=SHANGHAI).timestamp()  # type: ignore[misc]


def routing_of(env: dict[str, str]) -> RoutingSettings:
    """The handoff routing as the front door builds it: on the intake settings built once from the environment."""
    settings = Settings.from_env(env)
    intake = settings.intake_settings()
    return settings.handoff.routing(intake.calendar, intake.sla_policy())


def wired(env: dict[str, str], now: float) -> tuple[PriorityPolicy, HandoffService, FakeClock]:
    """The ticket side as the actions build it, the chat side as the front door builds it, from one environment."""
    clock = FakeClock(now)
    service = HandoffService(MemoryHandoffStore(), MemoryEventBus(), routing_of(env), clock)
    return PriorityPolicy(Settings.from_env(env).intake_settings()), service, clock


async def test_an_urgent_chat_is_not_overdue_after_a_minute_and_shows_its_ticket_s_due_time() -> None:
    policy, service, clock = wired(OFFICE, sh(2025, 11, 17, 10, 0))  # a Monday morning
    ticket = policy.deadlines(Priority.URGENT, clock.now)
    outcome = await service.request_handoff("c1", "cust", "zh", priority="urgent")
    assert outcome.record is not None
    clock.advance(60)
    sla = sla_of(outcome.record)
    assert sla["deadline"] == ticket.first_response_due == sh(2025, 11, 17, 11, 0)
    assert sla["deadline"] > clock.now  # the console counts down an hour, not a minute
    assert (await service.supervisor_snapshot(["c1"])).at_risk == []


async def test_friday_afternoon_chat_and_ticket_are_both_due_on_monday_morning() -> None:
    policy, service, clock = wired(OFFICE, sh(2025, 11, 14, 16, 30))
    ticket = policy.deadlines(Priority.URGENT, clock.now)
    outcome = await service.request_handoff("c1", "cust", "zh", priority="urgent")
    assert outcome.record is not None
    assert sla_of(outcome.record)["deadline"] == ticket.first_response_due == sh(2025, 11, 17, 9, 30)
    clock.now = sh(2025, 11, 17, 9, 0)  # Monday at opening: 30 of 60 working minutes used, not yet at risk
    assert (await service.supervisor_snapshot(["c1"])).at_risk == []
    clock.now = sh(2025, 11, 17, 9, 20)  # 50 minutes: past the 80 % share
    assert (await service.supervisor_snapshot(["c1"])).at_risk == ["c1"]


async def test_a_chat_handed_off_after_its_ticket_keeps_the_ticket_s_promise() -> None:
    policy, service, clock = wired({}, sh(2025, 11, 17, 10, 0))  # round the clock
    ticket = policy.deadlines(Priority.HIGH, clock.now)
    clock.advance(2.5)  # the bot's turn ends, then the handoff payload arrives
    outcome = await service.request_handoff(
        "c1", "cust", "en", priority="high", first_response_due=ticket.first_response_due
    )
    assert outcome.record is not None and sla_of(outcome.record)["deadline"] == ticket.first_response_due


async def test_agents_opening_hours_are_the_business_calendar() -> None:
    _, service, _ = wired(OFFICE | {"FD_CALENDAR_HOLIDAYS": "cn"}, sh(2025, 10, 1, 10, 0))  # National Day
    outcome = await service.request_handoff("c1", "cust", "zh")
    assert outcome.status.value == "closed_hours" and outcome.next_open_at == sh(2025, 10, 9, 9, 0)
    legacy = routing_of({"FD_HANDOFF_HOURS": "09:00-18:00", "FD_HANDOFF_TIMEZONE": "Asia/Shanghai"})
    assert not legacy.calendar.is_open(dt.datetime(2025, 11, 15, 10, 0, tzinfo=SHANGHAI))  # a Saturday
    assert legacy.calendar.is_open(dt.datetime(2025, 11, 17, 17, 30, tzinfo=SHANGHAI))
    assert routing_of({}).calendar.always_open
