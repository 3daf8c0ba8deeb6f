"""Routing rules that need no store: skills, eligibility and wait estimates (opening hours are intake's calendar,
tested in tests/intake/test_calendar.py)."""

from __future__ import annotations

import handoff
from handoff import AgentProfile, RoutingSettings
from handoff.queue import estimate_wait_s, queue_score, split_skill
from handoff.routing import choose_skill, group_for
from intake import SlaMetric


def test_by_default_agents_are_always_available_and_chats_get_the_default_sla() -> None:
    settings = RoutingSettings()
    assert settings.calendar.always_open
    assert settings.sla.target_s("urgent", SlaMetric.FIRST_RESPONSE) == 3600.0


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
