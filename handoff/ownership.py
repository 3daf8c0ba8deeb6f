"""Who owns a conversation right now: the bot, a queue, one agent, or nobody any more.

Owns the ownership state machine, the per-conversation record and the `Transition` that every backend applies
atomically. Must never do I/O or pick agents: stores apply transitions, routing decides which ones to ask for.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any, Protocol

from handoff.constants import MAX_HEAD_START_S
from handoff.exceptions import IllegalTransition


class OwnershipState(StrEnum):
    BOT = "bot"
    QUEUED = "queued"
    ASSIGNED = "assigned"
    WRAP_UP = "wrap_up"
    ABANDONED = "abandoned"


_S = OwnershipState

# assigned→assigned is a transfer to another agent. A conversation's ownership never ends: after abandoned or
# wrap-up the bot answers, and a new handoff starts a new round on the same record (its events keep the history).
LEGAL_TRANSITIONS: Mapping[OwnershipState, frozenset[OwnershipState]] = {
    _S.BOT: frozenset({_S.QUEUED}),
    _S.QUEUED: frozenset({_S.ASSIGNED, _S.ABANDONED}),
    _S.ASSIGNED: frozenset({_S.QUEUED, _S.ASSIGNED, _S.WRAP_UP}),
    _S.WRAP_UP: frozenset({_S.BOT}),
    _S.ABANDONED: frozenset({_S.QUEUED}),  # the customer came back and asked for a human again
}

# States in which an agent owns the conversation and it counts toward their load.
AGENT_STATES = frozenset({_S.ASSIGNED, _S.WRAP_UP})


class EventKind(StrEnum):
    """What an `OwnershipEvent` records. Stable codes: stored in the record and read by the console."""

    TRIGGER = "trigger"  # why the bot handed off: reason code, scores, details
    TRANSFER = "transfer"  # an agent handed the chat on: from_agent, to_agent or to_queue, their note
    NOTE = "note"  # the system's note on a move nobody chose: requeued when unanswered or the agent went offline
    RESOLUTION = "resolution"  # the agent closed the chat: their resolution note
    ABANDON = "abandon"  # the customer left the queue: cause ("left" or "silent")


@dataclass(frozen=True)
class OwnershipEvent:
    """One entry of a record's append-only history. `actor` is an agent id, "bot", "customer" or "system"; `data`
    holds the kind's structured fields (plain JSON values)."""

    kind: EventKind
    at: float
    actor: str = ""
    text: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "at": self.at, "actor": self.actor, "text": self.text, "data": dict(self.data)}

    def to_json(self) -> str:
        """The stored form; stores append it to the record's JSON list without re-encoding the older ones."""
        return json.dumps(self.to_dict(), ensure_ascii=False, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> OwnershipEvent:
        return cls(
            kind=EventKind(raw["kind"]),
            at=float(raw["at"]),
            actor=str(raw.get("actor", "")),
            text=str(raw.get("text", "")),
            data=dict(raw.get("data") or {}),
        )


def appended_events(stored: str, event: OwnershipEvent) -> str:
    """The record's stored event list (a JSON array, "" when none) with `event` appended."""
    if not stored or stored == "[]":
        return "[" + event.to_json() + "]"
    return stored[:-1] + "," + event.to_json() + "]"


def is_legal(source: OwnershipState, target: OwnershipState) -> bool:
    return target in LEGAL_TRANSITIONS[source]


@dataclass(frozen=True)
class OwnershipRecord:
    """One conversation's ownership. A conversation never handed off has no record, which reads as `bot`.

    `owner` is the single owner: "bot" (also once abandoned: the bot answers again), "queue:<skill>" or
    "agent:<id>".
    `version` grows by one on every change, so consoles drop stale events and sweepers can compare-and-set.
    """

    conversation_id: str
    state: OwnershipState = OwnershipState.BOT
    customer_id: str = ""
    language: str = ""
    category: str = ""
    skill: str = ""
    priority: str = "normal"
    tier: str = "standard"  # the customer's tier when they asked (conversations.models.Tier value)
    head_start_s: float = 0.0  # the tier's head start in the queue order, fixed when queued
    agent_id: str = ""
    reason: str = ""
    scores: Mapping[str, float] = field(default_factory=dict)
    events: tuple[OwnershipEvent, ...] = ()  # oldest first; only ever appended to
    context: Mapping[str, Any] = field(default_factory=dict)
    enqueued_at: float | None = None
    assigned_at: float | None = None
    last_agent_reply_at: float | None = None
    wrap_up_at: float | None = None
    # Set when queued from the bot, by intake's SLA policy (or the ticket's own promise): stored, never recomputed.
    first_response_due: float | None = None
    first_response_warning_at: float | None = None  # from here on the chat is "at risk" on the supervisor's list
    customer_seen_at: float | None = None  # while queued: the customer's last message or open chat window
    updated_at: float = 0.0
    version: int = 0

    @property
    def owner(self) -> str:
        if self.state in (OwnershipState.BOT, OwnershipState.ABANDONED):
            return "bot"
        if self.state is OwnershipState.QUEUED:
            return f"queue:{self.skill}"
        if self.state in AGENT_STATES:
            return f"agent:{self.agent_id}"
        return ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "conversation_id": self.conversation_id,
            "state": self.state.value,
            "owner": self.owner,
            "customer_id": self.customer_id,
            "language": self.language,
            "category": self.category,
            "skill": self.skill,
            "priority": self.priority,
            "tier": self.tier,
            "head_start_s": self.head_start_s,
            "agent_id": self.agent_id,
            "reason": self.reason,
            "scores": dict(self.scores),
            "events": [e.to_dict() for e in self.events],
            "context": dict(self.context),
            "enqueued_at": self.enqueued_at,
            "assigned_at": self.assigned_at,
            "last_agent_reply_at": self.last_agent_reply_at,
            "wrap_up_at": self.wrap_up_at,
            "first_response_due": self.first_response_due,
            "first_response_warning_at": self.first_response_warning_at,
            "customer_seen_at": self.customer_seen_at,
            "updated_at": self.updated_at,
            "version": self.version,
        }

    def to_fields(self) -> dict[str, str]:
        """Flat string fields, the form both stores keep (a Redis hash, or a dict in memory)."""
        out: dict[str, str] = {}
        for key, value in self.to_dict().items():
            if key in ("conversation_id", "owner"):
                continue
            if key in ("scores", "context"):
                out[key] = json.dumps(value, ensure_ascii=False, sort_keys=True)
            elif key == "events":
                out[key] = "[" + ",".join(e.to_json() for e in self.events) + "]" if self.events else ""
            elif value is None:
                out[key] = ""
            else:
                out[key] = str(value)
        return out

    @classmethod
    def from_fields(cls, conversation_id: str, fields: Mapping[str, str]) -> OwnershipRecord:
        def opt(name: str) -> float | None:
            raw = fields.get(name, "")
            return float(raw) if raw else None

        return cls(
            conversation_id=conversation_id,
            state=OwnershipState(fields.get("state") or "bot"),
            customer_id=fields.get("customer_id", ""),
            language=fields.get("language", ""),
            category=fields.get("category", ""),
            skill=fields.get("skill", ""),
            priority=fields.get("priority") or "normal",
            tier=fields.get("tier") or "standard",
            head_start_s=float(fields.get("head_start_s") or 0.0),
            agent_id=fields.get("agent_id", ""),
            reason=fields.get("reason", ""),
            scores=json.loads(fields.get("scores") or "{}"),
            events=tuple(OwnershipEvent.from_dict(e) for e in json.loads(fields.get("events") or "[]")),
            context=json.loads(fields.get("context") or "{}"),
            enqueued_at=opt("enqueued_at"),
            assigned_at=opt("assigned_at"),
            last_agent_reply_at=opt("last_agent_reply_at"),
            wrap_up_at=opt("wrap_up_at"),
            first_response_due=opt("first_response_due"),
            first_response_warning_at=opt("first_response_warning_at"),
            customer_seen_at=opt("customer_seen_at"),
            updated_at=float(fields.get("updated_at") or 0.0),
            version=int(fields.get("version") or 0),
        )


