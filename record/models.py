"""What a fact of the service process is: one `ServiceEvent`, its kind, who did it, what it is about.

The kinds are declared once, here (`ServiceEventKind`); each says in its comment who emits it and what its `data` holds.
Values are stable codes and typed values (epoch seconds, booleans, numbers), never translated labels, so a report
reads the same in any language and years later. Must never do I/O or import another domain package: the packages
that emit facts import this one.
"""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from enum import StrEnum
from typing import Any, Protocol

CUSTOMER = "customer"
BOT = "bot"
SYSTEM = "system"
AGENT_PREFIX = "agent:"


def agent_actor(username: str) -> str:
    """`agent_actor("ann")` → `"agent:ann"`: the actor of a fact an agent caused."""
    return f"{AGENT_PREFIX}{username}"


class ServiceEventKind(StrEnum):
    """Every fact the record keeps. Each comment names the emitter, the actor and `data`'s keys; ids and dimensions
    (conversation, customer, ticket, agent, channel, language, category, priority, team, queue) are columns, filled
    wherever the emitter knows them. Times in `data` are epoch seconds (UTC), durations `*_s` seconds."""

    # Conversations (`conversations.store.ConversationStore`).
    CONVERSATION_OPENED = "conversation_opened"  # customer; {}
    CONVERSATION_CLOSED = "conversation_closed"  # customer|system; once per conversation: {"cause": "customer"|
    # "idle", "opened_at", "last_customer_at"}. The "closed" of a conversation; an agent ending a live chat
    # is `wrap_up`.
    # The pipeline (`bot.pipeline.ConversationPipeline`): every customer message, and every turn Rasa answered.
    CUSTOMER_MESSAGE = "customer_message"  # customer; {"button": bool, "kind": "text"|"image"|…}
    BOT_TURN = "bot_turn"  # bot; {"outcome": "bot"|"handoff"|"bot_error", "intent", "intent_confidence",
    # "kb_decision": "answer"|"clarify"|"not_found"|None, "kb_entry" (best candidate), "kb_confidence", "kb_reason",
    # "kb_query", "kb_runner_up" (the second candidate's confidence), "kb_seq" (the transcript line holding the `kb`
    # payload), "handoff_reason", "rasa_ms"}; category: the handoff's
    KB_FEEDBACK = "kb_feedback"  # customer; {"helpful": bool, "kb_entry", "kb_confidence"} (`actions.feedback`)
    # An agent's verdict on a KB decision shown in the console's transcript (`staff.console`); the last one counts:
    # {"seq" (the transcript line of the `kb` payload, as `bot_turn`'s "kb_seq"), "label": "right"|"wrong"|
    # "handoff" (should have handed off), "kb_entry", "kb_decision", "kb_confidence"}
    KB_LABEL = "kb_label"  # agent:<id>
    # Ownership (`handoff.service.HandoffService`), one per transition; queue: the skill queue ("zh:billing").
    HANDOFF_REQUESTED = "handoff_requested"  # bot; {"reason" (handoff.triggers.ReasonCode), "scores", "tier",
    # "outcome": "queued"|"assigned"|"closed_hours"|"not_allowed", then "first_response_due" (queued, assigned),
    # "next_open_at" (closed_hours) or "duplicate": bool (asked again while queued or assigned, or refused)}
    QUEUED = "queued"  # system|agent:<from>; {"cause": "request"|"unanswered"|"transfer"|"agent_offline", "reason",
    # "tier", "enqueued_at" (kept when requeued), "first_response_due", "position", "eta_s"}
    ASSIGNED = "assigned"  # system (auto)|agent:<id> (claim, pull)|agent:<from> (transfer); {"via", "enqueued_at",
    # "wait_s"}
    AGENT_REPLY = "agent_reply"  # agent:<id>; {"first": bool (the first of this assignment), "assigned_at",
    # "enqueued_at"}. Only the console's replies: a bot message is never one.
    TRANSFERRED = "transferred"  # agent:<from>; agent: the one handing on; {"from_agent", "to_agent", "to_queue"}
    WRAP_UP = "wrap_up"  # agent:<id>; the agent closed the chat (assigned → wrap_up): {"handle_s" (since assigned),
    # "replied": bool, "noted": bool (a resolution note was written)}
    BACK_TO_BOT = "back_to_bot"  # agent:<id>|system; wrap_up → bot: {"cause": "finished"|"timeout", "wrap_up_s"}
    ABANDONED = "abandoned"  # customer (left)|system (silent); queued → abandoned: {"cause", "wait_s"}
    # Tickets (`intake.recording.TicketFacts`, a `TicketStore` listener); ticket, team, category, priority, channel
    # as the ticket stands after the change; agent: the staff member acting, else the assignee.
    TICKET_CREATED = "ticket_created"  # bot|agent:<id>; {"urgency", "first_response_due", "resolution_due",
    # "order": bool (an order number was given)}
    TICKET_STATUS = "ticket_status"  # any; every status change: {"from", "to", "auto"?, "merged"?}
    TICKET_FIRST_RESPONSE = "ticket_first_response"  # agent:<id>; the first public reply: {"due", "created_at"}
    TICKET_REPLY = "ticket_reply"  # agent:<id>; every later public reply: {}
    TICKET_RESOLVED = "ticket_resolved"  # any; {"due", "created_at", "first_responded_at"}
    TICKET_REOPENED = "ticket_reopened"  # customer|agent:<id>; resolved → open: {"resolution_due"} (the new clock)
    TICKET_ASSIGNED = "ticket_assigned"  # agent:<id>|system; agent: the new assignee; {"from", "to"} (None: nobody)
    TICKET_TRANSFERRED = "ticket_transferred"  # agent:<id>|system; {"from", "to"} team ids
    TICKET_PRIORITY = "ticket_priority"  # agent:<id>|system; {"from", "to"}
    # Satisfaction surveys (`conversations.surveys.SurveyStore`): after a live chat, and the follow-up of a ticket.
    SURVEY_SENT = "survey_sent"  # bot; agent: the chat's; {"survey", "follow_up": bool}
    SURVEY_ANSWERED = "survey_answered"  # customer; {"survey", "answer": "solved"|"score"|"comment", "solved"?,
    # "score"? (1–5), "comment"?}; a second rating of one survey is a second event: the last one counts


