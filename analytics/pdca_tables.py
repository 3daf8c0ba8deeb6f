"""The PDCA tables: what supervisors decide about the numbers, beside the facts (which only the record writes).

`analytics_targets` (one target per KPI and scope), `analytics_annotations` (notes and changes that may explain a
move on the charts) and `analytics_breaches` (one row per target and business day on which its breach was raised,
so the alert fires once even when two passes race). Declared once on `backends.schema.metadata`; Alembic revision
0010_analytics_targets creates them. Must never hold queries (`analytics.targets`, `analytics.annotations`,
`analytics.breaches` do).
"""

from __future__ import annotations

from sqlalchemy import Column, Index, Integer, PrimaryKeyConstraint, Table, Text, text
from sqlalchemy.types import DOUBLE_PRECISION

from backends.schema import metadata

# A target's scope is one report filter (`scope_name` a filter dimension, `scope_value` its value), or none ("", "").
analytics_targets = Table(
    "analytics_targets",
    metadata,
    Column("kpi", Text, nullable=False),
    Column("scope_name", Text, nullable=False, server_default=text("''")),
    Column("scope_value", Text, nullable=False, server_default=text("''")),
    Column("op", Text, nullable=False),  # "<=" or ">="
    Column("value", DOUBLE_PRECISION, nullable=False),
    Column("set_by", Text, nullable=False),
    Column("set_at", DOUBLE_PRECISION, nullable=False),
    PrimaryKeyConstraint("kpi", "scope_name", "scope_value", name="analytics_targets_pkey"),
)

# `kind`: "note" (a supervisor's), "target" (a target set or cleared), "setting" (a threshold or setting applied).
# FAQ publications and archivals are not copied here: they are read from the KB's own revisions.
analytics_annotations = Table(
    "analytics_annotations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", DOUBLE_PRECISION, nullable=False),
    Column("day", Text, nullable=False),  # YYYY-MM-DD in the business time zone
    Column("kind", Text, nullable=False),
    Column("label", Text, nullable=False),
    Column("author", Text, nullable=False, server_default=text("''")),
    Index("analytics_annotations_day", "day"),
)

# The primary key is the exactly-once guard: the pass that inserts the row raises the alert, any other finds it.
analytics_breaches = Table(
    "analytics_breaches",
    metadata,
    Column("kpi", Text, nullable=False),
    Column("scope_name", Text, nullable=False),
    Column("scope_value", Text, nullable=False),
    Column("day", Text, nullable=False),  # the business day the rolling window ends on
    Column("op", Text, nullable=False),
    Column("target", DOUBLE_PRECISION, nullable=False),
    Column("value", DOUBLE_PRECISION, nullable=False),
    Column("at", DOUBLE_PRECISION, nullable=False),
    PrimaryKeyConstraint("kpi", "scope_name", "scope_value", "day", name="analytics_breaches_pkey"),
)

__all__ = ["analytics_annotations", "analytics_breaches", "analytics_targets"]
