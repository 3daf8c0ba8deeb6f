"""The store contract: every backend (memory, Redis) keeps the same promises about ownership, queues and agents."""

from __future__ import annotations

from dataclasses import replace

import pytest

from handoff import (
    LEGAL_TRANSITIONS,
    HandoffStore,
    IllegalTransition,
    OwnershipState,
    Presence,
    Priority,
    Transition,
)
from handoff.constants import PRIORITY_SCORE_STEP
from handoff.ownership import ANY_AGENT, EventKind, OwnershipEvent
from tests.handoff.conftest import T0, agent

S = OwnershipState


def enqueue(cid: str, now: float = T0, skill: str = "zh:general", priority: str = "normal") -> Transition:
    return Transition(
        cid,
        S.QUEUED,
        frozenset({S.BOT}),
        now,
        skill=skill,
        priority=priority,
        fields={"customer_id": f"cust-{cid}", "reason": "customer_request"},
    )


def assign(cid: str, agent_id: str = ANY_AGENT, now: float = T0 + 1) -> Transition:
    return Transition(cid, S.ASSIGNED, frozenset({S.QUEUED}), now, agent=agent_id)


async def online(store: HandoffStore, agent_id: str, *skills: str, capacity: int = 2, now: float = T0) -> None:
    await store.upsert_agent(agent(agent_id, *skills, capacity=capacity), now)
    await store.set_presence(agent_id, Presence.ONLINE, now)


async def test_a_conversation_never_handed_off_has_no_record(store: HandoffStore) -> None:
    assert await store.get("c1") is None


async def test_queueing_creates_the_record_and_puts_it_in_its_skill_queue(store: HandoffStore) -> None:
    record = await store.apply(enqueue("c1", skill="zh:refund_return", priority="high"))
    assert record is not None
    assert record.state is S.QUEUED
    assert record.owner == "queue:zh:refund_return"
    assert (record.customer_id, record.reason, record.priority) == ("cust-c1", "customer_request", "high")
    assert record.enqueued_at == T0
    assert record.version == 1
    assert await store.get("c1") == record
    assert [e.conversation_id for e in await store.head("zh:refund_return", 5)] == ["c1"]
    assert await store.position("c1", "zh:refund_return") == (1, 1)
    assert await store.lengths() == {"zh:refund_return": 1}


async def test_queue_orders_by_priority_then_waiting_time(store: HandoffStore) -> None:
    await store.apply(enqueue("low-old", T0, priority="low"))
    await store.apply(enqueue("normal-new", T0 + 30, priority="normal"))
    await store.apply(enqueue("normal-old", T0 + 10, priority="normal"))
    await store.apply(enqueue("urgent", T0 + 60, priority="urgent"))
    await store.apply(enqueue("high", T0 + 50, priority="high"))
    order = [e.conversation_id for e in await store.head("zh:general", 10)]
    assert order == ["urgent", "high", "normal-old", "normal-new", "low-old"]
    assert await store.position("normal-new", "zh:general") == (4, 5)
    assert await store.oldest_enqueued_at("zh:general") == T0


async def test_queueing_twice_loses_the_second_time(store: HandoffStore) -> None:
    assert await store.apply(enqueue("c1")) is not None
    assert await store.apply(enqueue("c1", T0 + 5)) is None
    assert (await store.lengths())["zh:general"] == 1


async def test_assigning_to_nobody_available_leaves_the_conversation_queued(store: HandoffStore) -> None:
    await store.upsert_agent(agent("ann"), T0)  # registered but offline
    await store.apply(enqueue("c1"))
    assert await store.apply(assign("c1")) is None
    assert await store.apply(assign("c1", "ann")) is None
    record = await store.get("c1")
    assert record is not None and record.state is S.QUEUED
    assert await store.position("c1", "zh:general") == (1, 1)


async def test_assignment_dequeues_and_counts_toward_the_agents_load(store: HandoffStore) -> None:
    await online(store, "ann")
    await store.apply(enqueue("c1"))
    record = await store.apply(assign("c1"))
    assert record is not None
    assert (record.state, record.agent_id, record.assigned_at, record.version) == (S.ASSIGNED, "ann", T0 + 1, 2)
    assert record.owner == "agent:ann"
    assert await store.head("zh:general") == []
    status = await store.get_agent("ann")
    assert status is not None
    assert (status.load, status.chats, status.last_assigned_at) == (1, ("c1",), T0 + 1)