ANY_AGENT = "*"  # Transition.agent value: the store picks the best available agent for the record's skill.


@dataclass(frozen=True)
class Transition:
    """One atomic compare-and-set on a conversation's ownership, applied by a store in a single step.

    The store checks: current state is in `allowed_from` (no record counts as `bot`), the current agent equals
    `expect_agent` and the version equals `expect_version` when given, and for a move to `assigned` that the new
    agent is online with spare capacity. Then, in the same step, it moves the conversation between queue and
    agents' loads as the states imply (leaving `queued` dequeues; entering it enqueues under `skill` and
    `priority`, and counts as the customer being seen; leaving an agent state frees that agent's slot; entering
    `assigned` takes one), sets `fields` and appends `event`. With `seen_before`, it also checks the customer has
    not been seen since. A queue entry's order is the priority, then the arrival time less `head_start_s` (the
    customer tier's head start; None keeps the record's, so a requeued chat keeps it).
    Any failed check leaves everything as it was and the store returns None.
    """

    conversation_id: str
    target: OwnershipState
    allowed_from: frozenset[OwnershipState]
    now: float
    expect_agent: str | None = None
    expect_version: int | None = None
    agent: str | None = None  # new owner when target is assigned: an agent id or ANY_AGENT
    avoid_agent: str | None = None  # with ANY_AGENT: never this one (who just handed the chat back)
    skill: str | None = None  # queue when target is queued; None keeps the record's skill
    priority: str | None = None  # None keeps the record's priority
    head_start_s: float | None = None  # None keeps the record's head start (seconds, 0..MAX_HEAD_START_S)
    keep_enqueued_at: bool = False  # a requeued chat keeps its place by original wait, not the back of the line
    # With target queued: in the same atomic step, hand it to the best available agent if there is one (one round
    # trip for the common "someone is free" handoff; the result then reads assigned).
    assign_after: bool = False
    fields: Mapping[str, str] = field(default_factory=dict)  # other record fields to set (reason, scores, ...)
    event: OwnershipEvent | None = None  # appended to the record's events in the same step
    seen_before: float | None = None  # only if the customer was last seen (customer_seen_at) at or before this

    def __post_init__(self) -> None:
        for source in self.allowed_from:
            if not is_legal(source, self.target):
                raise IllegalTransition(source.value, self.target.value)
        if self.assign_after and self.target is not OwnershipState.QUEUED:
            raise IllegalTransition(self.target.value, "assigned (assign_after)")
        if "events" in self.fields:
            raise ValueError("events are appended through Transition.event, never overwritten")
        if "head_start_s" in self.fields:
            raise ValueError("a head start is set through Transition.head_start_s: it orders the queue")
        if self.head_start_s is not None and not 0.0 <= self.head_start_s <= MAX_HEAD_START_S:
            raise ValueError(f"head_start_s must be 0..{MAX_HEAD_START_S}")

    def with_fields(self, **fields: str) -> Transition:
        return replace(self, fields={**self.fields, **fields})


