"""The SLA policy: targets per priority and metric, due times on the business calendar, the at-risk rule."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from intake import BusinessCalendar, InvalidSettings, Priority, SlaMetric, SlaPolicy, SlaTarget, WeeklyHours

SHANGHAI = ZoneInfo("Asia/Shanghai")
OFFICE = BusinessCalendar("Asia/Shanghai", WeeklyHours.parse("Mon-Fri 09:00-17:00"))


def sh(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("priority", "first", "resolution"),
    [(Priority.URGENT, 1, 4), (Priority.HIGH, 4, 24), (Priority.NORMAL, 24, 72), (Priority.LOW, 72, 168)],
)
def test_default_targets_are_today_s_intake_targets(priority: Priority, first: int, resolution: int) -> None:
    policy = SlaPolicy()
    assert policy.target_s(priority, SlaMetric.FIRST_RESPONSE) == first * 3600
    assert policy.target_s(priority, SlaMetric.RESOLUTION) == resolution * 3600
    assert policy.target_s(priority, SlaMetric.NEXT_REPLY) == first * 3600  # defaults to the first-response target


def test_due_times_count_business_time_and_unknown_priorities_count_as_normal() -> None:
    policy = SlaPolicy(calendar=OFFICE)
    friday = sh(2025, 11, 14, 16, 30)
    assert policy.first_response_due(Priority.URGENT, friday) == sh(2025, 11, 17, 9, 30)
    assert policy.resolution_due("urgent", friday) == sh(2025, 11, 17, 12, 30)
    assert policy.first_response_due("whatever", friday) == policy.first_response_due(Priority.NORMAL, friday)
    targets = {p: SlaTarget(8, 40, 0.5) for p in Priority}
    assert SlaPolicy(targets, OFFICE).next_reply_due("low", friday) == sh(2025, 11, 14, 17, 0)  # exactly at closing


def test_at_risk_after_the_share_of_business_time_not_of_wall_clock() -> None:
    policy = SlaPolicy(calendar=OFFICE, at_risk_share=0.8)
    start = sh(2025, 11, 14, 16, 30)  # Friday: due Monday 09:30, at risk from Monday 09:18
    due = policy.first_response_due(Priority.URGENT, start)
    assert policy.warning_at(Priority.URGENT, start, due) == sh(2025, 11, 17, 9, 18)
    assert not policy.is_at_risk(Priority.URGENT, start, due, start + dt.timedelta(minutes=1))
    assert not policy.is_at_risk(Priority.URGENT, start, due, sh(2025, 11, 16, 23, 0))  # the weekend is not time
    assert policy.is_at_risk(Priority.URGENT, start, due, sh(2025, 11, 17, 9, 18))
    assert policy.is_at_risk(Priority.URGENT, start, due, sh(2025, 11, 18, 9, 0))  # overdue is at risk too


def test_round_the_clock_priorities_ignore_the_calendar() -> None:
    policy = SlaPolicy(calendar=OFFICE, round_the_clock=frozenset({Priority.URGENT}))
    saturday = sh(2025, 11, 15, 10, 0)
    assert policy.first_response_due(Priority.URGENT, saturday) == saturday + dt.timedelta(hours=1)
    assert policy.first_response_due(Priority.HIGH, saturday) == sh(2025, 11, 17, 13, 0)


def test_impossible_targets_and_shares_are_refused() -> None:
    with pytest.raises(InvalidSettings):
        SlaTarget(0, 4)
    with pytest.raises(InvalidSettings):
        SlaTarget(1, 4, -1)
    with pytest.raises(InvalidSettings):
        SlaPolicy(at_risk_share=0)
    with pytest.raises(InvalidSettings):
        SlaPolicy({Priority.URGENT: SlaTarget(1, 4)})
