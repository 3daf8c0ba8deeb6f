"""Routing rules that need no store: business hours, skills, eligibility and wait estimates."""

from __future__ import annotations

import pytest

import handoff
from handoff import AgentProfile, BusinessHours, InvalidSettings, RoutingSettings
from handoff.queue import estimate_wait_s, queue_score, split_skill
from handoff.routing import choose_skill, group_for

# 2026-09-21 is a Monday. Asia/Shanghai is UTC+8 all year.
MONDAY_10_SHANGHAI = 1_789_956_000.0  # 2026-09-21 10:00 +08:00
FRIDAY_19_SHANGHAI = MONDAY_10_SHANGHAI + 4 * 86400 + 9 * 3600


def test_business_hours_are_open_inside_and_closed_outside() -> None:
    hours = BusinessHours("Asia/Shanghai", {0: (("09:00", "12:00"), ("13:00", "18:00"))})
    assert hours.is_open(MONDAY_10_SHANGHAI)
    assert not hours.is_open(MONDAY_10_SHANGHAI + 2.5 * 3600)  # 12:30 lunch
    assert hours.next_open_at(MONDAY_10_SHANGHAI + 2.5 * 3600) == MONDAY_10_SHANGHAI + 3 * 3600
    assert hours.next_open_at(MONDAY_10_SHANGHAI) == MONDAY_10_SHANGHAI


def test_after_friday_close_the_next_opening_is_monday_morning() -> None:
    hours = BusinessHours("Asia/Shanghai")
    assert not hours.is_open(FRIDAY_19_SHANGHAI)
    assert hours.next_open_at(FRIDAY_19_SHANGHAI) == MONDAY_10_SHANGHAI + 7 * 86400 - 3600


def test_holidays_are_closed_all_day() -> None:
    hours = BusinessHours("Asia/Shanghai", closed_dates=frozenset({"2026-09-21"}))
    assert not hours.is_open(MONDAY_10_SHANGHAI)
    assert hours.next_open_at(MONDAY_10_SHANGHAI) == MONDAY_10_SHANGHAI + 86400 - 3600


def test_a_desk_that_never_opens_has_no_next_opening() -> None:
    assert BusinessHours("UTC", {}).next_open_at(MONDAY_10_SHANGHAI) is None


@pytest.mark.parametrize(
    ("timezone", "weekly"),
    [
        ("Mars/Olympus", {0: (("09:00", "18:00"),)}),
        ("UTC", {0: (("18:00", "09:00"),)}),
        ("UTC", {7: ()}),
        ("UTC", {0: (("9am", "5pm"),)}),
    ],
)
def test_impossible_hours_are_refused(timezone: str, weekly: dict[int, tuple[tuple[str, str], ...]]) -> None:
    with pytest.raises(InvalidSettings):
        BusinessHours(timezone, weekly)


def test_categories_map_to_groups_and_unknown_ones_to_general() -> None:
    settings = RoutingSettings()
    assert group_for("refund_return", settings) == "refund_return"
    assert group_for("suggestion", settings) == "general"
    assert group_for("", settings) == "general"
    assert choose_skill("zh", "refund_return", settings, {"zh:refund_return"}) == "zh:refund_return"
    assert choose_skill("zh", "refund_return", settings, {"en:refund_return"}) == "zh:general"


def test_agents_serve_their_groups_in_their_languages_plus_general() -> None:
    profile = AgentProfile("ann", skills=("billing", "refund_return"), languages=("zh", "en"))
    assert profile.eligible_skills() == [
        "zh:general",
        "zh:billing",
        "zh:refund_return",
        "en:general",
        "en:billing",
        "en:refund_return",
    ]
    assert not profile.serves("fr:general")
    assert split_skill("zh:refund_return") == ("zh", "refund_return")


def test_queue_scores_order_priority_before_age() -> None:
    assert queue_score("urgent", 2_000_000_000.0) < queue_score("high", 1_000_000_000.0)
    assert queue_score("normal", 1_000_000_000.0) < queue_score("normal", 1_000_000_000.001)


def test_wait_estimates_scale_with_position_and_staff() -> None:
    assert estimate_wait_s(1, [60.0, 120.0], 2) == 90.0
    assert estimate_wait_s(5, [60.0, 120.0], 2) == 270.0
    assert estimate_wait_s(1, [], 1) == 300.0
    assert estimate_wait_s(1, [60.0], 0) is None


def test_the_package_exports_what_it_lists() -> None:
    for name in handoff.__all__:
        assert hasattr(handoff, name), name
    assert sorted(handoff.__all__) == sorted(set(handoff.__all__))
