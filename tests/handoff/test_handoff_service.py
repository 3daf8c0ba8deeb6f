"""HandoffService end to end over both stores: outcomes, the agent's day, sweepers and the events each step sends."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from backends.bus import MemoryEventBus, Subscription
from handoff import (
    EventKind,
    HandoffService,
    HandoffTrigger,
    OutcomeStatus,
    OwnershipState,
    Presence,
    Priority,
    ReasonCode,
    RoutingSettings,
    UnknownAgent,
)
from intake import BusinessCalendar, SlaPolicy, SlaTarget, WeeklyHours
from tests.handoff.conftest import T0, FakeClock, agent

S = OwnershipState
MakeService = Callable[..., HandoffService]


def drain(sub: Subscription) -> list[dict[str, Any]]:
    events = []
    while not sub.queue.empty():
        events.append(sub.queue.get_nowait()[1])
    return events


def types(events: list[dict[str, Any]]) -> list[str]:
    return [e["type"] for e in events]


@contextlib.asynccontextmanager
async def listening(bus: MemoryEventBus, *topics: str) -> AsyncIterator[Subscription]:
    async with bus.subscribe(*topics) as sub:
        yield sub


async def staffed(service: HandoffService, *agents: tuple[str, tuple[str, ...], int]) -> None:
    for agent_id, skills, capacity in agents:
        await service.register_agent(agent(agent_id, *skills, capacity=capacity))
        await service.set_presence(agent_id, Presence.ONLINE)


async def test_handoff_with_nobody_online_queues_with_position_and_no_eta(
    make_service: MakeService, bus: MemoryEventBus
) -> None:
    service = make_service()
    await service.register_agent(agent("ann", "refund_return"))
    async with listening(bus, "handoff", "conv:c1") as sub:
        trigger = HandoffTrigger(ReasonCode.KB_NOT_FOUND, {"kb_confidence": 0.1}, "KB confidence below 0.2")
        outcome = await service.request_handoff(
            "c1", "cust1", "zh", "refund_return", trigger=trigger, context={"ticket": "FD-000001"}
        )
        events = drain(sub)
    assert outcome.status is OutcomeStatus.QUEUED and not outcome.duplicate
    assert outcome.position is not None
    assert (outcome.position.skill, outcome.position.position, outcome.position.eta_s) == ("zh:refund_return", 1, None)
    record = await service.state_of("c1")
    assert record is not None
    assert (record.reason, record.scores, record.context) == (
        "kb_not_found",
        {"kb_confidence": 0.1},
        {"ticket": "FD-000001"},
    )
    assert types(events) == ["queued", "queue_position"]
    assert events[0]["skill"] == "zh:refund_return" and events[0]["cause"] == "request"
    assert events[1] == {
        "type": "queue_position",
        "conversation_id": "c1",
        "position": 1,
        "length": 1,
        "eta_s": None,
        "version": 1,
        "at": T0,
    }


async def test_a_category_nobody_serves_falls_back_to_the_general_queue(make_service: MakeService) -> None:
    service = make_service()
    await service.register_agent(agent("ann", "billing"))
    outcome = await service.request_handoff("c1", "cust1", "zh", "delivery")
    assert outcome.record is not None and outcome.record.skill == "zh:general"


async def test_handoff_with_a_free_agent_assigns_at_once_and_tells_everyone(
    make_service: MakeService, bus: MemoryEventBus
) -> None:
    service = make_service()
    await staffed(service, ("ann", ("refund_return",), 2))
    async with listening(bus, "handoff", "agent:ann", "conv:c1") as sub:
        outcome = await service.request_handoff("c1", "cust1", "zh", "refund_return")
        events = drain(sub)
    assert outcome.status is OutcomeStatus.ASSIGNED and outcome.agent_id == "ann"
    # Served at once: no queue place is announced, only the assignment (consoles, ann's inbox, the customer).
    assert types(events) == ["assigned", "assigned", "agent_joined"]
    inbox_event = events[1]
    assert inbox_event["via"] == "auto" and inbox_event["record"]["agent_id"] == "ann"
    assert inbox_event["version"] == 2
    assert events[2]["display_name"] == "Ann"


async def test_asking_again_while_waiting_changes_nothing(make_service: MakeService) -> None:
    service = make_service()
    first = await service.request_handoff("c1", "cust1", "zh")
    again = await service.request_handoff("c1", "cust1", "zh", priority=Priority.URGENT)
    assert first.status is again.status is OutcomeStatus.QUEUED
    assert again.duplicate and again.record is not None and again.record.version == 1


async def test_the_more_urgent_of_caller_and_trigger_priority_wins(make_service: MakeService) -> None:
    service = make_service()
    trigger = HandoffTrigger(ReasonCode.URGENT_CATEGORY, priority=Priority.URGENT)
    outcome = await service.request_handoff("c1", "cust1", "en", priority="low", trigger=trigger)
    assert outcome.record is not None and outcome.record.priority == "urgent"


async def test_outside_business_hours_nothing_is_queued_and_the_next_opening_is_given(
    make_service: MakeService, bus: MemoryEventBus, clock: FakeClock
) -> None:
    hours = BusinessCalendar("Asia/Shanghai", WeeklyHours.parse("Mon-Fri 09:00-18:00"))
    service = make_service(RoutingSettings(calendar=hours))
    clock.now = 1_790_006_400.0  # Tuesday 2026-09-22 00:00 Asia/Shanghai → opens 09:00 that day
    async with listening(bus, "conv:c1") as sub:
        outcome = await service.request_handoff("c1", "cust1", "zh")
        events = drain(sub)
    assert outcome.status is OutcomeStatus.CLOSED_HOURS
    assert outcome.next_open_at == 1_790_006_400.0 + 9 * 3600
    assert await service.state_of("c1") is None
    assert events == [
        {"type": "closed_hours", "conversation_id": "c1", "next_open_at": outcome.next_open_at, "at": clock.now}
    ]


async def test_eta_uses_recent_handling_times_and_agents_online(make_service: MakeService, clock: FakeClock) -> None:
    service = make_service()
    await staffed(service, ("ann", (), 1), ("bob", (), 1))
    for cid in ("c1", "c2"):  # both agents now full
        assert (await service.request_handoff(cid, "x", "zh")).status is OutcomeStatus.ASSIGNED
    clock.advance(120)
    await service.close("c1", "ann")
    waiting = [await service.request_handoff(f"w{i}", "x", "zh") for i in range(3)]
    positions = [w.position for w in waiting]
    assert [p.position for p in positions if p] == [1, 2, 3]
    # 2 agents online, 120 s average: positions 1-2 wait one round, position 3 two rounds.
    assert [p.eta_s for p in positions if p] == [120.0, 120.0, 240.0]


async def test_claim_is_first_come_and_the_loser_gets_false(make_service: MakeService) -> None:
    service = make_service(RoutingSettings(assign_on_enqueue=False))
    await staffed(service, *((f"a{i}", (), 2) for i in range(50)))
    await service.request_handoff("c1", "cust1", "zh")
    results = await asyncio.gather(*(service.claim("c1", f"a{i}") for i in range(50)))
    assert results.count(True) == 1
    record = await service.state_of("c1")
    assert record is not None and record.state is S.ASSIGNED


async def test_pull_next_takes_the_most_urgent_case_across_the_agents_queues(make_service: MakeService) -> None:
    service = make_service(RoutingSettings(assign_on_enqueue=False))
    await service.register_agent(agent("ann", "billing", "refund_return"))
    await service.register_agent(agent("zed", "delivery"))
    await service.set_presence("ann", Presence.ONLINE)
    await service.request_handoff("c-normal", "x", "zh", "billing")
    await service.request_handoff("c-high", "x", "zh", "refund_return", priority="high")
    await service.request_handoff("c-urgent-other", "x", "zh", "delivery", priority="urgent")
    await service.request_handoff("c-en", "x", "en", "billing", priority="urgent")
    first = await service.pull_next("ann")
    second = await service.pull_next("ann")
    assert first is not None and first.conversation_id == "c-high"
    assert second is not None and second.conversation_id == "c-normal"
    assert await service.pull_next("ann") is None  # at capacity (2)
    with pytest.raises(UnknownAgent):
        await service.pull_next("ghost")


async def test_an_agent_coming_online_gets_waiting_work(make_service: MakeService, bus: MemoryEventBus) -> None:
    service = make_service()
    await service.register_agent(agent("ann", capacity=2))
    for cid in ("c1", "c2", "c3"):
        await service.request_handoff(cid, "x", "zh")
    async with listening(bus, "agent:ann") as sub:
        status = await service.set_presence("ann", Presence.ONLINE)
        events = drain(sub)
    assert status is not None and status.load == 2
    assert [e["conversation_id"] for e in events if e["type"] == "assigned"] == ["c1", "c2"]


async def test_auto_assign_fills_every_free_slot(make_service: MakeService) -> None:
    service = make_service(RoutingSettings(assign_on_enqueue=False))
    await staffed(service, ("ann", ("billing",), 2), ("bob", (), 1))
    for i in range(5):
        await service.request_handoff(f"g{i}", "x", "zh")
        await service.request_handoff(f"b{i}", "x", "zh", "billing")
    assigned = await service.auto_assign()
    assert len(assigned) == 3
    lengths = {q.skill: q.length for q in await service.queue_snapshot()}
    assert sum(lengths.values()) == 7


async def test_unanswered_assignment_returns_to_the_queue_and_the_agent_goes_away(
    make_service: MakeService, bus: MemoryEventBus, clock: FakeClock
) -> None:
    service = make_service(RoutingSettings(unanswered_timeout_s=60))
    await staffed(service, ("ann", (), 2))
    await service.request_handoff("c1", "x", "zh")
    await service.request_handoff("c2", "x", "zh")
    clock.advance(10)
    assert await service.record_agent_reply("c2", "ann")
    assert not await service.record_agent_reply("c2", "bob")
    assert await service.requeue_unanswered() == []  # not yet due
    clock.advance(55)
    async with listening(bus, "handoff", "agent:ann", "conv:c1") as sub:
        moved = await service.requeue_unanswered()
        events = drain(sub)
    assert [r.conversation_id for r in moved] == ["c1"]
    record = await service.state_of("c1")
    assert record is not None and record.state is S.QUEUED and record.enqueued_at == T0
    ann = await service.store.get_agent("ann")
    assert ann is not None and ann.presence is Presence.AWAY and ann.chats == ("c2",)
    assert {"unassigned", "agent_left", "queued", "queue_position", "agent_presence"} <= set(types(events))
    assert next(e for e in events if e["type"] == "unassigned")["cause"] == "unanswered"


async def test_transfer_to_an_agent_carries_the_note(make_service: MakeService, bus: MemoryEventBus) -> None:
    service = make_service()
    await staffed(service, ("ann", (), 2))
    await service.request_handoff("c1", "x", "zh")
    await staffed(service, ("bob", ("billing",), 2))
    async with listening(bus, "agent:ann", "agent:bob", "handoff") as sub:
        moved = await service.transfer("c1", "ann", to_agent="bob", note="billing dispute, card ends 4242")
        events = drain(sub)
    assert moved is not None and moved.agent_id == "bob"
    bob_event = next(e for e in events if e["type"] == "assigned" and e.get("via") == "transfer" and "record" in e)
    assert bob_event["record"]["events"][-1]["text"] == "billing dispute, card ends 4242"
    assert next(e for e in events if e["type"] == "unassigned")["cause"] == "transferred"
    assert await service.transfer("c1", "ann", to_agent="bob") is None  # ann no longer owns it
    with pytest.raises(ValueError):
        await service.transfer("c1", "bob", note="nowhere")


async def test_transfer_to_a_queue_assigns_to_someone_serving_it(make_service: MakeService) -> None:
    service = make_service()
    await staffed(service, ("ann", (), 2), ("bill", ("billing",), 2))
    await service.set_presence("bill", Presence.AWAY)
    await service.request_handoff("c1", "x", "zh")
    moved = await service.transfer("c1", "ann", to_queue="zh:billing", note="needs billing")
    assert moved is not None and moved.state is S.QUEUED and moved.skill == "zh:billing"
    await service.set_presence("bill", Presence.ONLINE)
    record = await service.state_of("c1")
    assert record is not None and (record.state, record.agent_id) == (S.ASSIGNED, "bill")
    transfer = record.events[-1]
    assert (transfer.kind, transfer.actor, transfer.text) == (EventKind.TRANSFER, "ann", "needs billing")
    assert transfer.data == {"from_agent": "ann", "to_queue": "zh:billing"}


async def test_close_wrap_up_then_bot_resumes_and_asks_satisfaction(
    make_service: MakeService, bus: MemoryEventBus, clock: FakeClock
) -> None:
    service = make_service()
    await staffed(service, ("ann", (), 1))
    await service.request_handoff("c1", "x", "zh")
    await service.request_handoff("c2", "x", "zh")  # waits: ann is full
    clock.advance(200)
    assert await service.close("c1", "bob") is None
    wrapped = await service.close("c1", "ann", "refund issued")
    assert wrapped is not None and wrapped.state is S.WRAP_UP
    assert [(e.kind, e.actor, e.text) for e in wrapped.events][-1] == (EventKind.RESOLUTION, "ann", "refund issued")
    assert await service.store.handling_times("zh:general") == [200.0]
    assert [r.conversation_id for r in await service.agent_inbox("ann")] == ["c1"]
    async with listening(bus, "conv:c1", "agent:ann") as sub:
        back = await service.finish_wrap_up("c1", "ann")
        events = drain(sub)
    assert back is not None and back.state is S.BOT
    bot_back = next(e for e in events if e["type"] == "bot_back")
    assert bot_back["ask_satisfaction"] is True
    # ann's freed slot went straight to the waiting c2.
    assert [r.conversation_id for r in await service.agent_inbox("ann")] == ["c2"]


async def test_stale_wrap_ups_are_finished_by_the_sweeper(make_service: MakeService, clock: FakeClock) -> None:
    service = make_service(RoutingSettings(wrap_up_timeout_s=120))
    await staffed(service, ("ann", (), 1))
    await service.request_handoff("c1", "x", "zh")
    await service.record_agent_reply("c1", "ann")
    await service.close("c1", "ann")
    clock.advance(121)
    await service.requeue_unanswered()
    record = await service.state_of("c1")
    assert record is not None and record.state is S.BOT


async def test_a_customer_who_leaves_the_queue_is_abandoned_and_may_queue_afresh(
    make_service: MakeService, bus: MemoryEventBus, clock: FakeClock
) -> None:
    service = make_service()
    await service.request_handoff("c1", "x", "zh", trigger=HandoffTrigger(ReasonCode.CUSTOMER_REQUEST))
    async with listening(bus, "handoff") as sub:
        assert await service.abandon("c1", "left")
        events = drain(sub)
    assert [(e["type"], e["cause"]) for e in events] == [("abandoned", "left")]
    record = await service.state_of("c1")
    assert record is not None and record.state is S.ABANDONED and record.owner == "bot"
    assert [(e.kind, e.data.get("cause")) for e in record.events][-1] == (EventKind.ABANDON, "left")
    assert await service.position_of("c1") is None
    assert not await service.abandon("c1")  # already gone
    clock.advance(30)
    again = await service.request_handoff("c1", "x", "zh")
    assert again.status is OutcomeStatus.QUEUED and again.record is not None
    assert again.record.enqueued_at == T0 + 30
    assert [e.kind for e in again.record.events] == [EventKind.TRIGGER, EventKind.ABANDON, EventKind.TRIGGER]


async def test_the_sweeper_abandons_only_customers_silent_past_the_limit(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service()
    await service.request_handoff("quiet", "x", "zh")
    await service.request_handoff("chatty", "y", "zh")
    await service.request_handoff("window-open", "z", "zh")
    clock.advance(500)
    await service.customer_seen("chatty")
    clock.advance(200)
    await service.customer_seen("window-open")
    assert await service.abandon_silent(600) == ["quiet"]
    clock.advance(450)
    assert await service.abandon_silent(600) == ["chatty"]
    record = await service.state_of("chatty")
    assert record is not None and record.events[-1].data == {"cause": "silent"}
    assert [s.length for s in await service.queue_snapshot()] == [1]


async def test_a_customer_with_a_longer_silence_limit_keeps_their_place_until_it_runs_out(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service()
    await service.request_handoff("web", "x", "zh")
    await service.request_handoff("wechat", "y", "zh")

    async def limit_of(conversation_id: str) -> float:
        return 3600.0 if conversation_id == "wechat" else 0.0

    clock.advance(601)
    assert await service.abandon_silent(600, limit_of=limit_of) == ["web"]
    clock.advance(2998)
    assert await service.abandon_silent(600, limit_of=limit_of) == []
    clock.advance(2)
    assert await service.abandon_silent(600, limit_of=limit_of) == ["wechat"]


async def test_customer_messages_reach_only_the_owning_agent(make_service: MakeService, bus: MemoryEventBus) -> None:
    service = make_service()
    await service.request_handoff("c1", "x", "zh")
    assert not await service.notify_customer_message("c1", {"text": "hello?"})
    await staffed(service, ("ann", (), 1))
    async with listening(bus, "agent:ann") as sub:
        assert await service.notify_customer_message("c1", {"text": "still there?"})
        events = drain(sub)
    assert events[-1]["type"] == "customer_message" and events[-1]["message"] == {"text": "still there?"}


async def test_supervisor_snapshot_shows_queues_agents_and_sla_risk(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service(RoutingSettings(sla=SlaPolicy(at_risk_share=0.8)))  # urgent 1 h, normal 24 h
    await staffed(service, ("ann", ("billing",), 1))
    await service.request_handoff("c-billing", "x", "zh", "billing", priority="urgent")  # assigned, unanswered
    await service.request_handoff("c-old", "x", "zh", priority="urgent")
    await service.request_handoff("c-normal", "x", "zh", priority="normal")
    clock.advance(100)
    await service.request_handoff("c-new", "x", "zh", "billing", priority="urgent")
    candidates = ["c-billing", "c-old", "c-normal", "c-new", "c-none"]
    snapshot = await service.supervisor_snapshot(candidates)
    queues = {q.skill: q for q in snapshot.queues}
    assert queues["zh:general"].length == 2 and queues["zh:general"].oldest_wait_s == 100.0
    assert queues["zh:billing"].agents_online == 1 and queues["zh:billing"].agents_available == 0
    assert snapshot.at_risk == []  # an urgent chat is not at risk after a minute or two: its target is an hour
    assert [(a.id, a.load) for a in snapshot.agents] == [("ann", 1)]
    assert snapshot.to_dict()["agents"][0]["presence"] == "online"
    clock.now = T0 + 0.8 * 3600  # 48 minutes: the first two urgent chats reach the at-risk share
    assert (await service.supervisor_snapshot(candidates)).at_risk == ["c-billing", "c-old"]
    clock.now = T0 + 2 * 3600  # overdue ones stay on the list; the normal chat has 22 hours left
    assert (await service.supervisor_snapshot(candidates)).at_risk == ["c-billing", "c-old", "c-new"]
    assert await service.record_agent_reply("c-billing", "ann")  # answered: no longer waiting on us
    assert (await service.supervisor_snapshot(candidates)).at_risk == ["c-old", "c-new"]


async def test_a_chat_keeps_the_due_time_it_was_queued_with_or_its_ticket_s_sooner_promise(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service(RoutingSettings(sla=SlaPolicy({p: SlaTarget(2, 8) for p in Priority})))
    first = await service.request_handoff("c1", "x", "en", priority="high")
    assert first.record is not None
    assert first.record.first_response_due == T0 + 2 * 3600
    assert first.record.first_response_warning_at == T0 + 0.8 * 2 * 3600
    promised = await service.request_handoff("c2", "x", "en", priority="high", first_response_due=T0 + 600)
    assert promised.record is not None and promised.record.first_response_due == T0 + 600
    later = await service.request_handoff("c3", "x", "en", priority="high", first_response_due=T0 + 9 * 3600)
    assert later.record is not None and later.record.first_response_due == T0 + 2 * 3600
    stored = await service.state_of("c2")
    assert stored is not None and stored.first_response_due == T0 + 600


async def test_unknown_agents_are_an_error_not_a_race(make_service: MakeService) -> None:
    service = make_service()
    with pytest.raises(UnknownAgent):
        await service.set_presence("ghost", Presence.ONLINE)
    with pytest.raises(UnknownAgent):
        await service.agent_inbox("ghost")
    assert not await service.claim("c1", "ghost")


async def test_transfer_to_a_queue_never_bounces_back_to_the_sender(make_service: MakeService) -> None:
    service = make_service()
    await staffed(service, ("ann", (), 2))
    await service.request_handoff("c1", "x", "zh")
    moved = await service.transfer("c1", "ann", to_queue="zh:general", note="someone else please")
    assert moved is not None and moved.state is S.QUEUED
    await staffed(service, ("bob", (), 2))
    record = await service.state_of("c1")
    assert record is not None and record.agent_id == "bob"


async def test_going_offline_returns_assigned_chats_to_the_queue_for_others(
    make_service: MakeService, bus: MemoryEventBus
) -> None:
    service = make_service()
    await staffed(service, ("ann", (), 3))
    for cid in ("c1", "c2", "c3"):
        await service.request_handoff(cid, "x", "zh")
    await service.close("c3", "ann")  # in wrap-up: stays with ann
    await staffed(service, ("bob", (), 1))
    async with listening(bus, "agent:ann") as sub:
        status = await service.set_presence("ann", Presence.OFFLINE)
        events = drain(sub)
    assert status is not None and status.chats == ("c3",)
    assert sorted(e["conversation_id"] for e in events if e["type"] == "unassigned") == ["c1", "c2"]
    states = {cid: await service.state_of(cid) for cid in ("c1", "c2")}
    assert states["c1"] is not None and (states["c1"].state, states["c1"].agent_id) == (S.ASSIGNED, "bob")
    assert states["c2"] is not None and states["c2"].state is S.QUEUED and states["c2"].enqueued_at == T0


async def test_an_agent_gone_from_her_console_keeps_her_chat_gets_no_new_one_and_goes_offline_after_the_grace(
    make_service: MakeService, clock: FakeClock, bus: MemoryEventBus
) -> None:
    service = make_service(RoutingSettings(presence_grace_s=30.0))
    await staffed(service, ("ann", (), 3))
    await service.console_opened("ann", "tab")
    await service.request_handoff("c1", "x", "zh")
    async with listening(bus, "handoff") as sub:
        await service.console_closed("ann", "tab")  # to the Tickets page
        (presence,) = [e for e in drain(sub) if e["type"] == "agent_presence"]
    assert (presence["presence"], presence["disconnected_at"]) == ("online", T0)
    clock.advance(10)
    assert (await service.request_handoff("c2", "y", "zh")).status is OutcomeStatus.QUEUED  # not to ann
    assert await service.auto_assign() == []  # nor by the sweeper's catch-up
    assert await service.offline_disconnected() == []
    mine = await service.state_of("c1")
    assert mine is not None and (mine.state, mine.agent_id) == (S.ASSIGNED, "ann")

    await service.console_opened("ann", "tab-2")  # back on the console page, within the grace period
    status = await service.store.get_agent("ann")
    assert status is not None and status.presence is Presence.ONLINE and status.chats == ("c1", "c2")

    await service.console_closed("ann", "tab-2")
    clock.advance(29)
    assert await service.offline_disconnected() == []
    await staffed(service, ("bob", (), 1))
    clock.advance(1)
    assert await service.offline_disconnected() == ["ann"]
    status = await service.store.get_agent("ann")
    assert status is not None and status.presence is Presence.OFFLINE and status.chats == ()
    states = {cid: await service.state_of(cid) for cid in ("c1", "c2")}
    assert states["c1"] is not None and (states["c1"].state, states["c1"].agent_id) == (S.ASSIGNED, "bob")
    assert states["c2"] is not None and states["c2"].state is S.QUEUED and states["c2"].enqueued_at == T0 + 10
    assert [e.data.get("cause") for e in states["c2"].events][-1] == "agent_offline"
    assert await service.offline_disconnected() == []  # once


async def test_a_console_whose_process_died_stops_counting_after_its_ttl(
    make_service: MakeService, clock: FakeClock
) -> None:
    service = make_service(RoutingSettings(presence_grace_s=30.0, console_ttl_s=20.0))
    await staffed(service, ("ann", (), 2), ("bob", (), 2))
    await service.console_opened("ann", "tab")
    await service.console_opened("bob", "tab-b")
    await service.request_handoff("c1", "x", "zh")
    for _ in range(4):  # bob's process renews his socket; ann's died without closing hers
        clock.advance(10)
        await service.console_heartbeat("bob", "tab-b")
        assert await service.offline_disconnected() == []
    bob = await service.store.get_agent("bob")
    assert bob is not None and bob.disconnected_at is None and bob.presence is Presence.ONLINE
    ann = await service.store.get_agent("ann")
    assert ann is not None and ann.disconnected_at == T0 + 20  # the sweep that found her socket expired
    assert ann.chats == ("c1",)
    clock.advance(10)
    assert await service.offline_disconnected() == ["ann"]  # the grace period after that
    record = await service.state_of("c1")
    assert record is not None and record.agent_id == "bob"
