"""Which agent gets which conversation, and when a conversation goes back to the queue.

Owns the routing settings (opening hours are intake's business calendar, the chat SLA intake's SLA policy), the
category → skill mapping, what a customer's tier is worth in the queue (`head_start_for`: served as if they had
arrived that much earlier, within their priority; `choose_skill`: the dedicated tiers wait in `<language>:vip` when
some agent serves it) and the assignment moves built on the store's atomic transitions: `route_to_agent`
(auto-assign to the least-loaded, longest-idle eligible agent), `pull_next` (an agent takes the best case from their
queues), `transfer`, and the sweepers `requeue_unanswered` and `finish_stale_wrap_ups`. Must never publish events or
talk to customers: HandoffService does that.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from conversations.models import Tier
from handoff.constants import CONSOLE_TTL_S, GENERAL_GROUP, PRESENCE_GRACE_S, VIP_GROUP
from handoff.ownership import (
    AGENT_STATES,
    ANY_AGENT,
    EventKind,
    OwnershipEvent,
    OwnershipRecord,
    OwnershipState,
    Transition,
)
from handoff.queue import general_skill, skill_of
from handoff.store import HandoffStore
from intake.calendar import BusinessCalendar
from intake.sla import SlaPolicy

_S = OwnershipState

DEFAULT_CATEGORY_GROUPS: Mapping[str, str] = {
    "product_fault": "product_fault",
    "delivery": "delivery",
    "refund_return": "refund_return",
    "billing": "billing",
    "service_complaint": "service_complaint",
    "suggestion": GENERAL_GROUP,
}

# A waiting customer of a higher tier is served as if they had arrived this much earlier (seconds), within their
# priority: a VIP does not wait behind a standard customer who came a few minutes before them, but one who has
# waited longer than the head start still goes first, so nobody waits forever.
DEFAULT_TIER_HEAD_START_S: Mapping[str, float] = {
    Tier.STANDARD.value: 0.0,
    Tier.SILVER.value: 60.0,
    Tier.GOLD.value: 180.0,
    Tier.VIP.value: 600.0,
}
# Tiers whose chats wait in the dedicated queue `<language>:vip` when some registered agent serves it.
DEFAULT_DEDICATED_TIERS = frozenset({Tier.VIP.value})


@dataclass(frozen=True)
class RoutingSettings:
    unanswered_timeout_s: float = 90.0  # an assigned chat the agent has not answered by then returns to the queue
    wrap_up_timeout_s: float = 300.0  # a wrap-up left open this long is finished for the agent (frees their slot)
    assign_on_enqueue: bool = True
    category_groups: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_CATEGORY_GROUPS))
    # Agents' opening hours: outside them a customer gets a ticket and a promise. The default is always open.
    calendar: BusinessCalendar = field(default_factory=BusinessCalendar)
    # A chat's first-response due time and at-risk time, computed when it is queued (the same policy as tickets).
    sla: SlaPolicy = field(default_factory=SlaPolicy)
    # How long this process trusts its copy of "which skills have agents" and agents' display names.
    directory_cache_s: float = 30.0
    # An agent who lets an assignment time out is set away, so the sweeper does not hand the chat straight back.
    away_on_unanswered: bool = True
    # An agent with no console socket open anywhere gets no new chats; after this long she goes offline and her
    # assigned chats go back to the queue. A socket opened again within it, on any replica, changes nothing.
    presence_grace_s: float = PRESENCE_GRACE_S
    # A console socket not renewed for this long counts as closed (its process died).
    console_ttl_s: float = CONSOLE_TTL_S
    # The customer's tier in the queue order: a head start (s) per tier, and the tiers with a dedicated queue.
    tier_head_start_s: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_TIER_HEAD_START_S))
    dedicated_tiers: frozenset[str] = DEFAULT_DEDICATED_TIERS


def group_for(category: str, settings: RoutingSettings) -> str:
    return settings.category_groups.get(category, GENERAL_GROUP) if category else GENERAL_GROUP


def head_start_for(tier: str, settings: RoutingSettings) -> float:
    """The tier's head start in seconds (0 for an unknown tier or one the settings leave out)."""
    return float(settings.tier_head_start_s.get(Tier.parse(tier).value, 0.0))


def choose_skill(
    language: str, category: str, settings: RoutingSettings, served: Collection[str], tier: str = Tier.STANDARD
) -> str:
    """The dedicated queue for a dedicated tier, else the category's skill queue, if some registered agent serves
    it; else the language's general queue.

    Checking registered (not online) agents keeps a chat in its specialist queue through a shift change instead of
    spilling it into general the moment the specialists log off.
    """
    if Tier.parse(tier).value in settings.dedicated_tiers and skill_of(language, VIP_GROUP) in served:
        return skill_of(language, VIP_GROUP)
    skill = skill_of(language, group_for(category, settings))
    return skill if skill in served else general_skill(language)


