"""The duration histograms: per block of business days, slice and duration metric, the values' counts per bucket.

Revision ID: 0013_analytics_durations
Revises: 0012_redis_outage
Create Date: 2026-11-30

Creates `analytics_daily_durations` and `analytics_daily_p90` (`analytics.tables`, `analytics.durations`) and fills
them from the facts already there with the projector's own statements, so a database upgraded with months of facts
shows its percentiles at once, without `frontdoor analytics rebuild`. Touches no other table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from analytics.durations import DAILY_P90, block_inserts, day_inserts, p90_facts, p90_rows
from analytics.tables import analytics_daily_durations as D
from analytics.tables import analytics_daily_p90

revision: str = "0013_analytics_durations"
down_revision: str | Sequence[str] | None = "0012_redis_outage"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "analytics_daily_durations"
P90 = "analytics_daily_p90"


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lo", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("hi", sa.DOUBLE_PRECISION(), nullable=False),
    )
    op.create_index(f"{TABLE}_slice", TABLE, ["dimension", "span", "day", "metric", "value"])
    op.create_index(f"{TABLE}_day", TABLE, ["span", "day"])
    op.create_table(
        P90,
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("p90", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index(f"{P90}_slice", P90, ["dimension", "value", "metric", "day"])
    op.create_index(f"{P90}_day", P90, ["day"])
    bind = op.get_bind()
    for statement in day_inserts(None):
        bind.execute(statement)
    days = [str(day) for day in bind.execute(sa.select(D.c.day).where(D.c.span == 1).distinct()).scalars()]
    for statement in block_inserts(days):
        bind.execute(statement)
    for metric in DAILY_P90:
        rows = p90_rows(metric, [dict(row) for row in bind.execute(p90_facts(metric, None)).mappings()])
        if rows:
            bind.execute(sa.insert(analytics_daily_p90), rows)


def downgrade() -> None:
    op.drop_table(P90)
    op.drop_table(TABLE)
