from dataclasses import replace
from datetime import UTC, datetime

import pytest

import handoff
from intake import (
    BusinessCalendar,
    CalendarConfig,
    Category,
    IntakeConfig,
    IntakeSettings,
    InvalidSettings,
    Priority,
    PriorityPolicy,
    SlaTarget,
    Urgency,
    WeeklyHours,
)

HOUR = 3600.0


def ts(text: str, tz: str = "UTC") -> float:
    from zoneinfo import ZoneInfo

    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(tz)).timestamp()


@pytest.fixture
def policy() -> PriorityPolicy:
    return PriorityPolicy(IntakeSettings())


@pytest.mark.parametrize(
    ("category", "urgency", "tier", "text", "expected"),
    [
        (Category.PRODUCT_FAULT, Urgency.URGENT, "standard", "", Priority.URGENT),
        (Category.PRODUCT_FAULT, Urgency.HIGH, "standard", "", Priority.HIGH),
        (Category.DELIVERY, Urgency.NORMAL, "standard", "", Priority.NORMAL),
        (Category.DELIVERY, None, "standard", "", Priority.NORMAL),
        (Category.SUGGESTION, Urgency.NORMAL, "standard", "", Priority.LOW),
        (Category.SUGGESTION, Urgency.HIGH, "standard", "", Priority.HIGH),
        (Category.SERVICE_COMPLAINT, Urgency.NORMAL, "standard", "", Priority.HIGH),
        (Category.DELIVERY, Urgency.NORMAL, "vip", "", Priority.HIGH),
        (Category.SUGGESTION, Urgency.NORMAL, "vip", "", Priority.NORMAL),
        (Category.DELIVERY, Urgency.HIGH, "vip", "", Priority.HIGH),
        (Category.BILLING, Urgency.NORMAL, "standard", "I will call my lawyer", Priority.HIGH),
        (Category.BILLING, Urgency.NORMAL, "standard", "我要找律师", Priority.HIGH),
        (None, None, "standard", "", Priority.NORMAL),
    ],
)
def test_priority_follows_urgency_category_tier_and_keywords(
    policy: PriorityPolicy,
    category: Category | None,
    urgency: Urgency | None,
    tier: str,
    text: str,
    expected: Priority,
) -> None:
    decision = policy.decide(category, urgency, tier, text)
    assert decision.priority is expected
    assert decision.reasons


def test_handoff_and_intake_share_one_priority_type() -> None:
    assert handoff.Priority is Priority


def test_urgency_and_serve_order_are_opposite_orderings() -> None:
    by_urgency = sorted(Priority, key=lambda p: p.urgency, reverse=True)
    by_serve_order = sorted(Priority, key=lambda p: p.serve_order)
    assert by_urgency == by_serve_order == [Priority.URGENT, Priority.HIGH, Priority.NORMAL, Priority.LOW]
    assert [p.serve_order for p in by_serve_order] == [0, 1, 2, 3]  # baked into queued Redis scores
    assert [Priority.from_urgency(p.urgency) for p in Priority] == list(Priority)
    assert Priority.from_urgency(9) is Priority.URGENT and Priority.from_urgency(-1) is Priority.LOW


def test_a_tier_bump_never_makes_a_ticket_urgent(policy: PriorityPolicy) -> None:
    assert policy.decide(Category.BILLING, Urgency.HIGH, "gold").priority is Priority.HIGH


def test_the_policy_is_configurable() -> None:
    settings = IntakeSettings(
        category_floor={Category.BILLING: Priority.URGENT}, low_categories=frozenset(), tier_bumps={}
    )
    policy = PriorityPolicy(settings)
    assert policy.decide(Category.BILLING, Urgency.NORMAL).priority is Priority.URGENT
    assert policy.decide(Category.SUGGESTION, Urgency.NORMAL, "vip").priority is Priority.NORMAL


def test_urgent_and_complaint_tickets_are_handoff_worthy(policy: PriorityPolicy) -> None:
    assert policy.is_handoff_worthy(Category.PRODUCT_FAULT, Priority.URGENT) == "urgent_category"
    assert policy.is_handoff_worthy(Category.SERVICE_COMPLAINT, Priority.HIGH) == "complaint"
    assert policy.is_handoff_worthy(Category.DELIVERY, Priority.NORMAL) is None