async def route_to_agent(
    store: HandoffStore,
    conversation_id: str,
    now: float,
    agent_id: str = ANY_AGENT,
    *,
    expect_version: int | None = None,
    avoid_agent: str | None = None,
) -> OwnershipRecord | None:
    """queued → assigned: to `agent_id`, or by default to the least-loaded, longest-idle available agent who serves
    the conversation's queue. None when it is no longer queued, or nobody (or not that agent) can take it."""
    return await store.apply(
        Transition(
            conversation_id,
            _S.ASSIGNED,
            frozenset({_S.QUEUED}),
            now,
            agent=agent_id,
            expect_version=expect_version,
            avoid_agent=avoid_agent,
        )
    )


async def pull_next(store: HandoffStore, agent_id: str, now: float) -> OwnershipRecord | None:
    """The agent takes the best waiting case across every queue they serve (priority, then longest wait), in one
    atomic step: the store picks and assigns together, so two agents pulling at once never get the same case."""
    return await store.pull(agent_id, now)


async def assign_waiting(store: HandoffStore, now: float, limit: int = 1000) -> list[OwnershipRecord]:
    """Assign queue heads to available agents until no queue has both a waiting chat and a free agent."""
    assigned: list[OwnershipRecord] = []
    lengths = await store.lengths()
    for skill in sorted(lengths, key=lambda s: s):
        for _ in range(lengths[skill]):
            if len(assigned) >= limit:
                return assigned
            head = await store.head(skill, 1)
            if not head:
                break
            record = await route_to_agent(store, head[0].conversation_id, now)
            if record is None:
                # Either nobody is free for this queue (stop) or another process took the head (try the next).
                still = await store.head(skill, 1)
                if still and still[0].conversation_id == head[0].conversation_id:
                    break
                continue
            assigned.append(record)
    return assigned


async def transfer_to_agent(
    store: HandoffStore, conversation_id: str, from_agent: str, to_agent: str, note: str, now: float
) -> OwnershipRecord | None:
    """assigned → assigned: only the current owner may hand over, and only to an online agent with a free slot."""
    return await store.apply(
        Transition(
            conversation_id,
            _S.ASSIGNED,
            frozenset({_S.ASSIGNED}),
            now,
            expect_agent=from_agent,
            agent=to_agent,
            event=OwnershipEvent(
                EventKind.TRANSFER, now, from_agent, note, {"from_agent": from_agent, "to_agent": to_agent}
            ),
        )
    )


async def transfer_to_queue(
    store: HandoffStore, conversation_id: str, from_agent: str, skill: str, note: str, now: float
) -> OwnershipRecord | None:
    """assigned → queued (another skill, or the same one): keeps the original wait so it is not sent to the back."""
    return await store.apply(
        Transition(
            conversation_id,
            _S.QUEUED,
            frozenset({_S.ASSIGNED}),
            now,
            expect_agent=from_agent,
            skill=skill,
            keep_enqueued_at=True,
            event=OwnershipEvent(
                EventKind.TRANSFER, now, from_agent, note, {"from_agent": from_agent, "to_queue": skill}
            ),
        )
    )


async def requeue_unanswered(
    store: HandoffStore, now: float, settings: RoutingSettings
) -> list[tuple[OwnershipRecord, OwnershipRecord]]:
    """The sweeper the app runs every few seconds: assignments unanswered past the timeout go back to the queue.

    Compare-and-set on the version read here, so an agent's reply that lands meanwhile wins and the chat stays.
    Returns (before, after) pairs so the caller can tell the agent who lost it.
    """
    moved: list[tuple[OwnershipRecord, OwnershipRecord]] = []
    for conversation_id in await store.unanswered_before(now - settings.unanswered_timeout_s):
        before = await store.get(conversation_id)
        if before is None or before.state is not _S.ASSIGNED or before.last_agent_reply_at is not None:
            continue
        after = await store.apply(
            Transition(
                conversation_id,
                _S.QUEUED,
                frozenset({_S.ASSIGNED}),
                now,
                expect_agent=before.agent_id,
                expect_version=before.version,
                keep_enqueued_at=True,
                event=OwnershipEvent(
                    EventKind.NOTE, now, "system", "", {"cause": "unanswered", "agent_id": before.agent_id}
                ),
            )
        )
        if after is not None:
            moved.append((before, after))
    return moved


async def finish_stale_wrap_ups(
    store: HandoffStore, now: float, settings: RoutingSettings
) -> list[tuple[OwnershipRecord, OwnershipRecord]]:
    moved: list[tuple[OwnershipRecord, OwnershipRecord]] = []
    for conversation_id in await store.wrap_up_before(now - settings.wrap_up_timeout_s):
        before = await store.get(conversation_id)
        if before is None or before.state is not _S.WRAP_UP:
            continue
        after = await store.apply(
            Transition(conversation_id, _S.BOT, frozenset({_S.WRAP_UP}), now, expect_version=before.version)
        )
        if after is not None:
            moved.append((before, after))
    return moved


def owns(record: OwnershipRecord | None, agent_id: str) -> bool:
    return record is not None and record.state in AGENT_STATES and record.agent_id == agent_id
