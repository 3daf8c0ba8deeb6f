"""Plain values of issue intake: categories, urgency, priority, ticket states, tickets and their history.

Must never do I/O or decide anything: classification, priority and storage live in their own modules. Must never
import handoff: handoff takes `Priority` from here, so this is the one definition both packages share.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Category(StrEnum):
    PRODUCT_FAULT = "product_fault"
    DELIVERY = "delivery"
    REFUND_RETURN = "refund_return"
    BILLING = "billing"
    SERVICE_COMPLAINT = "service_complaint"
    SUGGESTION = "suggestion"


class Urgency(StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"


class Priority(StrEnum):
    """How pressing a ticket or a waiting conversation is; the one priority type of intake and handoff.

    Two orderings, named so they cannot be mixed up: `urgency` (higher is more pressing; intake takes the max of
    several reasons) and `serve_order` (lower is served first; handoff's queue scores). The values are stored in
    tickets and ownership records, and `serve_order` is baked into queued Redis scores: change neither.
    """

    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def urgency(self) -> int:
        """Higher is more pressing: LOW 0, NORMAL 1, HIGH 2, URGENT 3."""
        return _URGENCY[self]

    @property
    def serve_order(self) -> int:
        """Lower is served first: URGENT 0, HIGH 1, NORMAL 2, LOW 3 (the queue score's priority band)."""
        return _MOST_URGENT - _URGENCY[self]

    @classmethod
    def from_urgency(cls, urgency: int) -> Priority:
        """The priority at that `urgency` level, clamped to LOW..URGENT."""
        return _BY_URGENCY[max(0, min(urgency, _MOST_URGENT))]

    @classmethod
    def parse(cls, value: str | Priority | None) -> Priority:
        """Case-insensitive; unknown or missing priorities count as normal rather than failing a customer's handoff."""
        if isinstance(value, Priority):
            return value
        try:
            return cls((value or "normal").lower())
        except ValueError:
            return cls.NORMAL


_URGENCY = {Priority.LOW: 0, Priority.NORMAL: 1, Priority.HIGH: 2, Priority.URGENT: 3}
_BY_URGENCY = {level: priority for priority, level in _URGENCY.items()}
_MOST_URGENT = max(_URGENCY.values())


class TicketStatus(StrEnum):
    """Where a ticket stands. NEW: nobody on our side has touched it; OPEN: being worked; PENDING_CUSTOMER: we wait
    on the customer (the SLA clocks pause); PENDING_INTERNAL: we wait on another team or a supplier (the clocks
    run); RESOLVED: a customer message within `REOPEN_WINDOW_S` reopens it; CLOSED: final."""

    NEW = "new"
    OPEN = "open"
    PENDING_CUSTOMER = "pending_customer"
    PENDING_INTERNAL = "pending_internal"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Legal moves only. resolved -> open is the reopen; closed is final (a duplicate merged away is closed from any
# open status).
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.NEW: frozenset(
        {
            TicketStatus.OPEN,
            TicketStatus.PENDING_CUSTOMER,
            TicketStatus.PENDING_INTERNAL,
            TicketStatus.RESOLVED,
            TicketStatus.CLOSED,
        }
    ),
    TicketStatus.OPEN: frozenset(
        {TicketStatus.PENDING_CUSTOMER, TicketStatus.PENDING_INTERNAL, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING_CUSTOMER: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING_INTERNAL, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.PENDING_INTERNAL: frozenset(
        {TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER, TicketStatus.RESOLVED, TicketStatus.CLOSED}
    ),
    TicketStatus.RESOLVED: frozenset({TicketStatus.OPEN, TicketStatus.CLOSED}),
    TicketStatus.CLOSED: frozenset(),
}

OPEN_STATUSES = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.PENDING_CUSTOMER, TicketStatus.PENDING_INTERNAL)

REOPEN_WINDOW_S = 7 * 24 * 3600.0  # a customer message this soon after resolution reopens the ticket


def can_transition(from_status: TicketStatus, to_status: TicketStatus) -> bool:
    return to_status in TRANSITIONS[from_status]


@dataclass(frozen=True)
class TicketDraft:
    """What the intake form collected; every field may be missing when the form got stuck."""

    customer_id: str
    conversation_id: str = ""
    order_number: str | None = None
    product: str | None = None
    category: Category | None = None
    description: str | None = None
    urgency: Urgency | None = None
    contact: str | None = None
    language: str = "en"
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ticket:
    number: str
    seq: int
    customer_id: str
    conversation_id: str
    order_number: str | None
    product: str | None
    category: Category | None
    description: str | None
    urgency: Urgency | None
    contact: str | None
    language: str
    priority: Priority
    status: TicketStatus
    created_at: float
    updated_at: float
    first_response_due: float
    resolution_due: float
    first_responded_at: float | None = None
    resolved_at: float | None = None
    closed_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    channel: str = ""
    team_id: str | None = None
    assignee: str | None = None
    merged_into: str | None = None
    paused_at: float | None = None  # set while PENDING_CUSTOMER: every SLA clock is stopped
    next_reply_due: float | None = None  # the reply clock: a customer message or a transfer is waiting on us
    reply_clock_started_at: float | None = None
    sla_next_check: float | None = None  # when the SLA watcher must next look at this ticket; None: nothing runs
    # When each clock becomes at risk (the policy's share of its business length), kept beside its due time so a
    # pause or a reopen moves both together.
    first_response_warn_at: float | None = None
    next_reply_warn_at: float | None = None
    resolution_warn_at: float | None = None

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def running_clocks(self) -> list[tuple[str, float | None, float]]:
        """The SLA clocks still running as (metric value, at-risk instant or None if unknown, due) in epoch
        seconds; none while paused or finished."""
        if self.status not in OPEN_STATUSES or self.paused_at is not None:
            return []
        clocks: list[tuple[str, float | None, float]] = []
        if self.first_responded_at is None:
            clocks.append(("first_response", self.first_response_warn_at, self.first_response_due))
        if self.next_reply_due is not None:
            clocks.append(("next_reply", self.next_reply_warn_at, self.next_reply_due))
        clocks.append(("resolution", self.resolution_warn_at, self.resolution_due))
        return clocks

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("category", "urgency", "priority", "status"):
            value = getattr(self, key)
            data[key] = value.value if value is not None else None
        return data


class EventKind(StrEnum):
    """What a timeline entry records."""

    CREATED = "created"
    STATUS = "status"  # data: {"from", "to"}; body: the staff member's note
    NOTE = "note"  # internal: never shown or sent to the customer
    REPLY = "reply"  # public: delivered to the customer on their channel
    CUSTOMER_MESSAGE = "customer_message"
    ASSIGNED = "assigned"  # data: {"from", "to"} usernames (None: unassigned)
    TRANSFERRED = "transferred"  # data: {"from", "to"} team ids; body: why
    MERGED = "merged"  # on the duplicate: data {"into"}
    MERGED_FROM = "merged_from"  # on the target: data {"from"}
    PRIORITY = "priority"  # data: {"from", "to"}
    SLA_AT_RISK = "sla_at_risk"  # data: {"metric", "due"}
    SLA_BREACHED = "sla_breached"  # data: {"metric", "due", "expected"}; public: the customer's apology
    LINKED_CONVERSATION = "linked_conversation"  # data: {"conversation_id"}
    # Staff only, written by the customer-facing side (`record_event`):
    DELIVERY_FAILED = "delivery_failed"  # data: {"channel", "purpose", "event", "error"}; body: the error
    FOLLOW_UP = "follow_up"  # the customer's answer to the follow-up: data {"survey", "answer", "score"?}
    FOLLOW_UP_TASK = "follow_up_task"  # for a supervisor: data {"survey", "reason", "for", "score"?}
    CUSTOMER_MERGED = "customer_merged"  # data: {"from", "to"} customer ids: two customer records became one


@dataclass(frozen=True)
class TicketEvent:
    """One timeline entry. `public` entries are what the customer may see (replies, status changes, the SLA
    apology); everything else, internal notes above all, stays with staff."""

    number: str
    seq: int
    kind: EventKind
    actor: str  # a staff username, "customer", "bot" or "system"
    body: str
    data: dict[str, Any]
    public: bool
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "seq": self.seq,
            "kind": self.kind.value,
            "actor": self.actor,
            "body": self.body,
            "data": self.data,
            "public": self.public,
            "at": self.at,
        }
