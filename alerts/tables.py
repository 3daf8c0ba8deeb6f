"""The alerts package's tables: the alerts themselves and who has read them.

Declared once on `backends.schema.metadata`; Alembic revisions in `migrations/versions` create and change them. Must
never hold queries: `alerts.store` does.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Index, Integer, Table, Text, text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

# One row per recipient: a username, or "role:<role>" for everyone holding that role.
staff_alerts = Table(
    "staff_alerts",
    metadata,
    # Increasing: newest first is `id DESC`, which two alerts written in the same clock tick cannot tie on.
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recipient", Text, nullable=False),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),  # an English message id, translated when it is read
    Column("params", Text, nullable=False, server_default=text("'{}'")),  # JSON object filling the title
    Column("link", Text, nullable=False, server_default=text("''")),  # a same-site path, or ""
    Column("created_at", DOUBLE_PRECISION, nullable=False),
    Index("staff_alerts_recipient", "recipient", "id"),
    Index("staff_alerts_created_at", "created_at"),
)

# Read state is per member, not per alert: one supervisor opening a "role:supervisor" alert leaves it unread for the
# others.
staff_alert_reads = Table(
    "staff_alert_reads",
    metadata,
    Column("alert_id", Integer, ForeignKey("staff_alerts.id", ondelete="CASCADE"), primary_key=True),
    Column("username", Text, primary_key=True),
    Column("read_at", DOUBLE_PRECISION, nullable=False),
)
