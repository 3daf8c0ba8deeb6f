"""Issue intake: order numbers and lookup, category/urgency suggestion, the priority + SLA policy, and tickets."""

from intake.classification import CategorySuggestion, IssueClassifier, UrgencySuggestion
from intake.exceptions import (
    IllegalTransition,
    IntakeError,
    InvalidOrderNumber,
    InvalidSettings,
    OrderLookupFailed,
    TicketNotFound,
)
from intake.models import (
    OPEN_STATUSES,
    TRANSITIONS,
    Category,
    Priority,
    StatusChange,
    Ticket,
    TicketDraft,
    TicketStatus,
    Urgency,
    can_transition,
)
from intake.orders import (
    DEMO_ORDERS,
    DemoOrderLookup,
    HttpOrderLookup,
    Order,
    OrderItem,
    OrderLookup,
    OrderNumberFormat,
    OrderStatus,
    Product,
)
from intake.priority import PriorityDecision, PriorityPolicy, SlaDeadlines, add_business_time, format_deadline
from intake.settings import BusinessHours, IntakeSettings, SlaTarget
from intake.tickets import StatusListener, TicketFilter, TicketStore

__all__ = [
    "DEMO_ORDERS",
    "OPEN_STATUSES",
    "TRANSITIONS",
    "BusinessHours",
    "Category",
    "CategorySuggestion",
    "DemoOrderLookup",
    "HttpOrderLookup",
    "IllegalTransition",
    "IntakeError",
    "IntakeSettings",
    "InvalidOrderNumber",
    "InvalidSettings",
    "IssueClassifier",
    "Order",
    "OrderItem",
    "OrderLookup",
    "OrderLookupFailed",
    "OrderNumberFormat",
    "OrderStatus",
    "Priority",
    "PriorityDecision",
    "PriorityPolicy",
    "Product",
    "SlaDeadlines",
    "SlaTarget",
    "StatusChange",
    "StatusListener",
    "Ticket",
    "TicketDraft",
    "TicketFilter",
    "TicketNotFound",
    "TicketStatus",
    "TicketStore",
    "Urgency",
    "UrgencySuggestion",
    "add_business_time",
    "can_transition",
    "format_deadline",
]
