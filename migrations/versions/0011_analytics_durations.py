"""The duration histograms: per business day, slice and duration metric, the values' counts per bucket.

Revision ID: 0011_analytics_durations
Revises: 0010_analytics_targets
Create Date: 2026-11-30

Creates `analytics_daily_durations` (`analytics.tables`, `analytics.durations`) and fills it from the facts already
there, so a database upgraded with months of facts shows its percentiles at once, without `frontdoor analytics
rebuild`. The fill is frozen here as plain SQL: the buckets and metrics of `analytics.durations` at this revision
(a test checks that both give the same rows). Touches no other table.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_analytics_durations"
down_revision: str | Sequence[str] | None = "0010_analytics_targets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "analytics_daily_durations"
EXACT_BELOW_S = 60.0
GROWTH = 1.02
DIMENSIONS = ("channel", "language", "team", "queue", "category", "priority", "agent")
# (metric, facts table, column, slices besides all facts)
METRICS = (
    *(
        (c, "analytics_handoffs", c, DIMENSIONS)
        for c in ("queue_wait_s", "first_response_s", "first_response_bh_s", "next_reply_s", "handle_s")
    ),
    ("ticket_first_response_s", "analytics_tickets", "first_response_s", DIMENSIONS),
    ("resolution_s", "analytics_tickets", "resolution_s", DIMENSIONS),
    ("agent_first_response_s", "analytics_agent_work", "first_response_s", ("agent",)),
    ("agent_handle_s", "analytics_agent_work", "handle_s", ("agent",)),
)


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("bucket", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False),
        sa.Column("lo", sa.DOUBLE_PRECISION(), nullable=False),
        sa.Column("hi", sa.DOUBLE_PRECISION(), nullable=False),
    )
    op.create_index(f"{TABLE}_slice", TABLE, ["dimension", "value", "metric", "day"])
    op.create_index(f"{TABLE}_day", TABLE, ["day"])
    for metric, facts, column, slices in METRICS:
        for dimension in ("", *slices):
            op.execute(_fill(metric, facts, column, dimension))


def _fill(metric: str, facts: str, column: str, dimension: str) -> sa.Insert:
    """INSERT … SELECT of one metric's rows of one slice ("": all facts), from the facts of every day."""
    names = ("day", "dimension", "value", "metric", "bucket", "n", "lo", "hi")
    target = sa.table(TABLE, *(sa.column(n) for n in names))
    source = sa.table(facts, sa.column("day"), sa.column(column), *([sa.column(dimension)] if dimension else []))
    value = source.c[column]
    # Literal SQL, not bound parameters, so that PostgreSQL sees the GROUP BY expressions as the ones selected.
    below = sa.literal_column(repr(EXACT_BELOW_S))
    logarithmic = below + sa.func.floor(sa.func.ln(value / below) / sa.literal_column(repr(math.log(GROWTH))))
    bucket = sa.cast(sa.case((value < below, sa.func.floor(value)), else_=logarithmic), sa.Integer)
    key = source.c[dimension] if dimension else sa.literal_column("''")
    chosen = (
        sa.select(
            source.c.day,
            sa.literal_column(f"'{dimension}'"),
            key,
            sa.literal_column(f"'{metric}'"),
            bucket,
            sa.func.count(),
            sa.func.min(value),
            sa.func.max(value),
        )
        .where(value.is_not(None), key.is_not(None))
        .group_by(*([source.c.day, key, bucket] if dimension else [source.c.day, bucket]))
    )
    return sa.insert(target).from_select(list(names), chosen)


def downgrade() -> None:
    op.drop_table(TABLE)
