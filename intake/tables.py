"""The intake package's tables: the ticket counter, tickets and their status history.

Declared once on `backends.schema.metadata`; Alembic revisions in `migrations/versions` create and change them (the
baseline also seeds the `ticket` counter row). Must never hold queries: `intake.tickets` does.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, ForeignKey, Index, Integer, Table, Text, text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

intake_counters = Table(
    "intake_counters",
    metadata,
    Column("name", Text, primary_key=True),
    Column("value", BigInteger, nullable=False),
)

intake_tickets = Table(
    "intake_tickets",
    metadata,
    Column("number", Text, primary_key=True),
    Column("seq", BigInteger, nullable=False, unique=True),
    Column("customer_id", Text, nullable=False),
    Column("conversation_id", Text, nullable=False, server_default=text("''")),
    Column("order_number", Text),
    Column("product", Text),
    Column("category", Text),
    Column("description", Text),
    Column("urgency", Text),
    Column("contact", Text),
    Column("language", Text, nullable=False, server_default=text("'en'")),
    Column("priority", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    Column("updated_at", DOUBLE_PRECISION, nullable=False),
    Column("first_response_due", DOUBLE_PRECISION, nullable=False),
    Column("resolution_due", DOUBLE_PRECISION, nullable=False),
    Column("first_responded_at", DOUBLE_PRECISION),
    Column("resolved_at", DOUBLE_PRECISION),
    Column("closed_at", DOUBLE_PRECISION),
    Column("extra", Text, nullable=False, server_default=text("'{}'")),
    Index("intake_tickets_customer", "customer_id", "seq"),
    Index("intake_tickets_status", "status", "priority"),
)

intake_ticket_history = Table(
    "intake_ticket_history",
    metadata,
    Column("number", Text, ForeignKey("intake_tickets.number"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("from_status", Text),
    Column("to_status", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("note", Text, nullable=False, server_default=text("''")),
    Column("at", DOUBLE_PRECISION, nullable=False),
)
