"""Staff alerts: the alerts the staff pages' bell shows, and who has read them (`alerts.tables`).

Revision ID: 0003_staff_alerts
Revises: 0002_ticket_workspace
Create Date: 2026-11-30

Two new tables and nothing else: no existing row changes, and downgrading drops both with their rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_staff_alerts"
down_revision: str | Sequence[str] | None = "0002_ticket_workspace"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sa.Text()
DOUBLE: sa.DOUBLE_PRECISION[float] = sa.DOUBLE_PRECISION()


def upgrade() -> None:
    op.create_table(
        "staff_alerts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("recipient", TEXT, nullable=False),
        sa.Column("kind", TEXT, nullable=False),
        sa.Column("title", TEXT, nullable=False),
        sa.Column("params", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("link", TEXT, server_default=sa.text("''"), nullable=False),
        sa.Column("created_at", DOUBLE, nullable=False),
        sa.PrimaryKeyConstraint("id", name="staff_alerts_pkey"),
    )
    op.create_index("staff_alerts_recipient", "staff_alerts", ["recipient", "id"])
    op.create_index("staff_alerts_created_at", "staff_alerts", ["created_at"])
    op.create_table(
        "staff_alert_reads",
        sa.Column("alert_id", sa.Integer(), nullable=False),
        sa.Column("username", TEXT, nullable=False),
        sa.Column("read_at", DOUBLE, nullable=False),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["staff_alerts.id"], name="staff_alert_reads_alert_id_fkey", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("alert_id", "username", name="staff_alert_reads_pkey"),
    )


def downgrade() -> None:
    op.drop_table("staff_alert_reads")
    op.drop_table("staff_alerts")  # its indexes go with it