async def test_any_agent_means_least_loaded_then_longest_idle_eligible_agent(store: HandoffStore) -> None:
    await online(store, "busy", "refund_return", capacity=3)
    await online(store, "idle-long", "refund_return")
    await online(store, "idle-short", "refund_return")
    await online(store, "wrong-skill", "billing")
    await store.upsert_agent(agent("away", "refund_return"), T0)
    skill = "zh:refund_return"
    # Give everyone but idle-long a recent assignment, and busy a second chat.
    for cid, who, at in (("x1", "busy", T0 + 1), ("x2", "busy", T0 + 2), ("x3", "idle-short", T0 + 3)):
        await store.apply(enqueue(cid, T0, skill=skill))
        assert (await store.apply(assign(cid, who, at))) is not None
    await store.apply(enqueue("c1", T0 + 4, skill=skill))
    first = await store.apply(assign("c1", now=T0 + 5))
    assert first is not None and first.agent_id == "idle-long"  # load 0
    await store.apply(enqueue("c2", T0 + 6, skill=skill))
    second = await store.apply(assign("c2", now=T0 + 7))
    assert second is not None and second.agent_id == "idle-short"  # load 1, idle since T0+3 (< idle-long's T0+5)


async def test_an_agent_at_capacity_takes_no_more(store: HandoffStore) -> None:
    await online(store, "ann", capacity=1)
    await store.apply(enqueue("c1"))
    await store.apply(enqueue("c2", T0 + 1))
    assert await store.apply(assign("c1", "ann")) is not None
    assert await store.apply(assign("c2", "ann")) is None
    assert await store.apply(assign("c2")) is None


async def test_going_away_stops_new_assignments_but_keeps_current_chats(store: HandoffStore) -> None:
    await online(store, "ann")
    await store.apply(enqueue("c1"))
    await store.apply(assign("c1"))
    status = await store.set_presence("ann", Presence.AWAY, T0 + 2)
    assert status is not None and (status.presence, status.load, status.presence_since) == (Presence.AWAY, 1, T0 + 2)
    await store.apply(enqueue("c2", T0 + 3))
    assert await store.apply(assign("c2")) is None


async def test_unknown_agents_have_no_presence(store: HandoffStore) -> None:
    assert await store.set_presence("ghost", Presence.ONLINE, T0) is None
    assert await store.get_agent("ghost") is None


async def test_updating_a_profile_keeps_presence_and_load(store: HandoffStore) -> None:
    await online(store, "ann")
    await store.apply(enqueue("c1"))
    await store.apply(assign("c1"))
    updated = await store.upsert_agent(agent("ann", "billing", capacity=5), T0 + 9)
    assert (updated.presence, updated.load, updated.profile.capacity) == (Presence.ONLINE, 1, 5)
    assert "zh:billing" in await store.served_skills()
    assert [a.id for a in await store.list_agents()] == ["ann"]


async def test_transfer_between_agents_moves_the_load(store: HandoffStore) -> None:
    await online(store, "ann")
    await online(store, "bob")
    await store.apply(enqueue("c1"))
    await store.apply(assign("c1", "ann"))
    moved = await store.apply(
        Transition(
            "c1",
            S.ASSIGNED,
            frozenset({S.ASSIGNED}),
            T0 + 5,
            expect_agent="ann",
            agent="bob",
            event=OwnershipEvent(EventKind.TRANSFER, T0 + 5, "ann", "billing question", {"to_agent": "bob"}),
        )
    )
    assert moved is not None and (moved.agent_id, moved.assigned_at) == ("bob", T0 + 5)
    assert [(e.kind, e.text) for e in moved.events] == [(EventKind.TRANSFER, "billing question")]
    ann, bob = await store.get_agent("ann"), await store.get_agent("bob")
    assert ann is not None and bob is not None and (ann.load, bob.load) == (0, 1)


async def test_only_the_owner_can_transfer_and_never_to_themselves(store: HandoffStore) -> None:
    await online(store, "ann")
    await online(store, "bob")
    await store.apply(enqueue("c1"))
    await store.apply(assign("c1", "ann"))
    by_bob = Transition("c1", S.ASSIGNED, frozenset({S.ASSIGNED}), T0 + 5, expect_agent="bob", agent="bob")
    to_self = Transition("c1", S.ASSIGNED, frozenset({S.ASSIGNED}), T0 + 5, expect_agent="ann", agent="ann")
    assert await store.apply(by_bob) is None
    assert await store.apply(to_self) is None