@pytest.mark.parametrize(
    ("priority", "first", "resolution"),
    [(Priority.URGENT, 1, 4), (Priority.HIGH, 4, 24), (Priority.NORMAL, 24, 72), (Priority.LOW, 72, 168)],
)
def test_deadlines_without_business_hours_run_round_the_clock(
    policy: PriorityPolicy, priority: Priority, first: int, resolution: int
) -> None:
    now = ts("2024-05-04T22:00:00")  # a Saturday night
    deadlines = policy.deadlines(priority, now)
    assert deadlines.first_response_due == now + first * HOUR
    assert deadlines.resolution_due == now + resolution * HOUR


def test_sla_targets_are_configurable() -> None:
    targets = {p: SlaTarget(2, 5) for p in Priority}
    deadlines = PriorityPolicy(IntakeSettings(sla_targets=targets)).deadlines(Priority.LOW, 0.0)
    assert (deadlines.first_response_due, deadlines.resolution_due) == (2 * HOUR, 5 * HOUR)


SHANGHAI_OFFICE = BusinessCalendar("Asia/Shanghai", WeeklyHours.parse("Mon-Fri 09:00-18:00"))


def test_policy_deadlines_count_only_open_time_across_a_weekend() -> None:
    settings = IntakeSettings(sla_targets={p: SlaTarget(4, 10) for p in Priority}, calendar=SHANGHAI_OFFICE)
    friday_5pm = ts("2024-05-03T17:00:00", "Asia/Shanghai")
    deadlines = PriorityPolicy(settings).deadlines(Priority.NORMAL, friday_5pm)
    # 1h left on Friday, then Monday 09:00 + 3h; resolution: 1h Friday, 9h Monday.
    assert deadlines.first_response_due == ts("2024-05-06T12:00:00", "Asia/Shanghai")
    assert deadlines.resolution_due == ts("2024-05-06T18:00:00", "Asia/Shanghai")


def test_policy_deadlines_use_business_hours_except_round_the_clock_priorities() -> None:
    settings = IntakeSettings(calendar=SHANGHAI_OFFICE)
    saturday = ts("2024-05-04T10:00:00", "Asia/Shanghai")
    monday_10 = ts("2024-05-06T10:00:00", "Asia/Shanghai")
    assert PriorityPolicy(settings).deadlines(Priority.URGENT, saturday).first_response_due == monday_10
    always_on = replace(settings, round_the_clock_priorities=frozenset({Priority.URGENT}))
    assert PriorityPolicy(always_on).deadlines(Priority.URGENT, saturday).first_response_due == saturday + HOUR


def test_a_bad_at_risk_share_or_missing_targets_are_rejected() -> None:
    with pytest.raises(InvalidSettings):
        IntakeSettings(sla_at_risk_share=1.5)
    with pytest.raises(InvalidSettings):
        IntakeSettings(sla_targets={Priority.URGENT: SlaTarget(1, 4)})


def test_settings_are_built_from_a_mapping_not_the_environment() -> None:
    env = {
        "FD_INTAKE_SLA_URGENT": "0.5/2",
        "FD_INTAKE_SLA_HIGH": "4/24/2",
        "FD_INTAKE_SLA_AT_RISK": "0.75",
        "FD_CALENDAR_TIMEZONE": "Asia/Shanghai",
        "FD_CALENDAR_HOURS": "Mon-Sat 08:00-20:00",
        "FD_INTAKE_ORDER_PATTERN": r"[A-Z]{2}\d{8}",
    }
    settings = IntakeConfig.from_env(env).intake_settings(CalendarConfig.from_env(env).calendar())
    assert settings.sla_targets[Priority.URGENT] == SlaTarget(0.5, 2)
    assert settings.sla_targets[Priority.HIGH] == SlaTarget(4, 24, 2)
    assert settings.sla_at_risk_share == 0.75
    assert settings.calendar.timezone == "Asia/Shanghai"
    assert settings.calendar.hours is not None and settings.calendar.hours.spans(5) == ((480, 1200),)
    assert settings.order_number_pattern == r"[A-Z]{2}\d{8}"
    assert datetime.fromtimestamp(0, UTC).year == 1970