class OwnershipStore(Protocol):
    """Reads and atomically changes ownership records."""

    async def get(self, conversation_id: str) -> OwnershipRecord | None: ...

    async def get_many(self, conversation_ids: list[str]) -> list[OwnershipRecord]: ...

    async def apply(self, transition: Transition) -> OwnershipRecord | None:
        """Apply the transition atomically; None when any check failed (a lost race is not an error)."""

    async def pull(self, agent_id: str, now: float) -> OwnershipRecord | None:
        """Atomically assign the agent the best waiting conversation (priority, then wait; ties by id) across the
        queues they serve. None if nothing waits or the agent is unknown, not online, or full."""

    async def mark_agent_reply(self, conversation_id: str, agent_id: str, now: float) -> OwnershipRecord | None:
        """Stamp `last_agent_reply_at` if `agent_id` owns it in `assigned`; it then never counts as unanswered."""

    async def unanswered_before(self, assigned_before: float) -> list[str]:
        """Assigned conversations whose agent has not replied and that were assigned before the given time."""

    async def wrap_up_before(self, started_before: float) -> list[str]:
        """Conversations in wrap-up since before the given time."""

    async def mark_customer_seen(self, conversation_id: str, now: float) -> bool:
        """Stamp `customer_seen_at` if the conversation is queued (no version change: nothing visible changed)."""

    async def mark_customers_seen(self, conversation_ids: Sequence[str], now: float) -> int:
        """`mark_customer_seen` for each of `conversation_ids`, in one round trip; returns how many were queued."""

    async def silent_before(self, seen_before: float) -> list[str]:
        """Queued conversations whose customer was last seen at or before the given time, longest silent first."""
