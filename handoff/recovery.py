"""Ownership as the durable service record tells it, and the live state rebuilt from it after Redis lost it.

The live state (queues, assignments, agent presence in Redis or memory) is a cache; every ownership transition is
also a fact of the service record (`queued`, `assigned`, `wrap_up`, `back_to_bot`, `abandoned`), written by
`HandoffService`. `fold` replays those facts into who owns each conversation now; `recorded_owner` answers for
one conversation while the live state cannot be reached (the bot must stay silent while an agent owns it), and
`rebuild` puts every open handoff back into an empty live state: queued conversations in their queues (oldest
first, their skill, priority, tier head start and first-response due time kept; their wait counts from the
rebuild), assigned ones with their agents, wrap-ups in wrap-up. An agent who owns a chat and whom the live state
lost is registered with her profile and set away: she keeps her chats and gets no new ones until she sets herself
online (her presence is not in the record, and flooding an agent who was away is worse than waiting for one who was
online). Her console counts as open for one lease: her open console's heartbeat keeps it so, and without one she
goes offline after the lease and the grace period, her chats back to the queue, as after any lost console.

Must never write facts to the record (the rebuild is not a transition anyone made) nor publish events; it changes
ownership only through the store's atomic transitions.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, replace

from handoff.agents import AgentProfile, Presence
from handoff.ownership import EventKind, OwnershipEvent, OwnershipState, Transition
from handoff.routing import RoutingSettings, head_start_for
from handoff.store import HandoffStore
from intake.models import Priority
from intake.sla import epoch_to_utc
from record import MAX_LIMIT, EventQuery, ServiceEvent, ServiceEventKind, ServiceRecord

log = logging.getLogger(__name__)

_S = OwnershipState
_K = ServiceEventKind

# The facts that change who owns a conversation (a transfer is followed by the `assigned` or `queued` it led to).
OWNERSHIP_KINDS = (_K.QUEUED, _K.ASSIGNED, _K.WRAP_UP, _K.BACK_TO_BOT, _K.ABANDONED)
# How far back the rebuild looks for open handoffs: older ones are long abandoned or closed by the sweeper.
REBUILD_HORIZON_S = 7 * 24 * 3600.0
# The console socket id that stands for an agent's console until her own heartbeat is seen again.
REBUILT_CONSOLE = "rebuilt"


@dataclass(frozen=True)
class RecordedOwner:
    """Who owns a conversation per the record: `state` is queued, assigned or wrap_up (the others are the bot's)."""

    conversation_id: str
    state: OwnershipState
    at: float  # the last fact's time, epoch s
    agent_id: str = ""
    skill: str = ""
    priority: str = "normal"
    customer_id: str = ""
    language: str = ""
    category: str = ""
    channel: str = ""
    tier: str = "standard"
    reason: str = ""
    enqueued_at: float | None = None
    first_response_due: float | None = None


def _float(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def fold(events: Iterable[ServiceEvent]) -> dict[str, RecordedOwner]:
    """The open handoffs after `events` (oldest first): conversation id → its owner; conversations back with the bot
    or abandoned are left out."""
    owners: dict[str, RecordedOwner] = {}
    for event in events:
        cid = event.conversation_id
        if not cid:
            continue
        kind = ServiceEventKind(event.kind)
        if kind in (_K.BACK_TO_BOT, _K.ABANDONED):
            owners.pop(cid, None)
            continue
        before = owners.get(cid) or RecordedOwner(cid, _S.QUEUED, event.at)
        data = event.data
        if kind is _K.QUEUED:
            owners[cid] = replace(
                before,
                state=_S.QUEUED,
                at=event.at,
                agent_id="",
                skill=event.queue or before.skill,
                priority=event.priority or before.priority,
                customer_id=event.customer_id or before.customer_id,
                language=event.language or before.language,
                category=event.category or before.category,
                channel=event.channel or before.channel,
                tier=str(data.get("tier") or before.tier),
                reason=str(data.get("reason") or before.reason),
                enqueued_at=_float(data.get("enqueued_at")) or event.at,
                first_response_due=_float(data.get("first_response_due")) or before.first_response_due,
            )
        elif kind in (_K.ASSIGNED, _K.WRAP_UP):
            owners[cid] = replace(
                before,
                state=_S.ASSIGNED if kind is _K.ASSIGNED else _S.WRAP_UP,
                at=event.at,
                agent_id=event.agent or before.agent_id,
                skill=event.queue or before.skill,
                customer_id=event.customer_id or before.customer_id,
                language=event.language or before.language,
                channel=event.channel or before.channel,
            )
    return owners


async def _read_all(record: ServiceRecord, query: EventQuery) -> list[ServiceEvent]:
    events: list[ServiceEvent] = []
    while True:
        page = await record.read(query, limit=MAX_LIMIT)
        events += page
        if len(page) < MAX_LIMIT:
            return events
        query = replace(query, after=(page[-1].at, page[-1].id))


async def recorded_owner(record: ServiceRecord, conversation_id: str) -> RecordedOwner | None:
    """The conversation's owner per the record; None when the bot owns it (never handed off, or back)."""
    events = await _read_all(record, EventQuery(kinds=OWNERSHIP_KINDS, conversation_id=conversation_id))
    return fold(events).get(conversation_id)


async def rebuild(
    store: HandoffStore,
    record: ServiceRecord,
    settings: RoutingSettings,
    profile_of: Callable[[str], Awaitable[AgentProfile]],
    now: float,
) -> list[RecordedOwner]:
    """Puts every open handoff of the last REBUILD_HORIZON_S per the record into `store` that the store does not
    hold, oldest first; returns those put back. `profile_of(agent_id)` gives an owning agent's profile (the SQL
    profiles). Safe to run twice at once: a conversation the store already holds is left alone."""
    events = await _read_all(record, EventQuery(since=now - REBUILD_HORIZON_S, kinds=OWNERSHIP_KINDS))
    owners = sorted(fold(events).values(), key=lambda o: (o.enqueued_at or o.at, o.conversation_id))
    rebuilt: list[RecordedOwner] = []
    returned: set[str] = set()  # agents the live state had lost: online while their chats go back, then away
    for owner in owners:
        if await store.get(owner.conversation_id) is not None:
            continue
        if owner.agent_id and await _agent_lost(store, settings, profile_of, owner.agent_id, now):
            returned.add(owner.agent_id)
        if await _put_back(store, settings, owner, now):
            rebuilt.append(owner)
    for agent_id in sorted(returned):
        await store.set_presence(agent_id, Presence.AWAY, now)
    log.info("live state rebuilt from the service record", extra={"conversations": len(rebuilt)})
    return rebuilt


async def _agent_lost(
    store: HandoffStore,
    settings: RoutingSettings,
    profile_of: Callable[[str], Awaitable[AgentProfile]],
    agent_id: str,
    now: float,
) -> bool:
    """Registers the agent if the store lost her, online (so her chats can be assigned back) with a console for one
    lease; True when she was lost (see the module's docstring). An agent the store still knows is left as she is."""
    status = await store.get_agent(agent_id)
    if status is not None and status.presence is not Presence.OFFLINE:
        return False
    if status is None:
        await store.upsert_agent(await profile_of(agent_id), now)
    await store.set_presence(agent_id, Presence.ONLINE, now)
    await store.console_opened(agent_id, REBUILT_CONSOLE, now, now + settings.console_ttl_s)
    return True


async def _put_back(store: HandoffStore, settings: RoutingSettings, owner: RecordedOwner, now: float) -> bool:
    note = OwnershipEvent(EventKind.NOTE, now, "system", "", {"cause": "rebuilt", "state": owner.state.value})
    fields = {
        "customer_id": owner.customer_id,
        "tier": owner.tier,
        "language": owner.language,
        "category": owner.category,
        "reason": owner.reason,
        "context": json.dumps({"channel": owner.channel}, sort_keys=True),
    }
    if owner.first_response_due is not None:
        due = epoch_to_utc(owner.first_response_due)
        start = epoch_to_utc(owner.enqueued_at or owner.at)
        warning = settings.sla.warning_at(Priority.parse(owner.priority), start, due)
        fields |= {"first_response_due": str(due.timestamp()), "first_response_warning_at": str(warning.timestamp())}
    queued = await store.apply(
        Transition(
            owner.conversation_id,
            _S.QUEUED,
            frozenset({_S.BOT, _S.ABANDONED}),
            now,
            skill=owner.skill,
            priority=owner.priority,
            head_start_s=head_start_for(owner.tier, settings),
            fields=fields,
            event=note,
        )
    )
    if queued is None or owner.state is _S.QUEUED:
        return queued is not None
    assigned = await store.apply(
        Transition(owner.conversation_id, _S.ASSIGNED, frozenset({_S.QUEUED}), now, agent=owner.agent_id)
    )
    if assigned is None:
        log.warning("a rebuilt chat stays queued: its agent has no free slot", extra={"agent_id": owner.agent_id})
        return True
    if owner.state is _S.WRAP_UP:
        await store.apply(
            Transition(owner.conversation_id, _S.WRAP_UP, frozenset({_S.ASSIGNED}), now, expect_agent=owner.agent_id)
        )
    return True