async def test_requeue_keeps_the_original_wait_and_frees_the_agent(store: HandoffStore) -> None:
    await online(store, "ann")
    await store.apply(enqueue("c1", T0))
    await store.apply(assign("c1", "ann", T0 + 1))
    await store.apply(enqueue("c2", T0 + 2))
    back = await store.apply(
        Transition("c1", S.QUEUED, frozenset({S.ASSIGNED}), T0 + 100, expect_agent="ann", keep_enqueued_at=True)
    )
    assert back is not None
    assert (back.state, back.agent_id, back.enqueued_at, back.assigned_at) == (S.QUEUED, "", T0, None)
    assert [e.conversation_id for e in await store.head("zh:general", 5)] == ["c1", "c2"]
    ann = await store.get_agent("ann")
    assert ann is not None and ann.load == 0


async def test_transfer_to_another_queue_moves_the_conversation(store: HandoffStore) -> None:
    await online(store, "ann")
    await store.apply(enqueue("c1"))
    await store.apply(assign("c1", "ann"))
    moved = await store.apply(
        Transition(
            "c1",
            S.QUEUED,
            frozenset({S.ASSIGNED}),
            T0 + 5,
            expect_agent="ann",
            skill="zh:billing",
            keep_enqueued_at=True,
        )
    )
    assert moved is not None and moved.skill == "zh:billing"
    assert await store.lengths() == {"zh:general": 0, "zh:billing": 1}


async def test_wrap_up_keeps_the_agents_slot_until_the_bot_resumes(store: HandoffStore) -> None:
    await online(store, "ann")
    await store.apply(enqueue("c1"))
    await store.apply(assign("c1", "ann"))
    wrap = await store.apply(
        Transition("c1", S.WRAP_UP, frozenset({S.ASSIGNED}), T0 + 60, expect_agent="ann", fields={"note": "refunded"})
    )
    assert wrap is not None and (wrap.state, wrap.agent_id, wrap.wrap_up_at) == (S.WRAP_UP, "ann", T0 + 60)
    ann = await store.get_agent("ann")
    assert ann is not None and ann.load == 1
    assert await store.wrap_up_before(T0 + 60) == ["c1"]
    assert await store.unanswered_before(T0 + 1000) == []
    bot = await store.apply(Transition("c1", S.BOT, frozenset({S.WRAP_UP}), T0 + 90))
    assert bot is not None and (bot.state, bot.agent_id, bot.owner) == (S.BOT, "", "bot")
    ann = await store.get_agent("ann")
    assert ann is not None and ann.load == 0
    assert await store.wrap_up_before(T0 + 1000) == []


async def test_an_agent_reply_stops_the_unanswered_clock(store: HandoffStore) -> None:
    await online(store, "ann")
    for cid in ("c1", "c2"):
        await store.apply(enqueue(cid))
        await store.apply(assign(cid, "ann", T0 + 1))
    assert sorted(await store.unanswered_before(T0 + 1)) == ["c1", "c2"]
    assert await store.unanswered_before(T0 + 0.5) == []
    replied = await store.mark_agent_reply("c1", "ann", T0 + 3)
    assert replied is not None and (replied.last_agent_reply_at, replied.version) == (T0 + 3, 3)
    assert await store.unanswered_before(T0 + 100) == ["c2"]
    assert await store.mark_agent_reply("c2", "bob", T0 + 3) is None


async def test_expected_version_guards_against_stale_writers(store: HandoffStore) -> None:
    record = await store.apply(enqueue("c1"))
    assert record is not None
    stale = Transition("c1", S.ABANDONED, frozenset({S.QUEUED}), T0 + 1, expect_version=record.version + 1)
    assert await store.apply(stale) is None
    fresh = Transition("c1", S.ABANDONED, frozenset({S.QUEUED}), T0 + 1, expect_version=record.version)
    done = await store.apply(fresh)
    assert done is not None and done.state is S.ABANDONED and done.owner == "bot"
    assert await store.head("zh:general") == []


async def test_an_abandoned_conversation_can_queue_again(store: HandoffStore) -> None:
    await store.apply(enqueue("c1"))
    left = await store.apply(Transition("c1", S.ABANDONED, frozenset({S.QUEUED}), T0 + 5))
    assert left is not None and left.state is S.ABANDONED and left.owner == "bot"
    assert await store.position("c1", "zh:general") is None
    again = await store.apply(replace(enqueue("c1", T0 + 9), allowed_from=frozenset({S.BOT, S.ABANDONED})))
    assert again is not None and again.enqueued_at == T0 + 9 and again.version == 3


