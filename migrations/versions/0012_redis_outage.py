"""Riding out a Redis outage: client message ids on the transcript, and handoffs waiting for the live state.

Revision ID: 0012_redis_outage
Revises: 0011_kb_calibration
Create Date: 2026-11-30

Adds `messages.client_message_id` (NULL on every existing row) with a unique index on (conversation_id,
client_message_id), so a customer's retried send is stored once; and creates `handoff_pending`, empty: a handoff
asked for while the live state (Redis) was unreachable, queued by the reconcile job once it is back.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012_redis_outage"
down_revision: str | Sequence[str] | None = "0011_kb_calibration"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("messages", sa.Column("client_message_id", sa.Text(), nullable=True))
    op.create_index("messages_client_message_id", "messages", ["conversation_id", "client_message_id"], unique=True)
    op.create_table(
        "handoff_pending",
        sa.Column("conversation_id", sa.Text(), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("requested_at", sa.DOUBLE_PRECISION(), nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="handoff_pending_pkey"),
    )


def downgrade() -> None:
    op.drop_table("handoff_pending")
    op.drop_index("messages_client_message_id", table_name="messages")
    with op.batch_alter_table("messages") as batch:
        batch.drop_column("client_message_id")
