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
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    WAITING_ON_CUSTOMER = "waiting_on_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


# Legal moves only. resolved -> open is the reopen; closed is final.
TRANSITIONS: dict[TicketStatus, frozenset[TicketStatus]] = {
    TicketStatus.OPEN: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.IN_PROGRESS: frozenset({TicketStatus.WAITING_ON_CUSTOMER, TicketStatus.RESOLVED}),
    TicketStatus.WAITING_ON_CUSTOMER: frozenset({TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED, TicketStatus.CLOSED}),
    TicketStatus.RESOLVED: frozenset({TicketStatus.CLOSED, TicketStatus.OPEN}),
    TicketStatus.CLOSED: frozenset(),
}

OPEN_STATUSES = (TicketStatus.OPEN, TicketStatus.IN_PROGRESS, TicketStatus.WAITING_ON_CUSTOMER)


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

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("category", "urgency", "priority", "status"):
            value = getattr(self, key)
            data[key] = value.value if value is not None else None
        return data


@dataclass(frozen=True)
class StatusChange:
    """One history row: who moved the ticket, when, and why."""

    number: str
    seq: int
    from_status: TicketStatus | None
    to_status: TicketStatus
    actor: str
    note: str
    at: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "number": self.number,
            "seq": self.seq,
            "from_status": self.from_status.value if self.from_status else None,
            "to_status": self.to_status.value,
            "actor": self.actor,
            "note": self.note,
            "at": self.at,
        }
