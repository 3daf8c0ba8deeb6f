"""MemoryHandoffStore: ownership, queues and agents in one process's memory.

The single-process default and the reference the Redis store must match (the contract tests run over both).
Every change happens under one asyncio lock with no await inside, so each transition is atomic. Must never be
shared between processes: use RedisHandoffStore for that.
"""

from __future__ import annotations

import asyncio
import bisect
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from handoff.agents import AgentProfile, AgentStatus, Presence
from handoff.constants import HANDLING_TIMES_KEPT
from handoff.ownership import (
    AGENT_STATES,
    ANY_AGENT,
    OwnershipRecord,
    OwnershipState,
    Transition,
    appended_events,
)
from handoff.queue import QueuedEntry, queue_score

_S = OwnershipState


@dataclass
class _Agent:
    profile: AgentProfile
    presence: Presence = Presence.OFFLINE
    presence_since: float | None = None
    last_assigned_at: float | None = None
    chats: set[str] = field(default_factory=set)
    consoles: dict[str, float] = field(default_factory=dict)  # open console socket id -> expires at (s)
    disconnected_at: float | None = None  # when the last console closed; None while one is open (or none ever was)

    def status(self) -> AgentStatus:
        return AgentStatus(
            profile=self.profile,
            presence=self.presence,
            load=len(self.chats),
            last_assigned_at=self.last_assigned_at,
            presence_since=self.presence_since,
            chats=tuple(sorted(self.chats)),
            disconnected_at=self.disconnected_at,
        )

    def routable(self) -> bool:
        return (
            self.presence is Presence.ONLINE
            and len(self.chats) < self.profile.capacity
            and self.disconnected_at is None
        )

    def close_console(self, socket_id: str, now: float) -> bool:
        """True when that was the last open socket."""
        if self.consoles.pop(socket_id, None) is None or self.consoles:
            return False
        self.disconnected_at = now
        return True

    def available_for(self, skill: str) -> bool:
        return self.routable() and self.profile.serves(skill)

    def rank(self) -> tuple[int, int, str]:
        # Same order as the Redis store's available-agent sorted set: load, then idle-since ms, then id.
        return (len(self.chats), int((self.last_assigned_at or 0.0) * 1000), self.profile.id)