class _EventIds:
    """UUIDv7 strings (RFC 9562): a 48-bit millisecond timestamp, then a 12-bit counter that keeps ids made in the
    same millisecond in order (method 1 of §6.2), then 62 random bits. They sort as they were made in this process,
    and two processes never make the same one."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._counter = 0

    def __call__(self) -> str:
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms = ms
                self._counter = int.from_bytes(os.urandom(2)) & 0x7FF  # leaves room to count up
            else:
                self._counter += 1
                if self._counter > 0xFFF:  # 4096 in one millisecond: borrow the next one
                    self._last_ms += 1
                    self._counter = 0
            ms, counter = self._last_ms, self._counter
        value = (ms & 0xFFFFFFFFFFFF) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62
        value |= int.from_bytes(os.urandom(8)) & 0x3FFFFFFFFFFFFFFF
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


new_event_id = _EventIds()

# The columns besides id, at, kind, actor and data: filtered on without reading JSON.
ID_COLUMNS = ("conversation_id", "customer_id", "ticket", "agent")
DIMENSIONS = ("channel", "language", "category", "priority", "team", "queue")


def _clean(value: str | None) -> str | None:
    """ "" reads as unknown (NULL), so counts of distinct ids never count an empty one; PostgreSQL refuses NUL."""
    if value is None:
        return None
    text = str(value).replace("\x00", "")
    return text or None


@dataclass(frozen=True, kw_only=True)
class ServiceEvent:
    """One fact: `kind` happened `at` (epoch seconds, UTC), caused by `actor` ("customer", "bot", "system" or
    "agent:<username>"), about the ids and dimensions given (None: not known to the emitter), with `data` (plain
    JSON values). `id` is made when the event is, so writing it twice stores it once."""

    kind: ServiceEventKind
    at: float
    actor: str
    id: str = field(default_factory=new_event_id)
    conversation_id: str | None = None
    customer_id: str | None = None
    ticket: str | None = None
    agent: str | None = None
    channel: str | None = None
    language: str | None = None
    category: str | None = None
    priority: str | None = None
    team: str | None = None
    queue: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", ServiceEventKind(self.kind))
        object.__setattr__(self, "at", float(self.at))
        for name in (*ID_COLUMNS, *DIMENSIONS):
            object.__setattr__(self, name, _clean(getattr(self, name)))

    def to_row(self) -> dict[str, Any]:
        """The `service_events` row. Never raises for odd data: a value JSON cannot hold is written as its text."""
        row = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "data"}
        row["kind"] = self.kind.value
        row["actor"] = _clean(self.actor) or SYSTEM
        row["data"] = json.dumps(dict(self.data), ensure_ascii=False, sort_keys=True, default=str)
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> ServiceEvent:
        return cls(
            id=row["id"],
            kind=ServiceEventKind(row["kind"]),
            at=float(row["at"]),
            actor=row["actor"],
            data=json.loads(row["data"] or "{}"),
            **{name: row[name] for name in (*ID_COLUMNS, *DIMENSIONS)},
        )

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        return out | {"kind": self.kind.value, "data": dict(self.data)}


class Recorder(Protocol):
    """Where emitters send facts (`record.writer.RecordWriter`; `MemoryRecorder` in tests). `emit` returns at once,
    never awaits storage and never raises into the caller."""

    def emit(self, *events: ServiceEvent) -> None: ...


class MemoryRecorder:
    """Keeps what is emitted in a list: for tests of the emitters, and wherever no record is wanted."""

    def __init__(self) -> None:
        self.events: list[ServiceEvent] = []

    def emit(self, *events: ServiceEvent) -> None:
        self.events.extend(events)

    def of(self, kind: ServiceEventKind) -> list[ServiceEvent]:
        return [e for e in self.events if e.kind is kind]
