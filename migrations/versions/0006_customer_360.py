"""Customer 360: tags, preferences and merges on the customer record; how each identity was proven.

Revision ID: 0006_customer_360
Revises: 0005_notifications
Create Date: 2026-12-02

Adds `customers.tags` (JSON list), `customers.preferences` (JSON object), `customers.merged_into` (indexed) and
`customers.updated_at`; `identities.source`, `identities.verified_at` and `identities.detail` (every existing
identity is a channel's own, as before); and the `customer_merges` table. Every existing row stays as it was.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006_customer_360"
down_revision: str | Sequence[str] | None = "0005_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TEXT = sa.Text()
DOUBLE: sa.DOUBLE_PRECISION[float] = sa.DOUBLE_PRECISION()


def upgrade() -> None:
    # Plain ADD COLUMN (SQLite has it): a batch copy of `customers` would trip the foreign keys that point at it.
    op.add_column("customers", sa.Column("tags", TEXT, server_default=sa.text("'[]'"), nullable=False))
    op.add_column("customers", sa.Column("preferences", TEXT, server_default=sa.text("'{}'"), nullable=False))
    op.add_column("customers", sa.Column("merged_into", TEXT, nullable=True))
    op.add_column("customers", sa.Column("updated_at", DOUBLE, nullable=True))
    op.create_index("customers_merged_into", "customers", ["merged_into"])
    op.add_column("identities", sa.Column("source", TEXT, server_default=sa.text("'channel'"), nullable=False))
    op.add_column("identities", sa.Column("verified_at", DOUBLE, nullable=True))
    op.add_column("identities", sa.Column("detail", TEXT, server_default=sa.text("'{}'"), nullable=False))
    op.create_table(
        "customer_merges",
        sa.Column("id", TEXT, nullable=False),
        sa.Column("source_id", TEXT, nullable=False),
        sa.Column("target_id", TEXT, nullable=False),
        sa.Column("actor", TEXT, nullable=False),
        sa.Column("reason", TEXT, nullable=False),
        sa.Column("detail", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("moved", TEXT, server_default=sa.text("'{}'"), nullable=False),
        sa.Column("at", DOUBLE, nullable=False),
        sa.PrimaryKeyConstraint("id", name="customer_merges_pkey"),
    )
    op.create_index("customer_merges_target", "customer_merges", ["target_id", "at"])
    op.create_index("customer_merges_source", "customer_merges", ["source_id"])


def downgrade() -> None:
    """Drops what `upgrade` added; merged records stay separate rows (their conversations and tickets stay moved)."""
    op.drop_index("customer_merges_source", table_name="customer_merges")
    op.drop_index("customer_merges_target", table_name="customer_merges")
    op.drop_table("customer_merges")
    # DROP COLUMN in place (SQLite 3.35+ and PostgreSQL), for the same reason as above.
    for column in ("detail", "verified_at", "source"):
        op.execute(f"ALTER TABLE identities DROP COLUMN {column}")
    op.drop_index("customers_merged_into", table_name="customers")
    for column in ("updated_at", "merged_into", "preferences", "tags"):
        op.execute(f"ALTER TABLE customers DROP COLUMN {column}")