async def test_events_are_appended_in_order_and_never_overwritten(store: HandoffStore) -> None:
    await online(store, "ann")
    await online(store, "bob")
    trigger = OwnershipEvent(
        EventKind.TRIGGER, T0, "bot", "3 misses", {"reason": "kb_not_found", "scores": {"kb": 0.1}}
    )
    await store.apply(replace(enqueue("c1"), event=trigger))
    await store.apply(assign("c1", "ann"))
    transfer = OwnershipEvent(EventKind.TRANSFER, T0 + 5, "ann", "退款 “refund” \\ question/]", {"to_agent": "bob"})
    await store.apply(Transition("c1", S.ASSIGNED, frozenset({S.ASSIGNED}), T0 + 5, agent="bob", event=transfer))
    resolution = OwnershipEvent(EventKind.RESOLUTION, T0 + 9.123456, "bob", "refunded")
    await store.apply(Transition("c1", S.WRAP_UP, frozenset({S.ASSIGNED}), T0 + 9, event=resolution))
    record = await store.get("c1")
    assert record is not None
    assert record.events == (trigger, transfer, resolution)
    assert record.to_dict()["events"][1] == {
        "kind": "transfer",
        "at": T0 + 5,
        "actor": "ann",
        "text": "退款 “refund” \\ question/]",
        "data": {"to_agent": "bob"},
    }
    refused = Transition("c1", S.QUEUED, frozenset({S.BOT}), T0 + 10, event=resolution)
    assert await store.apply(refused) is None
    assert (await store.get("c1")) == record  # a refused transition appends nothing


def test_events_cannot_be_overwritten_through_fields() -> None:
    with pytest.raises(ValueError, match="appended"):
        Transition("c1", S.QUEUED, frozenset({S.BOT}), T0, fields={"events": "[]"})


async def test_a_queued_customer_seen_recently_is_not_silent(store: HandoffStore) -> None:
    await store.apply(enqueue("c1", T0))
    await store.apply(enqueue("c2", T0 + 1))
    assert await store.mark_customer_seen("c1", T0 + 50)
    assert not await store.mark_customer_seen("nobody", T0 + 50)
    assert await store.silent_before(T0 + 10) == ["c2"]
    assert await store.silent_before(T0 + 60) == ["c2", "c1"]
    stale = Transition("c1", S.ABANDONED, frozenset({S.QUEUED}), T0 + 60, seen_before=T0 + 10)
    assert await store.apply(stale) is None
    left = await store.apply(replace(stale, conversation_id="c2"))
    assert left is not None and left.state is S.ABANDONED
    assert await store.silent_before(T0 + 60) == ["c1"]
    assert not await store.mark_customer_seen("c2", T0 + 70)  # no longer queued


async def test_many_customers_are_seen_at_once_and_only_queued_ones_count(store: HandoffStore) -> None:
    await store.apply(enqueue("c1", T0))
    await store.apply(enqueue("c2", T0 + 1))
    assert await store.mark_customers_seen(["c1", "nobody", "c2"], T0 + 50) == 2
    assert await store.mark_customers_seen([], T0 + 60) == 0
    assert await store.silent_before(T0 + 49) == []
    assert await store.silent_before(T0 + 50) == ["c1", "c2"]


async def test_handling_times_keep_the_most_recent(store: HandoffStore) -> None:
    for seconds in range(60):
        await store.record_handling_time("zh:general", float(seconds))
    kept = await store.handling_times("zh:general")
    assert len(kept) == 50 and kept[0] == 59.0


async def test_records_round_trip_scores_and_context(store: HandoffStore) -> None:
    context = '{"ticket": "FD-000123", "summary": "退款/退货"}'
    t = enqueue("c1").with_fields(scores='{"kb_confidence": 0.12}', context=context)
    await store.apply(t)
    record = await store.get("c1")
    assert record is not None
    assert record.scores == {"kb_confidence": 0.12}
    assert record.context == {"ticket": "FD-000123", "summary": "退款/退货"}
    assert (await store.get_many(["c1", "nope"])) == [record]


def test_illegal_transitions_are_refused_when_built() -> None:
    with pytest.raises(IllegalTransition):
        Transition("c1", S.ASSIGNED, frozenset({S.BOT}), T0)
    with pytest.raises(IllegalTransition):
        Transition("c1", S.QUEUED, frozenset({S.WRAP_UP}), T0)


def test_the_state_machine_is_exactly_the_documented_one() -> None:
    expected = {
        (S.BOT, S.QUEUED),
        (S.QUEUED, S.ASSIGNED),
        (S.QUEUED, S.ABANDONED),
        (S.ASSIGNED, S.QUEUED),
        (S.ASSIGNED, S.ASSIGNED),
        (S.ASSIGNED, S.WRAP_UP),
        (S.WRAP_UP, S.BOT),
        (S.ABANDONED, S.QUEUED),
    }
    actual = {(a, b) for a, targets in LEGAL_TRANSITIONS.items() for b in targets}
    assert actual == expected


