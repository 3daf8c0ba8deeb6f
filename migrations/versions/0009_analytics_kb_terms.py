"""The KB lists' daily rollup: not-found texts and unhelpful entries per business day.

Revision ID: 0009_analytics_kb_terms
Revises: 0008_analytics_facts
Create Date: 2026-11-30

Creates `analytics_daily_kb_terms` (`analytics.tables`), empty: the dashboard's "not found" and "unhelpful" lists
sum it instead of grouping a year of `analytics_kb` facts. The projector refreshes it with the other rollups for
the days it touches; run `frontdoor analytics rebuild` once on a database that already has facts.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_analytics_kb_terms"
down_revision: str | Sequence[str] | None = "0008_analytics_facts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "analytics_daily_kb_terms"
TEXTS = ("channel", "language", "team", "category", "priority", "query", "entry")
COUNTERS = ("not_found", "unhelpful")


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("day", sa.Text(), nullable=False),
        *(sa.Column(name, sa.Text(), nullable=True) for name in TEXTS),
        *(sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in COUNTERS),
    )
    op.create_index(f"{TABLE}_day", TABLE, ["day"])


def downgrade() -> None:
    op.drop_table(TABLE)
