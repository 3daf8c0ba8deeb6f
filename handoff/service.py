"""HandoffService: the one facade the front door, the Rasa actions and the agent console call.

Owns the order of operations for every handoff use case (check hours, choose a queue, apply the atomic
transition, try to assign, publish what changed) and the events on the bus. Every transition is also a fact of the
service record (`record.EventKind`: handoff_requested, queued, assigned, agent_reply, transferred, wrap_up,
back_to_bot, abandoned), emitted to the `recorder` once the transition has happened, by the replica that made it.
Must never render pages or talk to Rasa; must never change ownership except through the store's atomic transitions.

Events (all JSON objects; every one has "type", "at" (epoch s) and, where it concerns one conversation,
"conversation_id" and "version" — the ownership version after the change, so a console drops stale events):

topic "handoff" (every console: queue and supervisor views)
  {"type": "queued", "conversation_id", "skill", "priority", "tier", "reason",
   "cause": "request"|"unanswered"|"transfer"|"agent_offline",
   "position", "length", "eta_s", "version", "at"}
  {"type": "assigned", "conversation_id", "agent_id", "skill", "via": "auto"|"claim"|"pull"|"transfer",
   "version", "at"}
  {"type": "transferred", "conversation_id", "from_agent", "to_agent", "to_queue", "note", "version", "at"}
  {"type": "wrap_up", "conversation_id", "agent_id", "version", "at"}
  {"type": "bot_resumed", "conversation_id", "cause": "wrap_up_finished", "version", "at"}
  {"type": "abandoned", "conversation_id", "cause": "left"|"silent", "version", "at"}
  {"type": "agent_presence", "agent_id", "presence", "load", "capacity", "disconnected_at", "at"}
    (disconnected_at: when her last console closed, epoch s; null while one is open)

topic "agent:{agent_id}" (that agent's inbox)
  {"type": "assigned", "conversation_id", "via", "record": OwnershipRecord.to_dict(), "version", "at"}
  {"type": "unassigned", "conversation_id", "cause": "unanswered"|"transferred"|"wrap_up_finished"|"agent_offline",
   "version", "at"}
  {"type": "wrap_up", "conversation_id", "version", "at"}
  {"type": "customer_message", "conversation_id", "message": {...as given}, "at"}

topic "conv:{conversation_id}" (what the customer's widget shows)
  {"type": "queue_position", "conversation_id", "position", "length", "eta_s", "version", "at"}
  {"type": "agent_joined", "conversation_id", "agent_id", "display_name", "version", "at"}
  {"type": "agent_left", "conversation_id", "cause": "transferred"|"unanswered"|"closed"|"agent_offline",
   "version", "at"}
  {"type": "bot_back", "conversation_id", "ask_satisfaction": bool, "version", "at"}
  {"type": "closed_hours", "conversation_id", "next_open_at", "at"}  (next_open_at: epoch s, or null)
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from backends.bus import EventBus
from conversations.models import Tier
from handoff import routing
from handoff.agents import AgentProfile, AgentStatus, Presence, online_count
from handoff.constants import BUS_TOPIC_AGENT, BUS_TOPIC_ALL, BUS_TOPIC_CONVERSATION
from handoff.exceptions import UnknownAgent
from handoff.ownership import AGENT_STATES, EventKind, OwnershipEvent, OwnershipRecord, OwnershipState, Transition
from handoff.queue import QueuePosition, estimate_wait_s
from handoff.routing import RoutingSettings
from handoff.store import HandoffStore
from handoff.triggers import HandoffTrigger
from intake.models import Priority
from intake.sla import epoch_to_utc
from record import BOT, CUSTOMER, SYSTEM, Recorder, ServiceEvent, ServiceEventKind, agent_actor

_S = OwnershipState


class OutcomeStatus(StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    CLOSED_HOURS = "closed_hours"  # outside business hours: create a ticket and promise a reply instead
    NOT_ALLOWED = "not_allowed"  # the conversation is in wrap-up: it cannot queue now


@dataclass(frozen=True)
class HandoffOutcome:
    status: OutcomeStatus
    record: OwnershipRecord | None = None
    position: QueuePosition | None = None  # set when queued
    agent_id: str = ""  # set when assigned
    next_open_at: float | None = None  # set when closed_hours (None: the calendar knows no next opening)
    duplicate: bool = False  # it was already queued or assigned; nothing changed


@dataclass(frozen=True)
class QueueSnapshot:
    skill: str
    length: int
    oldest_wait_s: float | None
    agents_online: int
    agents_available: int
    eta_s: float | None  # for a conversation joining now

    def to_dict(self) -> dict[str, Any]:
        return {
            "skill": self.skill,
            "length": self.length,
            "oldest_wait_s": self.oldest_wait_s,
            "agents_online": self.agents_online,
            "agents_available": self.agents_available,
            "eta_s": self.eta_s,
        }


@dataclass(frozen=True)
class SupervisorSnapshot:
    at: float
    queues: list[QueueSnapshot]
    agents: list[AgentStatus]
    at_risk: list[str] = field(default_factory=list)  # conversation ids, nearest deadline first

    def to_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "queues": [q.to_dict() for q in self.queues],
            "agents": [a.to_dict() for a in self.agents],
            "at_risk": list(self.at_risk),
        }


class HandoffService:
    """Facade over a HandoffStore and an EventBus. Lost races return None/False; unknown agents raise UnknownAgent.

    `clock` returns epoch seconds; tests pass a fake one so timeouts need no sleeping.
    """

    def __init__(
        self,
        store: HandoffStore,
        bus: EventBus,
        settings: RoutingSettings | None = None,
        clock: Callable[[], float] = time.time,
        recorder: Recorder | None = None,
    ) -> None:
        self.store = store
        self.bus = bus
        self.settings = settings or RoutingSettings()
        self.clock = clock
        self.recorder = recorder
        self._served: tuple[float, set[str]] | None = None
        self._names: dict[str, tuple[float, str]] = {}

    # customer side ---------------------------------------------------------------------------------------------

    async def request_handoff(
        self,
        conversation_id: str,
        customer_id: str,
        language: str,
        category: str = "",
        priority: Priority | str = Priority.NORMAL,
        trigger: HandoffTrigger | None = None,
        context: Mapping[str, Any] | None = None,
        first_response_due: float | None = None,
        tier: str = "standard",
        asked_at: float | None = None,
    ) -> HandoffOutcome:
        """Queue the conversation for a human (bot → queued) and, if someone is free, assign it at once.

        `asked_at` (epoch s): when the customer asked, for a request kept while the live state was unreachable
        (`handoff.pending`); the first-response clock starts then. Default: now.

        The customer's `tier` (conversations.models.Tier) orders the queue within the priority (its head start) and
        may choose a dedicated queue (`RoutingSettings.dedicated_tiers`); see handoff/routing.py.

        Outside the calendar's opening hours nothing changes and the outcome is CLOSED_HOURS with the next opening
        time: the caller creates a ticket and promises a reply. Asking again while queued or assigned is a no-op
        (`duplicate=True`). The more urgent of `priority` and the trigger's suggested priority wins.

        The record keeps its first-response due time: now + the priority's target on the business calendar, or
        `first_response_due` (the ticket's promise, epoch s) when that is sooner, so console and ticket agree.
        """
        now = self.clock()
        calendar = self.settings.calendar
        chosen = Priority.parse(priority)
        if trigger is not None and trigger.priority.urgency > chosen.urgency:
            chosen = trigger.priority
        tier = Tier.parse(tier).value
        asked = {
            "conversation_id": conversation_id,
            "customer_id": customer_id,
            "language": language,
            "category": category,
            "priority": chosen.value,
            "channel": str((context or {}).get("channel") or ""),
            "reason": trigger.reason.value if trigger else "",
            "scores": dict(trigger.scores) if trigger else {},
            "tier": tier,
        }
        if not calendar.is_open(epoch_to_utc(now)):
            opening = calendar.next_open(epoch_to_utc(now))
            next_open = opening.timestamp() if opening is not None else None
            await self._publish(
                BUS_TOPIC_CONVERSATION.format(conversation_id=conversation_id),
                {"type": "closed_hours", "conversation_id": conversation_id, "next_open_at": next_open, "at": now},
            )
            self._record_request(now, asked, OutcomeStatus.CLOSED_HOURS, next_open_at=next_open)
            return HandoffOutcome(OutcomeStatus.CLOSED_HOURS, next_open_at=next_open)
        skill = routing.choose_skill(language, category, self.settings, await self._served_skills(now), tier)
        fields = {
            "customer_id": customer_id,
            "tier": tier,
            "language": language,
            "category": category,
            "reason": trigger.reason.value if trigger else "",
            "scores": json.dumps(dict(trigger.scores) if trigger else {}, sort_keys=True),
            "context": json.dumps(dict(context or {}), ensure_ascii=False, sort_keys=True, default=str),
        } | self._first_response_clock(chosen, now if asked_at is None else min(now, asked_at), first_response_due)
        # Queue and (if someone is free) assign in one atomic step; a customer served at once never sees "you are #1".
        record = await self.store.apply(
            Transition(
                conversation_id,
                _S.QUEUED,
                frozenset({_S.BOT, _S.ABANDONED}),
                now,
                skill=skill,
                priority=chosen.value,
                head_start_s=routing.head_start_for(tier, self.settings),
                fields=fields,
                assign_after=self.settings.assign_on_enqueue,
                event=OwnershipEvent(
                    EventKind.TRIGGER,
                    now,
                    "bot",
                    trigger.details if trigger else "",
                    {
                        "reason": trigger.reason.value if trigger else "",
                        "scores": dict(trigger.scores) if trigger else {},
                    },
                ),
            )
        )
        if record is None:
            existing = await self._existing_outcome(conversation_id)
            self._record_request(now, asked, existing.status, duplicate=existing.duplicate)
            return existing
        self._record_request(
            now, asked, OutcomeStatus(record.state.value), first_response_due=record.first_response_due
        )
        if record.state is _S.ASSIGNED:
            # Queued and assigned in one atomic step: the record still has both facts, with no wait between them.
            facts = self._queued_facts(record, "request", None)
            self._record(ServiceEventKind.QUEUED, record, SYSTEM, agent="", **facts)
            await self._announce_assigned(record, "auto")
            return HandoffOutcome(OutcomeStatus.ASSIGNED, record=record, agent_id=record.agent_id)
        position = await self._position(record)
        await self._announce_queued(record, "request", position)
        return HandoffOutcome(OutcomeStatus.QUEUED, record=record, position=position)

    async def state_of(self, conversation_id: str) -> OwnershipRecord | None:
        """The ownership record; None means the bot owns it and it was never handed off."""
        return await self.store.get(conversation_id)

    async def position_of(self, conversation_id: str) -> QueuePosition | None:
        """Where a waiting conversation stands (1 = next) and its estimated wait; None if it is not queued."""
        record = await self.store.get(conversation_id)
        if record is None or record.state is not _S.QUEUED:
            return None
        return await self._position(record)

    async def abandon(self, conversation_id: str, cause: str = "left", seen_before: float | None = None) -> bool:
        """queued → abandoned: the customer left the queue, `cause` "left" (closed the chat) or "silent" (no message
        and no open chat window since `seen_before`; a sign of life after that keeps them queued). The bot answers
        their next message, and asking for a human again queues them afresh."""
        now = self.clock()
        record = await self.store.apply(
            Transition(
                conversation_id,
                _S.ABANDONED,
                frozenset({_S.QUEUED}),
                now,
                seen_before=seen_before,
                event=OwnershipEvent(EventKind.ABANDON, now, "customer", "", {"cause": cause}),
            )
        )
        if record is None:
            return False
        wait_s = max(0.0, now - record.enqueued_at) if record.enqueued_at is not None else None
        self._record(
            ServiceEventKind.ABANDONED, record, CUSTOMER if cause == "left" else SYSTEM, cause=cause, wait_s=wait_s
        )
        await self._publish(BUS_TOPIC_ALL, self._event("abandoned", record, cause=cause))
        return True

    async def customer_seen(self, conversation_id: str) -> None:
        """The customer wrote, or has the chat open: a queued conversation is not silent. A no-op in other states."""
        await self.store.mark_customer_seen(conversation_id, self.clock())

    async def customers_seen(self, conversation_ids: Sequence[str]) -> None:
        """`customer_seen` for many conversations at once (every chat window open on a replica), in one round trip."""
        await self.store.mark_customers_seen(conversation_ids, self.clock())

    async def abandon_silent(
        self,
        silent_s: float,
        now: float | None = None,
        limit_of: Callable[[str], Awaitable[float]] | None = None,
    ) -> list[str]:
        """The sweeper: queued conversations whose customer has given no sign of life for `silent_s` are abandoned.
        `limit_of(conversation_id)` may give some a longer limit (a channel that cannot show an open chat window).
        Returns the abandoned ids."""
        at = self.clock() if now is None else now
        candidates = await self.store.silent_before(at - silent_s)
        limits = {c: max(silent_s, await limit_of(c)) if limit_of is not None else silent_s for c in candidates}
        # One index read per distinct limit, so customers with a longer one cost nothing until it runs out.
        past = {silent_s: set(candidates)}
        for limit in set(limits.values()) - {silent_s}:
            past[limit] = set(await self.store.silent_before(at - limit))
        left = []
        for conversation_id in candidates:
            limit = limits[conversation_id]
            if conversation_id in past[limit] and await self.abandon(conversation_id, "silent", seen_before=at - limit):
                left.append(conversation_id)
        return left

    async def notify_customer_message(self, conversation_id: str, message: Mapping[str, Any]) -> bool:
        """Forward a customer's message to the owning agent's inbox; False when no agent owns the conversation."""
        record = await self.store.get(conversation_id)
        if record is None or record.state not in AGENT_STATES:
            return False
        await self._publish(
            BUS_TOPIC_AGENT.format(agent_id=record.agent_id),
            {
                "type": "customer_message",
                "conversation_id": conversation_id,
                "message": dict(message),
                "at": self.clock(),
            },
        )
        return True

    # agent side ------------------------------------------------------------------------------------------------

    async def register_agent(self, profile: AgentProfile) -> AgentStatus:
        """Create or update an agent; a new agent starts offline. Presence and load survive updates."""
        self._served = None
        self._names.pop(profile.id, None)
        return await self.store.upsert_agent(profile, self.clock())

    async def set_presence(self, agent_id: str, presence: Presence) -> AgentStatus | None:
        """online / away / offline. Online offers the agent waiting work at once. Away keeps their chats but takes no
        new ones. Offline (logged out) also returns their assigned chats to the queue, keeping each one's wait, and
        offers them to other agents; chats in wrap-up stay until finished or swept."""
        now = self.clock()
        status = await self.store.set_presence(agent_id, presence, now)
        if status is None:
            raise UnknownAgent(agent_id)
        await self._publish_presence(status, now)
        if presence is Presence.ONLINE:
            await self._offer_work(agent_id)
        elif presence is Presence.OFFLINE:
            await self._release_chats(status)
        return await self.store.get_agent(agent_id) or status

    async def console_opened(self, agent_id: str, socket_id: str) -> None:
        """A console socket of the agent opened, on any process (`socket_id`: unique across them). If she was gone
        from every console, within the presence grace period, she is back as she was: her presence as she set it,
        her chats, and routing offers her new ones again. Online, she is offered waiting work at once. Raises
        UnknownAgent."""
        before = await self._agent(agent_id)
        await self.console_heartbeat(agent_id, socket_id)
        if before.disconnected_at is not None:
            await self._publish_presence(await self._agent(agent_id), self.clock())
        if before.presence is Presence.ONLINE:
            await self._offer_work(agent_id)

    async def console_heartbeat(self, agent_id: str, socket_id: str) -> bool:
        """The open socket is still there: it counts for `console_ttl_s` more (call every CONSOLE_HEARTBEAT_S). False
        when the store no longer knows the agent (the live state was lost): register her again."""
        now = self.clock()
        return await self.store.console_opened(agent_id, socket_id, now, now + self.settings.console_ttl_s)

    async def console_closed(self, agent_id: str, socket_id: str) -> None:
        """The console socket closed. If none of hers is left open anywhere, she gets no new chats from now on and
        keeps hers for `presence_grace_s`; `offline_disconnected` (the sweeper) sets her offline once it has passed
        with no console opened again. Closing a socket twice changes nothing."""
        now = self.clock()
        if await self.store.console_closed(agent_id, socket_id, now):
            status = await self.store.get_agent(agent_id)
            if status is not None:
                await self._publish_presence(status, now)

    async def offline_disconnected(self, now: float | None = None) -> list[str]:
        """The sweeper, run by every process: console sockets whose process stopped renewing them close, and agents
        with no console open anywhere for `presence_grace_s` go offline, their assigned chats back to the queue as
        with an explicit offline. The store's atomic step hands each agent to one caller only. Returns the agents
        set offline."""
        at = self.clock() if now is None else now
        for agent_id in await self.store.expire_consoles(at):
            status = await self.store.get_agent(agent_id)
            if status is not None:
                await self._publish_presence(status, at)
        offline = await self.store.expire_presence(at - self.settings.presence_grace_s, at)
        for agent_id in offline:
            status = await self.store.get_agent(agent_id)
            if status is not None:
                await self._publish_presence(status, at)
                await self._release_chats(status)
        return offline

    async def claim(self, conversation_id: str, agent_id: str) -> bool:
        """queued → assigned to this agent (picked from the console). False if someone else got it first or the agent
        is not online with a free slot."""
        now = self.clock()
        record = await routing.route_to_agent(self.store, conversation_id, now, agent_id)
        if record is None:
            return False
        await self._announce_assigned(record, "claim")
        return True

    async def pull_next(self, agent_id: str) -> OwnershipRecord | None:
        """The agent takes the best waiting conversation across the queues they serve; None if none (or no slot)."""
        record = await routing.pull_next(self.store, agent_id, self.clock())
        if record is None:
            await self._agent(agent_id)  # an unknown agent is an error, not an empty queue
            return None
        await self._announce_assigned(record, "pull")
        return record

    async def auto_assign(self) -> list[OwnershipRecord]:
        """Assign every waiting conversation that has a free eligible agent. Run after bulk changes or periodically;
        single enqueues and agents coming free are already handled as they happen."""
        records = await routing.assign_waiting(self.store, self.clock())
        for record in records:
            await self._announce_assigned(record, "auto")
        return records

    async def record_agent_reply(self, conversation_id: str, agent_id: str) -> bool:
        """The owning agent answered: the assignment no longer times out. False if they do not own it (assigned).

        Only agents' replies come here (the console's), so a bot message is never recorded as an agent reply."""
        before = await self.store.get(conversation_id) if self.recorder is not None else None
        record = await self.store.mark_agent_reply(conversation_id, agent_id, self.clock())
        if record is None:
            return False
        self._record(
            ServiceEventKind.AGENT_REPLY,
            record,
            agent_actor(agent_id),
            at=record.last_agent_reply_at,
            first=before is None or before.last_agent_reply_at is None,
            assigned_at=record.assigned_at,
            enqueued_at=record.enqueued_at,
        )
        return True

    async def transfer(
        self,
        conversation_id: str,
        from_agent: str,
        *,
        to_agent: str | None = None,
        to_queue: str | None = None,
        note: str = "",
    ) -> OwnershipRecord | None:
        """Hand the conversation to another agent (assigned → assigned) or a skill queue (assigned → queued), with a
        note for whoever picks it up. Exactly one of to_agent / to_queue. None if from_agent does not own it or the
        target agent is not online with a free slot (the conversation then stays with from_agent)."""
        if (to_agent is None) == (to_queue is None):
            raise ValueError("give exactly one of to_agent or to_queue")
        now = self.clock()
        if to_agent is not None:
            record = await routing.transfer_to_agent(self.store, conversation_id, from_agent, to_agent, note, now)
        else:
            assert to_queue is not None
            record = await routing.transfer_to_queue(self.store, conversation_id, from_agent, to_queue, note, now)
        if record is None:
            return None
        by = agent_actor(from_agent)
        self._record(
            ServiceEventKind.TRANSFERRED,
            record,
            by,
            agent=from_agent,
            from_agent=from_agent,
            to_agent=to_agent,
            to_queue=to_queue,
        )
        await self._publish(
            BUS_TOPIC_ALL,
            self._event(
                "transferred",
                record,
                from_agent=from_agent,
                to_agent=to_agent or "",
                to_queue=to_queue or "",
                note=note,
            ),
        )
        await self._unassigned(from_agent, record, "transferred")
        if to_agent is not None:
            await self._announce_assigned(record, "transfer", by)
        else:
            await self._publish(
                BUS_TOPIC_CONVERSATION.format(conversation_id=conversation_id),
                self._event("agent_left", record, cause="transferred"),
            )
            position = await self._position(record)
            await self._announce_queued(record, "transfer", position, by)
            if self.settings.assign_on_enqueue:
                assigned = await routing.route_to_agent(
                    self.store, conversation_id, now, expect_version=record.version, avoid_agent=from_agent
                )
                if assigned is not None:
                    await self._announce_assigned(assigned, "auto")
                    record = assigned
        if record.state is _S.ASSIGNED:
            # Only once the case has a new owner: offered earlier, from_agent could pull straight back what they
            # just handed on (if they serve that queue too).
            await self._offer_work(from_agent)
        return record

    async def close(self, conversation_id: str, agent_id: str, resolution_note: str = "") -> OwnershipRecord | None:
        """assigned → wrap_up: the agent is done talking. The chat still counts toward their load until
        `finish_wrap_up` (or the wrap-up timeout). Records the handling time for wait estimates."""
        now = self.clock()
        record = await self.store.apply(
            Transition(
                conversation_id,
                _S.WRAP_UP,
                frozenset({_S.ASSIGNED}),
                now,
                expect_agent=agent_id,
                event=OwnershipEvent(EventKind.RESOLUTION, now, agent_id, resolution_note),
            )
        )
        if record is None:
            return None
        self._record(
            ServiceEventKind.WRAP_UP,
            record,
            agent_actor(agent_id),
            handle_s=max(0.0, now - record.assigned_at) if record.assigned_at is not None else None,
            replied=record.last_agent_reply_at is not None,
            noted=bool(resolution_note.strip()),
        )
        if record.assigned_at is not None:
            await self.store.record_handling_time(record.skill, max(0.0, now - record.assigned_at))
        await self._publish(BUS_TOPIC_ALL, self._event("wrap_up", record, agent_id=agent_id))
        await self._publish(BUS_TOPIC_AGENT.format(agent_id=agent_id), self._event("wrap_up", record))
        await self._publish(
            BUS_TOPIC_CONVERSATION.format(conversation_id=conversation_id),
            self._event("agent_left", record, cause="closed"),
        )
        return record

    async def finish_wrap_up(self, conversation_id: str, agent_id: str | None = None) -> OwnershipRecord | None:
        """wrap_up → bot: the agent's slot frees and the bot resumes (and asks for satisfaction)."""
        now = self.clock()
        before = await self.store.get(conversation_id)
        if before is None:
            return None
        record = await self.store.apply(
            Transition(
                conversation_id,
                _S.BOT,
                frozenset({_S.WRAP_UP}),
                now,
                expect_agent=agent_id,
                expect_version=before.version,
            )
        )
        if record is None:
            return None
        self._record_back_to_bot(before, record, "finished", agent_actor(agent_id) if agent_id else SYSTEM)
        await self._unassigned(before.agent_id, record, "wrap_up_finished")
        await self._bot_back(record, "wrap_up_finished", ask_satisfaction=True)
        await self._offer_work(before.agent_id)
        return record

    async def requeue_unanswered(self, now: float | None = None) -> list[OwnershipRecord]:
        """The sweeper (run every few seconds): assignments not answered within `unanswered_timeout_s` go back to the
        queue keeping their original wait; their agent is set away (if configured); stale wrap-ups are finished.
        Returns the requeued records."""
        at = self.clock() if now is None else now
        moved = await routing.requeue_unanswered(self.store, at, self.settings)
        for before, after in moved:
            await self._unassigned(before.agent_id, after, "unanswered")
            await self._publish(
                BUS_TOPIC_CONVERSATION.format(conversation_id=after.conversation_id),
                self._event("agent_left", after, cause="unanswered"),
            )
            await self._announce_queued(after, "unanswered", await self._position(after))
            if self.settings.away_on_unanswered:
                status = await self.store.set_presence(before.agent_id, Presence.AWAY, at)
                if status is not None:
                    await self._publish_presence(status, at)
        for before, after in await routing.finish_stale_wrap_ups(self.store, at, self.settings):
            self._record_back_to_bot(before, after, "timeout", SYSTEM)
            await self._unassigned(before.agent_id, after, "wrap_up_finished")
            await self._bot_back(after, "wrap_up_finished", ask_satisfaction=True)
        requeued = [after for _, after in moved]
        if requeued and self.settings.assign_on_enqueue:
            await self.auto_assign()
        return requeued

    # views -----------------------------------------------------------------------------------------------------

    async def agent_inbox(self, agent_id: str) -> list[OwnershipRecord]:
        """The conversations the agent owns (assigned and in wrap-up), oldest assignment first."""
        agent = await self._agent(agent_id)
        records = await self.store.get_many(list(agent.chats))
        return sorted(records, key=lambda r: (r.assigned_at or r.updated_at, r.conversation_id))

    async def queue_snapshot(self) -> list[QueueSnapshot]:
        """Every skill queue with its length, oldest wait, agents online/available and the ETA for a newcomer."""
        now = self.clock()
        agents = await self.store.list_agents()
        out = []
        for skill, length in (await self.store.lengths()).items():
            oldest = await self.store.oldest_enqueued_at(skill)
            online = online_count(agents, skill)
            out.append(
                QueueSnapshot(
                    skill=skill,
                    length=length,
                    oldest_wait_s=None if oldest is None else max(0.0, now - oldest),
                    agents_online=online,
                    agents_available=sum(1 for a in agents if a.available and a.profile.serves(skill)),
                    eta_s=estimate_wait_s(length + 1, await self.store.handling_times(skill), online),
                )
            )
        return out

    async def supervisor_snapshot(self, conversation_ids: Collection[str] | None = None) -> SupervisorSnapshot:
        """Queues, agents (load, presence, idle since) and, of the given conversations, those still waiting for a
        first reply (queued, or assigned and unanswered) that are at risk by the SLA policy's rule — past the warning
        time stored when they were queued — nearest due time first."""
        now = self.clock()
        queues = await self.queue_snapshot()
        agents = await self.store.list_agents()
        at_risk: list[OwnershipRecord] = []
        if conversation_ids:
            for r in await self.store.get_many(list(conversation_ids)):
                waiting = r.state is _S.QUEUED or (r.state is _S.ASSIGNED and r.last_agent_reply_at is None)
                warning = r.first_response_warning_at or r.first_response_due
                if waiting and warning is not None and now >= warning:
                    at_risk.append(r)
        at_risk.sort(key=lambda r: (r.first_response_due or 0.0, r.conversation_id))
        return SupervisorSnapshot(at=now, queues=queues, agents=agents, at_risk=[r.conversation_id for r in at_risk])

    def _first_response_clock(self, priority: Priority, now: float, promised: float | None) -> dict[str, str]:
        """The record fields of a chat's first-response clock, from the one SLA policy."""
        sla = self.settings.sla
        start = epoch_to_utc(now)
        due = sla.first_response_due(priority, start)
        if promised is not None and promised < due.timestamp():
            due = epoch_to_utc(promised)
        warning = sla.warning_at(priority, start, due)
        return {"first_response_due": str(due.timestamp()), "first_response_warning_at": str(warning.timestamp())}

    # internals -------------------------------------------------------------------------------------------------

    async def _release_chats(self, agent: AgentStatus) -> None:
        for before in await self.store.get_many(list(agent.chats)):
            if before.state is not _S.ASSIGNED or before.agent_id != agent.id:
                continue
            after = await self.store.apply(
                Transition(
                    before.conversation_id,
                    _S.QUEUED,
                    frozenset({_S.ASSIGNED}),
                    self.clock(),
                    expect_agent=agent.id,
                    keep_enqueued_at=True,
                    event=OwnershipEvent(
                        EventKind.NOTE, self.clock(), "system", "", {"cause": "agent_offline", "agent_id": agent.id}
                    ),
                )
            )
            if after is None:
                continue
            await self._unassigned(agent.id, after, "agent_offline")
            await self._publish(
                BUS_TOPIC_CONVERSATION.format(conversation_id=after.conversation_id),
                self._event("agent_left", after, cause="agent_offline"),
            )
            await self._announce_queued(after, "agent_offline", await self._position(after))
            if self.settings.assign_on_enqueue:
                assigned = await routing.route_to_agent(
                    self.store, after.conversation_id, self.clock(), expect_version=after.version
                )
                if assigned is not None:
                    await self._announce_assigned(assigned, "auto")

    async def _served_skills(self, now: float) -> set[str]:
        # Read on every handoff; the set only grows and a new specialist can wait `directory_cache_s` to be seen.
        if self._served is None or now - self._served[0] > self.settings.directory_cache_s or now < self._served[0]:
            self._served = (now, await self.store.served_skills())
        return self._served[1]

    async def _display_name(self, agent_id: str, now: float) -> str:
        cached = self._names.get(agent_id)
        if cached is None or now - cached[0] > self.settings.directory_cache_s or now < cached[0]:
            agent = await self.store.get_agent(agent_id)
            cached = (now, agent.profile.display_name if agent else "")
            self._names[agent_id] = cached
        return cached[1]

    async def _agent(self, agent_id: str) -> AgentStatus:
        agent = await self.store.get_agent(agent_id)
        if agent is None:
            raise UnknownAgent(agent_id)
        return agent

    async def _offer_work(self, agent_id: str) -> None:
        """An agent came free (online, slot released): give them the best waiting case, if auto-assign is on."""
        if not self.settings.assign_on_enqueue:
            return
        while (record := await routing.pull_next(self.store, agent_id, self.clock())) is not None:
            await self._announce_assigned(record, "auto")

    async def _existing_outcome(self, conversation_id: str) -> HandoffOutcome:
        record = await self.store.get(conversation_id)
        if record is not None and record.state is _S.QUEUED:
            return HandoffOutcome(OutcomeStatus.QUEUED, record, await self._position(record), duplicate=True)
        if record is not None and record.state is _S.ASSIGNED:
            return HandoffOutcome(OutcomeStatus.ASSIGNED, record, agent_id=record.agent_id, duplicate=True)
        return HandoffOutcome(OutcomeStatus.NOT_ALLOWED, record)

    async def _position(self, record: OwnershipRecord) -> QueuePosition | None:
        found = await self.store.position(record.conversation_id, record.skill)
        if found is None:
            return None
        position, length = found
        online = await self.store.count_online(record.skill)
        handling = await self.store.handling_times(record.skill)
        return QueuePosition(record.skill, position, length, estimate_wait_s(position, handling, online))

    def _event(self, kind: str, record: OwnershipRecord, /, **extra: Any) -> dict[str, Any]:
        return {
            "type": kind,
            "conversation_id": record.conversation_id,
            **extra,
            "version": record.version,
            "at": record.updated_at,
        }

    async def _publish(self, topic: str, event: dict[str, Any]) -> None:
        await self.bus.publish(topic, event)

    async def _publish_all(self, *events: tuple[str, dict[str, Any]]) -> None:
        # One after another on purpose: publishing them concurrently was no faster on a busy 2-core host and took
        # one Redis connection per event, so a burst of handoffs exhausted redis-py's (non-blocking) pool.
        for topic, event in events:
            await self.bus.publish(topic, event)

    async def _publish_presence(self, status: AgentStatus, now: float) -> None:
        await self._publish(
            BUS_TOPIC_ALL,
            {
                "type": "agent_presence",
                "agent_id": status.id,
                "presence": status.presence.value,
                "load": status.load,
                "capacity": status.profile.capacity,
                "disconnected_at": status.disconnected_at,
                "at": now,
            },
        )

    async def _announce_queued(
        self, record: OwnershipRecord, cause: str, position: QueuePosition | None, actor: str = SYSTEM
    ) -> None:
        self._record(ServiceEventKind.QUEUED, record, actor, **self._queued_facts(record, cause, position))
        where = {
            "position": position.position if position else None,
            "length": position.length if position else None,
            "eta_s": position.eta_s if position else None,
        }
        queued = self._event(
            "queued",
            record,
            skill=record.skill,
            priority=record.priority,
            tier=record.tier,
            reason=record.reason,
            cause=cause,
            **where,
        )
        await self._publish_all(
            (BUS_TOPIC_ALL, queued),
            (
                BUS_TOPIC_CONVERSATION.format(conversation_id=record.conversation_id),
                self._event("queue_position", record, **where),
            ),
        )

    async def _announce_assigned(self, record: OwnershipRecord, via: str, actor: str | None = None) -> None:
        waited = record.assigned_at is not None and record.enqueued_at is not None
        self._record(
            ServiceEventKind.ASSIGNED,
            record,
            actor or (agent_actor(record.agent_id) if via in ("claim", "pull") else SYSTEM),
            via=via,
            enqueued_at=record.enqueued_at,
            wait_s=max(0.0, (record.assigned_at or 0.0) - (record.enqueued_at or 0.0)) if waited else None,
        )
        display_name = await self._display_name(record.agent_id, record.updated_at)
        await self._publish_all(
            (BUS_TOPIC_ALL, self._event("assigned", record, agent_id=record.agent_id, skill=record.skill, via=via)),
            (
                BUS_TOPIC_AGENT.format(agent_id=record.agent_id),
                self._event("assigned", record, via=via, record=record.to_dict()),
            ),
            (
                BUS_TOPIC_CONVERSATION.format(conversation_id=record.conversation_id),
                self._event("agent_joined", record, agent_id=record.agent_id, display_name=display_name),
            ),
        )

    async def _unassigned(self, agent_id: str, record: OwnershipRecord, cause: str) -> None:
        if agent_id:
            await self._publish(
                BUS_TOPIC_AGENT.format(agent_id=agent_id), self._event("unassigned", record, cause=cause)
            )

    # the service record ------------------------------------------------------------------------------------------

    def _record(
        self,
        kind: ServiceEventKind,
        record: OwnershipRecord,
        actor: str,
        *,
        at: float | None = None,
        agent: str | None = None,
        **data: Any,
    ) -> None:
        """One fact about `record`'s conversation, with the ids and dimensions the record knows (`agent`: the agent
        it is about, when not the record's own; "" for none)."""
        if self.recorder is None:
            return
        self.recorder.emit(
            ServiceEvent(
                kind=kind,
                at=record.updated_at if at is None else at,
                actor=actor,
                conversation_id=record.conversation_id,
                customer_id=record.customer_id,
                agent=record.agent_id if agent is None else agent,
                channel=str(record.context.get("channel") or ""),
                language=record.language,
                category=record.category,
                priority=record.priority,
                queue=record.skill,
                data=data,
            )
        )

    def _record_request(self, now: float, asked: Mapping[str, Any], outcome: OutcomeStatus, **data: Any) -> None:
        if self.recorder is None:
            return
        self.recorder.emit(
            ServiceEvent(
                kind=ServiceEventKind.HANDOFF_REQUESTED,
                at=now,
                actor=BOT,
                conversation_id=asked["conversation_id"],
                customer_id=asked["customer_id"],
                channel=asked["channel"],
                language=asked["language"],
                category=asked["category"],
                priority=asked["priority"],
                data={
                    "reason": asked["reason"],
                    "scores": asked["scores"],
                    "tier": asked["tier"],
                    "outcome": outcome.value,
                    **data,
                },
            )
        )

    @staticmethod
    def _queued_facts(record: OwnershipRecord, cause: str, position: QueuePosition | None) -> dict[str, Any]:
        return {
            "cause": cause,
            "reason": record.reason,
            "tier": record.tier,
            "enqueued_at": record.enqueued_at,
            "first_response_due": record.first_response_due,
            "position": position.position if position else None,
            "eta_s": position.eta_s if position else None,
        }

    def _record_back_to_bot(self, before: OwnershipRecord, after: OwnershipRecord, cause: str, actor: str) -> None:
        started = before.wrap_up_at
        self._record(
            ServiceEventKind.BACK_TO_BOT,
            after,
            actor,
            agent=before.agent_id,
            cause=cause,
            wrap_up_s=max(0.0, after.updated_at - started) if started is not None else None,
        )

    async def _bot_back(self, record: OwnershipRecord, cause: str, *, ask_satisfaction: bool) -> None:
        await self._publish(BUS_TOPIC_ALL, self._event("bot_resumed", record, cause=cause))
        await self._publish(
            BUS_TOPIC_CONVERSATION.format(conversation_id=record.conversation_id),
            self._event("bot_back", record, ask_satisfaction=ask_satisfaction),
        )