class MemoryHandoffStore:
    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._records: dict[str, OwnershipRecord] = {}
        self._queues: dict[str, list[tuple[int, str]]] = {}
        self._queued_at: dict[str, tuple[str, int]] = {}  # conversation → (skill, score)
        self._agents: dict[str, _Agent] = {}
        self._unanswered: dict[str, float] = {}
        self._wrap_ups: dict[str, float] = {}
        self._seen: dict[str, float] = {}  # queued conversation → customer last seen
        self._handling: dict[str, deque[float]] = {}
        self._served: set[str] = set()  # only grows, as in the Redis store
        self._seeded = False  # a fresh process: its live state is rebuilt from the durable record once

    # ownership -------------------------------------------------------------------------------------------------

    async def get(self, conversation_id: str) -> OwnershipRecord | None:
        return self._records.get(conversation_id)

    async def get_many(self, conversation_ids: list[str]) -> list[OwnershipRecord]:
        return [r for r in (self._records.get(c) for c in conversation_ids) if r is not None]

    async def apply(self, transition: Transition) -> OwnershipRecord | None:
        async with self._lock:
            record = self._apply(transition)
            if record is not None and transition.assign_after:
                assigned = self._apply(
                    Transition(record.conversation_id, _S.ASSIGNED, frozenset({_S.QUEUED}), transition.now)
                )
                record = assigned or record
            return record

    async def pull(self, agent_id: str, now: float) -> OwnershipRecord | None:
        async with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None:
                return None
            heads = [(q[0][0], q[0][1]) for q in (self._queues.get(s) for s in agent.profile.eligible_skills()) if q]
            if not heads:
                return None
            _, cid = min(heads)
            return self._apply(Transition(cid, _S.ASSIGNED, frozenset({_S.QUEUED}), now, agent=agent_id))

    def _apply(self, t: Transition) -> OwnershipRecord | None:
        cid = t.conversation_id
        current = self._records.get(cid) or OwnershipRecord(cid)
        if current.state not in t.allowed_from:
            return None
        if t.expect_agent is not None and current.agent_id != t.expect_agent:
            return None
        if t.expect_version is not None and current.version != t.expect_version:
            return None
        if t.seen_before is not None and (current.customer_seen_at or 0.0) > t.seen_before:
            return None
        fields = current.to_fields()
        fields.update(t.fields)
        if t.event is not None:
            fields["events"] = appended_events(fields.get("events", ""), t.event)
        new_agent: _Agent | None = None
        if t.target is _S.ASSIGNED:
            new_agent = self._pick(t.agent or ANY_AGENT, current, t.avoid_agent or "")
            if new_agent is None:
                return None
        # Leave the old state.
        if current.state is _S.QUEUED:
            self._dequeue(cid)
            self._seen.pop(cid, None)
        if current.state in AGENT_STATES and (t.target not in AGENT_STATES or new_agent is not None):
            old = self._agents.get(current.agent_id)
            if old is not None:
                old.chats.discard(cid)
            self._unanswered.pop(cid, None)
            self._wrap_ups.pop(cid, None)
            fields.update(agent_id="", assigned_at="", last_agent_reply_at="", wrap_up_at="")
        # Enter the new one.
        if t.target is _S.QUEUED:
            skill = t.skill or current.skill
            priority = t.priority or current.priority
            enqueued_at = current.enqueued_at if t.keep_enqueued_at and current.enqueued_at else t.now
            head_start = current.head_start_s if t.head_start_s is None else t.head_start_s
            fields.update(
                skill=skill,
                priority=priority,
                enqueued_at=str(enqueued_at),
                customer_seen_at=str(t.now),
                head_start_s=str(head_start),
            )
            self._seen[cid] = t.now
            score = queue_score(priority, enqueued_at, head_start)
            bisect.insort(self._queues.setdefault(skill, []), (score, cid))
            self._queued_at[cid] = (skill, score)
        elif t.target is _S.ASSIGNED and new_agent is not None:
            new_agent.chats.add(cid)
            new_agent.last_assigned_at = t.now
            self._unanswered[cid] = t.now
            fields.update(agent_id=new_agent.profile.id, assigned_at=str(t.now), last_agent_reply_at="")
        elif t.target is _S.WRAP_UP:
            self._unanswered.pop(cid, None)
            self._wrap_ups[cid] = t.now
            fields.update(wrap_up_at=str(t.now))
        fields.update(state=t.target.value, version=str(current.version + 1), updated_at=str(t.now))
        record = OwnershipRecord.from_fields(cid, fields)
        self._records[cid] = record
        return record

    def _pick(self, agent: str, current: OwnershipRecord, avoid: str) -> _Agent | None:
        if agent == ANY_AGENT:
            candidates = [
                a
                for a in self._agents.values()
                if a.available_for(current.skill) and a.profile.id not in (current.agent_id, avoid)
            ]
            return min(candidates, key=_Agent.rank) if candidates else None
        chosen = self._agents.get(agent)
        if chosen is None or chosen.profile.id == current.agent_id:
            return None
        if not chosen.routable():
            return None
        return chosen

    def _dequeue(self, cid: str) -> None:
        entry = self._queued_at.pop(cid, None)
        if entry is None:
            return
        skill, score = entry
        queue = self._queues[skill]
        index = bisect.bisect_left(queue, (score, cid))
        if index < len(queue) and queue[index] == (score, cid):
            del queue[index]

    async def mark_agent_reply(self, conversation_id: str, agent_id: str, now: float) -> OwnershipRecord | None:
        async with self._lock:
            current = self._records.get(conversation_id)
            if current is None or current.state is not _S.ASSIGNED or current.agent_id != agent_id:
                return None
            fields = current.to_fields()
            fields.update(last_agent_reply_at=str(now), version=str(current.version + 1), updated_at=str(now))
            self._unanswered.pop(conversation_id, None)
            record = OwnershipRecord.from_fields(conversation_id, fields)
            self._records[conversation_id] = record
            return record

    async def unanswered_before(self, assigned_before: float) -> list[str]:
        return [c for c, at in sorted(self._unanswered.items(), key=lambda kv: kv[1]) if at <= assigned_before]

    async def wrap_up_before(self, started_before: float) -> list[str]:
        return [c for c, at in sorted(self._wrap_ups.items(), key=lambda kv: kv[1]) if at <= started_before]

    async def mark_customer_seen(self, conversation_id: str, now: float) -> bool:
        async with self._lock:
            current = self._records.get(conversation_id)
            if current is None or current.state is not _S.QUEUED:
                return False
            self._records[conversation_id] = replace(current, customer_seen_at=now)
            self._seen[conversation_id] = now
            return True

    async def mark_customers_seen(self, conversation_ids: Sequence[str], now: float) -> int:
        return sum([await self.mark_customer_seen(conversation_id, now) for conversation_id in conversation_ids])

    async def silent_before(self, seen_before: float) -> list[str]:
        return [c for c, at in sorted(self._seen.items(), key=lambda kv: (kv[1], kv[0])) if at <= seen_before]

    # queues ----------------------------------------------------------------------------------------------------

    async def skills(self) -> list[str]:
        return sorted(self._queues)

    async def lengths(self) -> Mapping[str, int]:
        return {skill: len(queue) for skill, queue in sorted(self._queues.items())}

    async def head(self, skill: str, count: int = 1) -> list[QueuedEntry]:
        return [QueuedEntry(cid, skill, score) for score, cid in self._queues.get(skill, [])[:count]]

    async def heads(self, skills: Sequence[str]) -> list[QueuedEntry]:
        return [QueuedEntry(self._queues[s][0][1], s, self._queues[s][0][0]) for s in skills if self._queues.get(s)]

    async def position(self, conversation_id: str, skill: str) -> tuple[int, int] | None:
        entry = self._queued_at.get(conversation_id)
        if entry is None or entry[0] != skill:
            return None
        queue = self._queues[skill]
        return bisect.bisect_left(queue, (entry[1], conversation_id)) + 1, len(queue)

    async def oldest_enqueued_at(self, skill: str) -> float | None:
        # The queue's order is not arrival order (a tier's head start), so look at every entry's arrival.
        times = [r.enqueued_at for _, cid in self._queues.get(skill, []) if (r := self._records.get(cid)) is not None]
        return min((t for t in times if t is not None), default=None)

    async def record_handling_time(self, skill: str, seconds: float) -> None:
        self._handling.setdefault(skill, deque(maxlen=HANDLING_TIMES_KEPT)).appendleft(seconds)

    async def handling_times(self, skill: str) -> list[float]:
        return list(self._handling.get(skill, ()))

    # agents ----------------------------------------------------------------------------------------------------

    async def upsert_agent(self, profile: AgentProfile, now: float) -> AgentStatus:
        async with self._lock:
            agent = self._agents.get(profile.id)
            if agent is None:
                agent = self._agents[profile.id] = _Agent(profile, presence_since=now)
            else:
                agent.profile = profile
            self._served.update(profile.eligible_skills())
            return agent.status()

    async def get_agent(self, agent_id: str) -> AgentStatus | None:
        agent = self._agents.get(agent_id)
        return agent.status() if agent is not None else None

    async def list_agents(self) -> list[AgentStatus]:
        return [self._agents[a].status() for a in sorted(self._agents)]

    async def count_online(self, skill: str) -> int:
        return sum(1 for a in self._agents.values() if a.presence is Presence.ONLINE and a.profile.serves(skill))

    async def served_skills(self) -> set[str]:
        return set(self._served)

    async def set_presence(self, agent_id: str, presence: Presence, now: float) -> AgentStatus | None:
        async with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None:
                return None
            if agent.presence is not presence:
                agent.presence = presence
                agent.presence_since = now
            return agent.status()

    async def console_opened(self, agent_id: str, socket_id: str, now: float, expires_at: float) -> bool:
        async with self._lock:
            agent = self._agents.get(agent_id)
            if agent is None:
                return False
            agent.consoles[socket_id] = expires_at
            agent.disconnected_at = None
            return True

    async def console_closed(self, agent_id: str, socket_id: str, now: float) -> bool:
        async with self._lock:
            agent = self._agents.get(agent_id)
            return agent is not None and agent.close_console(socket_id, now)

    async def expire_consoles(self, now: float) -> list[str]:
        async with self._lock:
            gone = []
            for agent in self._agents.values():
                for sid in [sid for sid, expires_at in agent.consoles.items() if expires_at <= now]:
                    if agent.close_console(sid, now):
                        gone.append(agent.profile.id)
            return sorted(gone)

    async def expire_presence(self, disconnected_before: float, now: float) -> list[str]:
        async with self._lock:
            due = sorted(
                (a.disconnected_at, a.profile.id)
                for a in self._agents.values()
                if a.disconnected_at is not None and a.disconnected_at <= disconnected_before
            )
            offline = []
            for _, agent_id in due:
                agent = self._agents[agent_id]
                agent.disconnected_at = None
                if agent.presence is not Presence.OFFLINE:
                    agent.presence, agent.presence_since = Presence.OFFLINE, now
                    offline.append(agent_id)
            return offline

    async def is_seeded(self) -> bool:
        return self._seeded

    async def mark_seeded(self) -> None:
        self._seeded = True

    async def close(self) -> None:
        return None
