"""Coarse duration histograms, and the histograms' slice index with the bucket last.

Revision ID: 0015_analytics_duration_groups
Revises: 0014_analytics_marginals
Create Date: 2026-11-30

Creates `analytics_daily_duration_groups` (per block, slice and metric, the number of values in each group of
`analytics.durations.GROUP_SIZE` consecutive buckets) and fills it from the histograms already there with the
projector's own statement, so that a report finds which buckets hold a percentile's rank before it reads them
(`analytics.durations.histogram_percentiles`). Rebuilds `analytics_daily_durations_slice` with the bucket as its last
column, so that reading a few buckets of a block's slice is one index range. On PostgreSQL both slice indexes also
hold the counts (INCLUDE), so that where autovacuum has marked the pages all-visible a report reads no table row.
Changes no row of another table.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from analytics.durations import group_inserts

revision: str = "0015_analytics_duration_groups"
down_revision: str | Sequence[str] | None = "0014_analytics_marginals"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "analytics_daily_duration_groups"
DURATIONS = "analytics_daily_durations"
SLICE = f"{DURATIONS}_slice"
SLICE_COLUMNS = ["dimension", "span", "day", "metric", "value"]


def upgrade() -> None:
    op.create_table(
        TABLE,
        sa.Column("day", sa.Text(), nullable=False),
        sa.Column("span", sa.Integer(), nullable=False),
        sa.Column("dimension", sa.Text(), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("metric", sa.Text(), nullable=False),
        sa.Column("bucket_group", sa.Integer(), nullable=False),
        sa.Column("n", sa.Integer(), server_default="0", nullable=False),
    )
    op.create_index(f"{TABLE}_slice", TABLE, [*SLICE_COLUMNS, "bucket_group"], postgresql_include=["n"])
    op.create_index(f"{TABLE}_day", TABLE, ["span", "day"])
    op.drop_index(SLICE, table_name=DURATIONS)
    op.create_index(SLICE, DURATIONS, [*SLICE_COLUMNS, "bucket"], postgresql_include=["n", "lo", "hi"])
    bind = op.get_bind()
    for statement in group_inserts(None):
        bind.execute(statement)
    if bind.dialect.name == "postgresql":
        # The planner's statistics of the new table (a report's plans depend on them; autovacuum may be off).
        bind.execute(sa.text(f"ANALYZE {TABLE}"))


def downgrade() -> None:
    op.drop_index(SLICE, table_name=DURATIONS)
    op.create_index(SLICE, DURATIONS, SLICE_COLUMNS)
    op.drop_table(TABLE)
