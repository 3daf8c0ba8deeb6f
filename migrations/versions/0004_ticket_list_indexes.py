"""Ticket lists on indexes: the running clocks' nearest at-risk instant and due time as generated columns, and
trigram search on PostgreSQL.

Revision ID: 0004_ticket_list_indexes
Revises: 0003_staff_alerts
Create Date: 2026-11-30

`sla_warn_at` and `sla_due_at` are computed by the database from the row (the nearest at-risk instant and due time
of a running clock; NULL while the ticket waits on the customer or is finished), so no write path can forget them:
the staff list's "at risk" and "breached" views become one index range each (index-only for their counts), and its
"due first" order a walk of the `(sla_due_at, seq, status)` index, instead of a scan (and sort) of every open ticket
(bench/sla_scheduler.py, 100,000 open tickets: p95 181-223 ms -> 8-18 ms). PostgreSQL stores them; SQLite, which
can only add VIRTUAL generated columns, computes them on read. On PostgreSQL the text search gets pg_trgm GIN
indexes on the five searched columns (p95 546 -> 19 ms) when the extension can be created; without it (no
privilege, no contrib package) the search stays a scan and the upgrade goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004_ticket_list_indexes"
down_revision: str | Sequence[str] | None = "0003_staff_alerts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

log = logging.getLogger(__name__)

_RUNNING = "status IN ('new', 'open', 'pending_customer', 'pending_internal') AND paused_at IS NULL"
# The nearest instant over first response (until answered), the reply clock (while one runs) and resolution; a clock
# written before its at-risk instant was stored counts from its due time. LEAST skips NULLs; SQLite's many-argument
# min() does not, so there each term falls back to resolution's, which always runs.
_PG_WARN = (
    "LEAST(CASE WHEN first_responded_at IS NULL THEN COALESCE(first_response_warn_at, first_response_due) END, "
    "COALESCE(next_reply_warn_at, next_reply_due), COALESCE(resolution_warn_at, resolution_due))"
)
_PG_DUE = "LEAST(CASE WHEN first_responded_at IS NULL THEN first_response_due END, next_reply_due, resolution_due)"
_SQLITE_RESOLUTION_WARN = "COALESCE(resolution_warn_at, resolution_due)"
_SQLITE_WARN = (
    "min(CASE WHEN first_responded_at IS NULL THEN COALESCE(first_response_warn_at, first_response_due) "
    f"ELSE {_SQLITE_RESOLUTION_WARN} END, COALESCE(next_reply_warn_at, next_reply_due, {_SQLITE_RESOLUTION_WARN}), "
    f"{_SQLITE_RESOLUTION_WARN})"
)
_SQLITE_DUE = (
    "min(CASE WHEN first_responded_at IS NULL THEN first_response_due ELSE resolution_due END, "
    "COALESCE(next_reply_due, resolution_due), resolution_due)"
)
EXPRESSIONS = {
    "postgresql": {"sla_warn_at": _PG_WARN, "sla_due_at": _PG_DUE},
    "sqlite": {"sla_warn_at": _SQLITE_WARN, "sla_due_at": _SQLITE_DUE},
}
SEARCHED = ("number", "customer_id", "order_number", "contact", "description")


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    for column, nearest in EXPRESSIONS[bind.dialect.name].items():
        computed = sa.Computed(f"CASE WHEN {_RUNNING} THEN {nearest} END", persisted=postgres)
        op.add_column("intake_tickets", sa.Column(column, sa.DOUBLE_PRECISION(), computed))
    # With the status, so the views' counts (which also ask for open statuses) are index-only scans.
    op.create_index("intake_tickets_sla_warn", "intake_tickets", ["sla_warn_at", "status"])
    op.create_index("intake_tickets_sla_due", "intake_tickets", ["sla_due_at", "seq", "status"])
    if postgres:
        _trigram_indexes(bind)


def _trigram_indexes(bind: sa.Connection) -> None:
    # The extension goes to `public` (or stays where it is), never into a deployment's own schema, so dropping one
    # schema never takes another schema's indexes with it.
    schema = bind.execute(
        sa.text(
            "SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
            "WHERE e.extname = 'pg_trgm'"
        )
    ).scalar()
    if schema is None:
        try:
            with bind.begin_nested():
                bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public"))
            schema = "public"
        except sa.exc.DBAPIError as exc:
            log.warning("pg_trgm unavailable (%s): ticket text search stays a scan", exc.orig)
            return
    for column in SEARCHED:
        index = f"intake_tickets_{column}_trgm"
        op.execute(f'CREATE INDEX {index} ON intake_tickets USING gin (lower({column}) "{schema}".gin_trgm_ops)')


def downgrade() -> None:
    raise NotImplementedError("0004_ticket_list_indexes is forward-only: restore a backup to go back")
