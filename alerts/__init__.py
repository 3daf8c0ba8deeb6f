"""Staff alerts: short notices for a member or everyone in a role ("Ticket FD-000123 missed its SLA"), shown by the
staff pages' bell. Writers (the SLA watcher) call `AlertStore.add`; the staff program lists and marks them read.
Imports no web code."""

from alerts.exceptions import AlertError, InvalidAlert
from alerts.models import (
    AGENTS,
    KPI_BREACH_TITLE,
    SLA_TITLES,
    SUPERVISORS,
    Alert,
    AlertKind,
    recipients_of,
    render,
    role_recipient,
    sla_title,
)
from alerts.store import DEFAULT_LIMIT, MAX_AGE_S, MAX_LIMIT, AlertStore

__all__ = [
    "AGENTS",
    "DEFAULT_LIMIT",
    "KPI_BREACH_TITLE",
    "MAX_AGE_S",
    "MAX_LIMIT",
    "SLA_TITLES",
    "SUPERVISORS",
    "Alert",
    "AlertError",
    "AlertKind",
    "AlertStore",
    "InvalidAlert",
    "recipients_of",
    "render",
    "role_recipient",
    "sla_title",
]
