"""The record's one table, `service_events`: every fact of the service process, appended and never changed.

Declared once on `backends.schema.metadata`; Alembic revisions in `migrations/versions` create and change it. Must
never hold queries: `record.store` does.

The indexes serve the questions reports ask: a time range of some kinds (`kind, at`) or of all (`at`), and one
conversation's, ticket's, customer's or agent's story in order. Ids and dimensions are NULL when not known, so
`count(DISTINCT conversation_id)` counts conversations, never an empty id.
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Table, Text, text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

service_events = Table(
    "service_events",
    metadata,
    # A UUIDv7 made when the event was (record.models.new_event_id): a retried write stores it once.
    Column("id", Text, primary_key=True),
    Column("at", DOUBLE_PRECISION, nullable=False),  # epoch seconds, UTC
    Column("kind", Text, nullable=False),  # record.models.ServiceEventKind
    Column("actor", Text, nullable=False),  # "customer", "bot", "system" or "agent:<username>"
    Column("conversation_id", Text),
    Column("customer_id", Text),
    Column("ticket", Text),  # the ticket's number
    Column("agent", Text),  # the agent's username the fact is about
    Column("channel", Text),
    Column("language", Text),
    Column("category", Text),
    Column("priority", Text),
    Column("team", Text),
    Column("queue", Text),  # the handoff skill queue ("zh:billing")
    Column("data", Text, nullable=False, server_default=text("'{}'")),  # JSON object: the kind's own values
    Index("service_events_kind_at", "kind", "at"),
    Index("service_events_at", "at"),
    Index("service_events_conversation", "conversation_id", "at"),
    Index("service_events_ticket", "ticket", "at"),
    Index("service_events_customer", "customer_id", "at"),
    Index("service_events_agent", "agent", "at"),
)
