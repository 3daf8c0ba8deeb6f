"""The service record: `service_events`, every fact of the service process, appended and kept for good.

Revision ID: 0007_service_record
Revises: 0006_customer_360
Create Date: 2026-12-09

Creates the table (`record.tables`) and its indexes: by kind and time, by time, and per conversation, ticket,
customer and agent. Touches no other table, so every existing row stays as it was; the record starts empty and
fills from the first fact after the upgrade.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_service_record"
down_revision: str | Sequence[str] | None = "0006_customer_360"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sa.Text()
DOUBLE: sa.DOUBLE_PRECISION[float] = sa.DOUBLE_PRECISION()
INDEXES = {
    "service_events_kind_at": ["kind", "at"],
    "service_events_at": ["at"],
    "service_events_conversation": ["conversation_id", "at"],
    "service_events_ticket": ["ticket", "at"],
    "service_events_customer": ["customer_id", "at"],
    "service_events_agent": ["agent", "at"],
}


def upgrade() -> None:
    op.create_table(
        "service_events",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        *(
            sa.Column(name, TEXT, nullable=True)
            for name in (
                "conversation_id",
                "customer_id",
                "ticket",
                "agent",
                "channel",
                "language",
                "category",
                "priority",
                "team",
                "queue",
            )
        ),
        sa.Column("data", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="service_events_pkey"),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "service_events", columns)


def downgrade() -> None:
    """Drops the record with everything in it: downgrade only a database whose record you can do without."""
    op.drop_table("service_events")  # its indexes go with it
