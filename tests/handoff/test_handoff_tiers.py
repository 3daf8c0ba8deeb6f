"""Routing by customer value, over both stores: a tier's head start orders the queue within its priority (never
across priorities, and never so far that a long wait is overtaken), the dedicated tiers wait in the VIP queue when
an agent serves it, and the order survives a requeue."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from backends.exceptions import InvalidSettings
from handoff import HandoffService, OwnershipState, Presence, Priority, RoutingSettings
from handoff.queue import queue_score
from handoff.settings import HandoffConfig
from tests.handoff.conftest import T0, FakeClock, agent

MakeService = Callable[..., HandoffService]
S = OwnershipState


async def waiting_order(service: HandoffService, skill: str) -> list[str]:
    return [e.conversation_id for e in await service.store.head(skill, 50)]


def test_a_head_start_reorders_within_a_priority_and_never_across_priorities() -> None:
    vip_later = queue_score(Priority.NORMAL, T0 + 300, head_start_s=600)
    standard_earlier = queue_score(Priority.NORMAL, T0)
    assert vip_later < standard_earlier
    assert queue_score(Priority.HIGH, T0 + 3600) < vip_later  # a more urgent chat still goes first
    assert queue_score(Priority.NORMAL, T0 - 900) < vip_later  # one who waited longer than the head start too


async def test_a_vip_waits_less_than_standard_customers_who_came_a_little_earlier(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service(RoutingSettings(assign_on_enqueue=False))
    await service.register_agent(agent("ann", "billing"))
    await service.request_handoff("early", "cus_1", "zh", "billing")  # T0, standard
    clock.advance(60)
    await service.request_handoff("gold", "cus_2", "zh", "billing", tier="gold")  # T0+60, 180 s head start
    clock.advance(60)
    await service.request_handoff("vip", "cus_3", "zh", "billing", tier="vip")  # T0+120, 600 s head start
    clock.advance(60)
    await service.request_handoff("urgent", "cus_4", "zh", "billing", priority=Priority.URGENT)  # T0+180
    clock.advance(60)
    await service.request_handoff("silver", "cus_5", "zh", "billing", tier="silver")  # T0+240, 60 s head start

    assert await waiting_order(service, "zh:billing") == ["urgent", "vip", "gold", "early", "silver"]
    vip = await service.state_of("vip")
    assert vip is not None and (vip.tier, vip.head_start_s) == ("vip", 600.0)
    position = await service.position_of("vip")
    assert position is not None and position.position == 2
    # The supervisor's oldest wait is the earliest arrival, not the best place in the order.
    (snapshot,) = [q for q in await service.queue_snapshot() if q.skill == "zh:billing"]
    assert snapshot.oldest_wait_s == pytest.approx(240.0)

    await service.set_presence("ann", Presence.ONLINE)
    first = await service.pull_next("ann")
    second = await service.pull_next("ann")
    assert [first.conversation_id if first else None, second.conversation_id if second else None] == ["urgent", "vip"]


async def test_a_vip_who_goes_back_to_the_queue_keeps_their_head_start(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service(RoutingSettings(assign_on_enqueue=False))
    await service.register_agent(agent("ann", "billing"))
    await service.set_presence("ann", Presence.ONLINE)
    await service.request_handoff("vip", "cus_1", "zh", "billing", tier="vip")
    assert await service.claim("vip", "ann")
    clock.advance(120)
    await service.request_handoff("standard", "cus_2", "zh", "billing")
    clock.advance(120)
    assert await service.transfer("vip", "ann", to_queue="zh:billing", note="back you go") is not None
    assert await waiting_order(service, "zh:billing") == ["vip", "standard"]
    record = await service.state_of("vip")
    assert record is not None and (record.head_start_s, record.enqueued_at) == (600.0, T0)


async def test_vip_customers_wait_in_the_vip_queue_for_the_agents_who_serve_it(make_service: MakeService) -> None:
    service = make_service()
    await service.register_agent(agent("ann", "billing"))
    await service.register_agent(agent("vera", "billing", "vip"))
    for name in ("ann", "vera"):
        await service.set_presence(name, Presence.ONLINE)
    vip = await service.request_handoff("c-vip", "cus_1", "zh", "billing", tier="vip")
    gold = await service.request_handoff("c-gold", "cus_2", "zh", "billing", tier="gold")
    assert vip.record is not None and vip.record.skill == "zh:vip" and vip.agent_id == "vera"
    assert gold.record is not None and gold.record.skill == "zh:billing"
    # Without a VIP agent, a VIP waits in the category's queue with their head start.
    plain = make_service(RoutingSettings(dedicated_tiers=frozenset()))
    outcome = await plain.request_handoff("c-vip-2", "cus_3", "zh", "billing", tier="vip")
    assert outcome.record is not None and outcome.record.skill == "zh:billing"


async def test_an_unknown_tier_routes_as_standard(make_service: MakeService) -> None:
    service = make_service(RoutingSettings(assign_on_enqueue=False))
    outcome = await service.request_handoff("c1", "cus_1", "en", tier="diamond")
    assert outcome.record is not None and (outcome.record.tier, outcome.record.head_start_s) == ("standard", 0.0)


def test_the_head_starts_and_dedicated_tiers_come_from_the_environment() -> None:
    config = HandoffConfig.from_env(
        {"FD_HANDOFF_TIER_HEAD_START": "gold:30, vip:900", "FD_HANDOFF_DEDICATED_TIERS": "none"}
    )
    routing = config.routing()
    assert dict(routing.tier_head_start_s) == {"gold": 30.0, "vip": 900.0}
    assert routing.dedicated_tiers == frozenset()
    defaults = HandoffConfig().routing()
    assert defaults.tier_head_start_s["vip"] == 600.0 and defaults.dedicated_tiers == {"vip"}
    for bad in ("diamond:5", "vip:soon", "vip:999999"):
        with pytest.raises(InvalidSettings, match="FD_HANDOFF_TIER_HEAD_START"):
            HandoffConfig.from_env({"FD_HANDOFF_TIER_HEAD_START": bad})
    with pytest.raises(InvalidSettings, match="FD_HANDOFF_DEDICATED_TIERS"):
        HandoffConfig.from_env({"FD_HANDOFF_DEDICATED_TIERS": "platinum"})