def test_priority_parsing_falls_back_to_normal() -> None:
    assert Priority.parse("URGENT") is Priority.URGENT
    assert Priority.parse("whatever") is Priority.NORMAL
    assert Priority.parse(None) is Priority.NORMAL


async def test_queue_scores_keep_the_stored_priority_bands(store: HandoffStore) -> None:
    # Scores already sitting in Redis sorted sets must still sort the same: urgent band 0 … low band 3.
    for value in ("low", "normal", "high", "urgent", "unknown"):
        await store.apply(enqueue(f"c-{value}", priority=value))
    heads = await store.head("zh:general", 5)
    ms = int(T0 * 1000)
    assert [(e.conversation_id, e.score) for e in heads] == [
        ("c-urgent", ms),
        ("c-high", PRIORITY_SCORE_STEP + ms),
        ("c-normal", 2 * PRIORITY_SCORE_STEP + ms),
        ("c-unknown", 2 * PRIORITY_SCORE_STEP + ms),
        ("c-low", 3 * PRIORITY_SCORE_STEP + ms),
    ]


async def test_heads_give_the_next_conversation_of_each_queue(store: HandoffStore) -> None:
    await store.apply(enqueue("g-late", T0 + 5))
    await store.apply(enqueue("g-early", T0))
    await store.apply(enqueue("b1", T0, skill="zh:billing", priority="urgent"))
    heads = await store.heads(["zh:general", "zh:billing", "zh:empty"])
    assert [(e.conversation_id, e.skill) for e in heads] == [("g-early", "zh:general"), ("b1", "zh:billing")]
    assert heads[1].score < heads[0].score


async def test_online_counts_follow_presence_and_profile_changes(store: HandoffStore) -> None:
    await online(store, "ann", "billing")
    await online(store, "bob")
    await store.upsert_agent(agent("cat", "billing"), T0)  # offline
    assert await store.count_online("zh:general") == 2
    assert await store.count_online("zh:billing") == 1
    await store.upsert_agent(agent("ann"), T0 + 1)  # no longer serves billing
    assert await store.count_online("zh:billing") == 0
    await store.set_presence("bob", Presence.OFFLINE, T0 + 2)
    assert await store.count_online("zh:general") == 1


async def test_pull_takes_the_best_head_across_the_agents_queues(store: HandoffStore) -> None:
    await online(store, "ann", "billing")
    await store.apply(enqueue("general-old", T0))
    await store.apply(enqueue("billing-high", T0 + 9, skill="zh:billing", priority="high"))
    await store.apply(enqueue("refund-urgent", T0, skill="zh:refund_return", priority="urgent"))  # not ann's
    first = await store.pull("ann", T0 + 10)
    second = await store.pull("ann", T0 + 11)
    assert first is not None and (first.conversation_id, first.agent_id) == ("billing-high", "ann")
    assert second is not None and second.conversation_id == "general-old"
    assert await store.pull("ann", T0 + 12) is None  # full (capacity 2)
    assert await store.pull("ghost", T0 + 12) is None


async def test_pull_gives_nothing_to_an_agent_who_is_away(store: HandoffStore) -> None:
    await store.upsert_agent(agent("ann"), T0)
    await store.apply(enqueue("c1"))
    assert await store.pull("ann", T0 + 1) is None
    assert (await store.lengths())["zh:general"] == 1


async def test_assign_after_queues_and_assigns_in_one_step_when_someone_is_free(store: HandoffStore) -> None:
    alone = await store.apply(replace(enqueue("c1"), assign_after=True))
    assert alone is not None and alone.state is S.QUEUED
    await online(store, "ann")
    served = await store.apply(replace(enqueue("c2", T0 + 1), assign_after=True))
    assert served is not None and (served.state, served.agent_id, served.version) == (S.ASSIGNED, "ann", 2)
    assert [e.conversation_id for e in await store.head("zh:general", 5)] == ["c1"]
    with pytest.raises(IllegalTransition):
        Transition("c1", S.BOT, frozenset({S.QUEUED}), T0, assign_after=True)


async def test_any_agent_skips_the_agent_to_avoid(store: HandoffStore) -> None:
    await online(store, "ann")
    await online(store, "bob", capacity=1)
    await store.apply(enqueue("c1"))
    t = replace(assign("c1"), avoid_agent="ann")
    first = await store.apply(t)
    assert first is not None and first.agent_id == "bob"
    await store.apply(enqueue("c2", T0 + 1))
    assert await store.apply(replace(assign("c2"), avoid_agent="ann")) is None  # bob is full; ann is avoided
