"""Thresholds an editor applied from the knowledge base's calibration report (`kb.tables.kb_thresholds`).

Revision ID: 0011_kb_calibration
Revises: 0010_analytics_targets
Create Date: 2026-11-30

Creates `kb_thresholds`, empty: every language keeps the thresholds its KB fits itself until an editor applies
others. Agents' labels need no table: they are `kb_label` facts of the service record. Touches no other table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_kb_calibration"
down_revision: str | Sequence[str] | None = "0010_analytics_targets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "kb_thresholds",
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("answer", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("clarify", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("language", name="kb_thresholds_pkey"),
    )


def downgrade() -> None:
    op.drop_table("kb_thresholds")
