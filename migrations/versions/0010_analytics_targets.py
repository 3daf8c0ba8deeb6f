"""PDCA: KPI targets, chart annotations and the breaches already raised (`analytics.pdca_tables`).

Revision ID: 0010_analytics_targets
Revises: 0009_analytics_kb_terms
Create Date: 2026-11-30

Creates `analytics_targets`, `analytics_annotations` and `analytics_breaches`, empty. Touches no other table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010_analytics_targets"
down_revision: str | Sequence[str] | None = "0009_analytics_kb_terms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "analytics_targets",
        sa.Column("kpi", sa.Text(), nullable=False),
        sa.Column("scope_name", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("scope_value", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("value", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("set_by", sa.Text(), nullable=False),
        sa.Column("set_at", sa.DOUBLE_PRECISION(), nullable=False),
        sa.PrimaryKeyConstraint("kpi", "scope_name", "scope_value", name="analytics_targets_pkey"),
    )
    op.create_table(
        "analytics_annotations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("author", sa.Text(), server_default=sa.text("''"), nullable=False),
        sa.PrimaryKeyConstraint("id", name="analytics_annotations_pkey"),
    )
    op.create_index("analytics_annotations_day", "analytics_annotations", ["day"])
    op.create_table(
        "analytics_breaches",
        sa.Column("kpi", sa.Text(), nullable=False),
        sa.Column("scope_name", sa.Text(), nullable=False),
        sa.Column("scope_value", sa.Text(), nullable=False),
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("op", sa.Text(), nullable=False),
        sa.Column("target", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("value", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("at", sa.DOUBLE_PRECISION(), nullable=False),
        sa.PrimaryKeyConstraint("kpi", "scope_name", "scope_value", "day", name="analytics_breaches_pkey"),
    )


def downgrade() -> None:
    op.drop_table("analytics_breaches")
    op.drop_index("analytics_annotations_day", table_name="analytics_annotations")
    op.drop_table("analytics_annotations")
    op.drop_table("analytics_targets")
