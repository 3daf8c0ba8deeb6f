"""The intake package's tables: the ticket counter, tickets, their timeline, SLA marks, teams, the deliveries to a
ticket's customer and the follow-ups after resolution.

Declared once on `backends.schema.metadata`; Alembic revisions in `migrations/versions` create and change them (the
baseline also seeds the `ticket` counter row). Must never hold queries: `intake.tickets` does.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Computed,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    Table,
    Text,
    text,
)
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

_RUNNING = "status IN ('new', 'open', 'pending_customer', 'pending_internal') AND paused_at IS NULL"
SLA_WARN_AT = (
    f"CASE WHEN {_RUNNING} THEN LEAST(CASE WHEN first_responded_at IS NULL THEN "
    "COALESCE(first_response_warn_at, first_response_due) END, COALESCE(next_reply_warn_at, next_reply_due), "
    "COALESCE(resolution_warn_at, resolution_due)) END"
)
SLA_DUE_AT = (
    f"CASE WHEN {_RUNNING} THEN LEAST(CASE WHEN first_responded_at IS NULL THEN first_response_due END, "
    "next_reply_due, resolution_due) END"
)

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
    Column("channel", Text, nullable=False, server_default=text("''")),
    Column("team_id", Text),
    Column("assignee", Text),
    Column("merged_into", Text),
    Column("paused_at", DOUBLE_PRECISION),
    Column("next_reply_due", DOUBLE_PRECISION),
    Column("reply_clock_started_at", DOUBLE_PRECISION),
    Column("sla_next_check", DOUBLE_PRECISION),
    Column("first_response_warn_at", DOUBLE_PRECISION),
    Column("next_reply_warn_at", DOUBLE_PRECISION),
    Column("resolution_warn_at", DOUBLE_PRECISION),
    # The nearest at-risk instant and due time of the running clocks (NULL while paused or finished), computed by the
    # database from the row (migration 0004 has each dialect's expression; these are PostgreSQL's): the at-risk and
    # breached views are one index range each, and "due first" walks the (sla_due_at, seq, …) index.
    Column("sla_warn_at", DOUBLE_PRECISION, Computed(SLA_WARN_AT, persisted=True)),
    Column("sla_due_at", DOUBLE_PRECISION, Computed(SLA_DUE_AT, persisted=True)),
    Index("intake_tickets_customer", "customer_id", "seq"),
    Index("intake_tickets_status", "status", "priority"),
    Index("intake_tickets_conversation", "conversation_id"),
    Index("intake_tickets_team", "team_id", "status"),
    Index("intake_tickets_assignee", "assignee", "status"),
    # The SLA watcher's one query: tickets whose next check is due (NULL for paused and finished tickets).
    Index("intake_tickets_sla_next_check", "sla_next_check"),
    # With the status, so the views' counts (which also ask for open statuses) never read the table.
    Index("intake_tickets_sla_warn", "sla_warn_at", "status"),
    Index("intake_tickets_sla_due", "sla_due_at", "seq", "status"),
)

intake_ticket_events = Table(
    "intake_ticket_events",
    metadata,
    Column("number", Text, ForeignKey("intake_tickets.number"), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("actor", Text, nullable=False),
    Column("body", Text, nullable=False, server_default=text("''")),
    Column("data", Text, nullable=False, server_default=text("'{}'")),
    Column("public", Boolean, nullable=False, server_default=text("false")),
    Column("at", DOUBLE_PRECISION, nullable=False),
)

# One row per SLA event that fired: the primary key makes "at risk" and "breached" fire once per clock and due
# time, whichever replica gets there first (insert-if-absent), and across restarts.
intake_sla_marks = Table(
    "intake_sla_marks",
    metadata,
    Column("number", Text, ForeignKey("intake_tickets.number"), primary_key=True),
    Column("metric", Text, primary_key=True),
    Column("kind", Text, primary_key=True),  # sla_at_risk | sla_breached
    Column("due", DOUBLE_PRECISION, primary_key=True),
    Column("at", DOUBLE_PRECISION, nullable=False),
)

intake_teams = Table(
    "intake_teams",
    metadata,
    Column("id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("skills", Text, nullable=False, server_default=text("'[]'")),  # JSON list of handoff skill groups
    Column("lead", Text),
    Column("targets", Text, nullable=False, server_default=text("'{}'")),  # JSON {priority: "4/24[/2]"}
    Column("updated_at", DOUBLE_PRECISION, nullable=False),
)

intake_team_members = Table(
    "intake_team_members",
    metadata,
    Column("team_id", Text, ForeignKey("intake_teams.id", ondelete="CASCADE"), primary_key=True),
    Column("username", Text, primary_key=True),
    Index("intake_team_members_username", "username"),
)

# One row per attempt to reach a ticket's customer on one route: the chat's transcript (web: shown on the next
# visit), WeChat's customer-service API or its template message, email. A failed one is also a staff-only
# `delivery_failed` event on the ticket's timeline.
intake_deliveries = Table(
    "intake_deliveries",
    metadata,
    Column("id", Text, primary_key=True),
    Column("number", Text, ForeignKey("intake_tickets.number"), nullable=False),
    Column("event_seq", Integer),  # the timeline event delivered; NULL for a follow-up question
    Column("purpose", Text, nullable=False),  # status | reply | apology | follow_up | follow_up_reminder
    Column("channel", Text, nullable=False),  # web | wechat | wechat_template | email | …
    Column("ok", Boolean, nullable=False),
    Column("error", Text, nullable=False, server_default=text("''")),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Index("intake_deliveries_number", "number", "at"),
)

# The follow-up after a resolution (回访): one row per resolution (the `status` event that resolved the ticket), its
# next step and when that step is due. The scheduler's one query reads `due_at <= now` (NULL once nothing is due).
intake_follow_ups = Table(
    "intake_follow_ups",
    metadata,
    Column("number", Text, ForeignKey("intake_tickets.number"), primary_key=True),
    Column("event_seq", Integer, primary_key=True),
    Column("conversation_id", Text, nullable=False),
    Column("resolved_at", DOUBLE_PRECISION, nullable=False),
    Column("step", Text, nullable=False),  # ask | remind | done | cancelled
    Column("due_at", DOUBLE_PRECISION),
    Column("survey_id", Text),
    Column("asked_at", DOUBLE_PRECISION),
    Column("reminded_at", DOUBLE_PRECISION),
    Index("intake_follow_ups_due", "due_at"),
)

# One row per follow-up step taken: the primary key makes the question and its one reminder go out once, whichever
# replica's pass gets there first (insert-if-absent), and across restarts.
intake_follow_up_marks = Table(
    "intake_follow_up_marks",
    metadata,
    Column("number", Text, primary_key=True),
    Column("event_seq", Integer, primary_key=True),
    Column("step", Text, primary_key=True),  # ask | remind
    Column("at", DOUBLE_PRECISION, nullable=False),
    ForeignKeyConstraint(
        ["number", "event_seq"], ["intake_follow_ups.number", "intake_follow_ups.event_seq"], ondelete="CASCADE"
    ),
)
